//! Two readers both decide to write: each holds a read lock and asks for the write lock,
//! which waits for every reader to leave — including the other one. A deadlock (even one
//! reader upgrading alone would wait for itself). `--fix` drops the read guard, takes the
//! write lock and checks again.

use anyhow::Result;
use clap::Parser;
use lockscope::RwLock;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};

#[derive(Parser, Debug)]
#[command(about = "RwLock upgrade deadlock")]
struct Args {
    /// Release the read lock before taking the write lock.
    #[arg(long)]
    fix: bool,
    /// Trace file to record.
    #[arg(long, default_value = "rwlock_upgrade.lstrace")]
    trace: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    let config: Arc<RwLock<HashMap<String, u32>>> =
        Arc::new(RwLock::named("config", HashMap::new()));
    let both_read = Arc::new(Barrier::new(2));
    let hs: Vec<_> = (0..2)
        .map(|i| {
            let (config, both_read, fix) = (config.clone(), both_read.clone(), args.fix);
            std::thread::Builder::new()
                .name(format!("loader-{i}"))
                .spawn(move || {
                    let key = format!("setting-{i}");
                    let read = config.read();
                    let missing = !read.contains_key(&key);
                    both_read.wait();
                    if missing {
                        if fix {
                            drop(read);
                            config.write().entry(key).or_insert(i);
                        } else {
                            config.write().insert(key, i); // waits for our own read guard too
                            drop(read);
                        }
                    }
                })
        })
        .collect::<Result<_, _>>()?;
    for h in hs {
        h.join().expect("loader");
    }
    println!("done: {} settings", config.read().len());
    Ok(())
}
