//! A deadlock through a channel, between two tokio tasks: the event loop takes the ledger and
//! then waits for the next event; the event source needs the ledger to stamp each event before
//! it sends it. As soon as the channel runs dry, the loop waits for an event while it holds the
//! ledger, and the source waits for the ledger: neither can move. No lock cycle shows it (the
//! loop waits on a channel, not a lock); lockscope's wait-for graph goes through the channel
//! (the loop waits for the senders' owner, the source) and reports a deadlock naming both tasks
//! (status 86).
//!
//! Fix (`--fix`): receive before taking the lock, so the loop never waits while it holds it.

use anyhow::Result;
use clap::Parser;
use lockscope::tokio::{Mutex, mpsc, spawn_named};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(about = "A deadlock through a tokio channel, and its fix")]
struct Args {
    /// Receive first, then take the ledger.
    #[arg(long)]
    fix: bool,
    /// Events the source sends (one a millisecond).
    #[arg(long, default_value_t = 300)]
    events: u64,
    /// Trace file to record.
    #[arg(long, default_value = "channel_deadlock.lstrace")]
    trace: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let applied = rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel_named::<u64>("events", 4);
        let ledger = Arc::new(Mutex::named("ledger", Vec::<u64>::new()));
        let book = ledger.clone();
        let source = spawn_named("event-source", async move {
            // The source announces itself first (and so owns its sender from here on), then
            // sends an event every millisecond, as a timer or a socket would: between two, the
            // loop has emptied the channel and waits for the next one, holding the ledger.
            tx.send(0).await.ok();
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            for i in 1..=args.events {
                tick.tick().await;
                // Stamp the event with the ledger's position, under the ledger.
                let stamp = book.lock().await.len() as u64 * 1_000_000 + i;
                if tx.send(stamp).await.is_err() {
                    break;
                }
            }
        });
        let looper = spawn_named("event-loop", async move {
            if args.fix {
                while let Some(ev) = rx.recv().await {
                    ledger.lock().await.push(ev);
                }
            } else {
                loop {
                    // Takes the ledger, then waits for the next event while holding it.
                    let mut l = ledger.lock().await;
                    match rx.recv().await {
                        Some(ev) => l.push(ev),
                        None => break,
                    }
                }
            }
            ledger.lock().await.len()
        });
        source.await.ok();
        looper.await.unwrap_or(0)
    });
    println!("{applied} events applied");
    println!("done");
    Ok(())
}
