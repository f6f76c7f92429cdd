//! Every deadlock sample deadlocks for real and exits 86 with a report naming every thread;
//! every fix completes with no alert at all.

use std::process::{Command, Output};

fn run(exe: &str, args: &[&str]) -> Output {
    let dir = std::env::temp_dir().join(format!("lockscope-samples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name = std::path::Path::new(exe)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let trace = dir.join(format!("{name}-{}.lstrace", args.join("-")));
    Command::new(exe)
        .args(args)
        .arg("--trace")
        .arg(&trace)
        .env("LOCKSCOPE_ON_DEADLOCK", "exit")
        .output()
        .expect("run sample")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_deadlocks(exe: &str, threads: &[&str]) {
    let o = run(exe, &[]);
    assert_eq!(
        o.status.code(),
        Some(86),
        "{exe} should deadlock; stderr:\n{}",
        stderr(&o)
    );
    let e = stderr(&o);
    assert!(e.contains("DEADLOCK"), "{e}");
    for t in threads {
        assert!(
            e.contains(&format!("thread \"{t}\"")),
            "{t} missing from:\n{e}"
        );
    }
}

fn assert_silent(exe: &str, args: &[&str]) {
    let o = run(exe, args);
    assert!(o.status.success(), "{exe} {args:?} failed: {}", stderr(&o));
    assert!(
        !stderr(&o).contains("lockscope:"),
        "{exe} {args:?} raised an alert:\n{}",
        stderr(&o)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("done"));
}

#[test]
fn abba_deadlocks_and_its_fix_is_silent() {
    let exe = env!("CARGO_BIN_EXE_abba");
    assert_deadlocks(exe, &["teller-a", "teller-b"]);
    assert_silent(exe, &["--fix"]);
}

#[test]
fn sequential_abba_completes_but_reports_the_inversion() {
    let o = run(env!("CARGO_BIN_EXE_abba"), &["--sequential"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("LOCK ORDER INVERSION") && e.contains("checking") && e.contains("savings"),
        "{e}"
    );
    assert!(!e.contains("DEADLOCK"));
}

#[test]
fn dining_philosophers_deadlock_and_both_fixes_are_silent() {
    let exe = env!("CARGO_BIN_EXE_philosophers");
    assert_deadlocks(
        exe,
        &[
            "philosopher-0",
            "philosopher-1",
            "philosopher-2",
            "philosopher-3",
            "philosopher-4",
        ],
    );
    assert_silent(exe, &["--fix", "order"]);
    assert_silent(exe, &["--fix", "backoff"]);
}

#[test]
fn rwlock_upgrade_deadlocks_and_its_fix_is_silent() {
    let exe = env!("CARGO_BIN_EXE_rwlock_upgrade");
    assert_deadlocks(exe, &["loader-0", "loader-1"]);
    assert_silent(exe, &["--fix"]);
}

#[test]
fn pool_deadlock_is_reported_and_its_fix_is_silent() {
    let exe = env!("CARGO_BIN_EXE_pool_deadlock");
    assert_deadlocks(exe, &["worker-0", "worker-1"]);
    assert_silent(exe, &["--fix"]);
}
