//! A task's identity in a recorded trace: the name given with `spawn_named`/`name_task`, its
//! tokio id, and its spawn site, the caller's `file:line:column` (workspace-relative, as a
//! lock's creation site), so the viewer can say where each task came from.

use super::support::tasks::*;
use super::support::*;
use lockscope::format::{self, ActorKind, Record, Trace};
use lockscope::tokio::{Mutex, name_task, spawn_named};
use std::sync::Arc;

/// Takes `m` once: with every hold sampled, the task's `Hold` defines it in the trace.
async fn touch(m: Arc<Mutex<u32>>) {
    *m.lock().await += 1;
}

/// The (os id, spawn site text) of the task actor named `name`.
fn task_named<'t>(t: &'t Trace, name: &str) -> (u64, &'t str) {
    t.records
        .iter()
        .find_map(|r| match r {
            Record::Actor {
                kind: ActorKind::Task,
                os_id,
                name: n,
                spawn_site,
                ..
            } if string(t, *n) == Some(name) => Some((*os_id, string(t, *spawn_site)?)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no task actor named {name} with a spawn site"))
}

/// The line of this file where `call` is made (the one line with it followed by `, `).
fn line_of(call: &str) -> usize {
    let call = format!("{call}, ");
    let mut lines = (include_str!("identity.rs").lines().enumerate())
        .filter(|(_, l)| l.contains(&call))
        .map(|(i, _)| i + 1);
    let line = lines.next().expect("the call is in this file");
    assert_eq!(lines.next(), None, "one call per task");
    line
}

#[test]
fn a_named_task_s_actor_record_carries_where_it_was_spawned() {
    const NAME: &str = concat!(
        "identity::",
        "a_named_task_s_actor_record_carries_where_it_was_spawned"
    );
    let path = trace_path(NAME);
    if is_child(NAME) {
        lockscope::set_hold_sample_period(1);
        record_run(&path, 2, async {
            let m = Arc::new(Mutex::named("identity-lock", 0u32));
            let spawned = spawn_named("identity-spawned", touch(m.clone()));
            let named = tokio::spawn(name_task("identity-named", touch(m.clone())));
            spawned.await.unwrap();
            named.await.unwrap();
            assert_eq!(*m.lock().await, 2);
        });
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    assert!(t.is_complete());
    // `spawn_named` is `#[track_caller]` through to `name_task`: the site is the user's call.
    for (task, call) in [
        ("identity-spawned", "spawn_named(\"identity-spawned\""),
        ("identity-named", "name_task(\"identity-named\""),
    ] {
        let line = line_of(call);
        let (os_id, site) = task_named(&t, task);
        assert_ne!(os_id, 0, "{task}: a task's os_id is its tokio id");
        assert!(
            site.starts_with(&format!("probe/tests/tokio/identity.rs:{line}:")),
            "{task} was spawned at line {line} of this file, relative to the workspace, not {site}"
        );
    }
    // Threads have no spawn site: their records keep the layout from before the field.
    assert!(t.records.iter().all(|r| !matches!(
        r,
        Record::Actor { kind: ActorKind::Thread, spawn_site, .. } if *spawn_site != 0
    )));
}
