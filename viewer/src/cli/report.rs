//! The text report: header, lock table, top contended sites, per-thread waits, alerts and
//! still-waiting actors.

use std::fmt::Write as _;
use std::path::Path;

use crate::model::{LockRow, Model};
use crate::units::{Table, clip_left, ns, ns_or_dash, utc};

/// How many contended sites the report lists.
const TOP_SITES: usize = 10;
/// How many holders it names per site.
const TOP_HOLDERS: usize = 3;
/// How many spans the report lists per lock.
const TOP_SPANS: usize = 5;
/// Longest lock name or site in a table cell.
pub(super) const NAME_WIDTH: usize = 48;

/// Renders the text report of `m`, read from `path`; pool permits held at least
/// `leak_threshold_ns` count as leaks.
pub fn text(m: &Model, path: &Path, leak_threshold_ns: u64) -> String {
    let mut out = String::new();
    header(&mut out, m, path);
    locks(&mut out, m);
    sites(&mut out, m);
    spans(&mut out, m);
    pools(&mut out, m, leak_threshold_ns);
    threads(&mut out, m);
    alerts(&mut out, m);
    still_waiting(&mut out, m);
    super::causal::text(&mut out, m);
    out
}

pub(super) fn header(out: &mut String, m: &Model, path: &Path) {
    let _ = writeln!(out, "lockscope report: {}", path.display());
    if let Some(h) = m.header {
        let _ = writeln!(
            out,
            "  pid {}, recorded {}, duration {}, format v{}",
            h.pid,
            utc(h.epoch_unix_ns),
            ns(m.duration_ns()),
            h.version
        );
    }
    if let Some((from, to)) = m.window {
        let _ = writeln!(
            out,
            "  range: {} to {} into the recording; every wait and hold figure counts only the \
             part inside it",
            ns(from),
            ns(to)
        );
    }
    let i = &m.integrity;
    let status = match (i.truncated_at, i.damage.len()) {
        (Some(at), 0) => format!("truncated at byte {at} (events after it are lost)"),
        (Some(at), n) => format!("truncated at byte {at}, {n} damaged chunks skipped"),
        (None, 0) if i.closed => "complete".to_owned(),
        (None, 0) => "unclosed (no end record; unflushed events are lost)".to_owned(),
        (None, n) => format!("damaged ({n} chunks skipped)"),
    };
    let _ = writeln!(
        out,
        "  trace: {status}; dropped events: {}",
        m.dropped_events
    );
    if let Some(c) = &m.chaos {
        let _ = writeln!(out, "  chaos mode: {}", c.describe());
    }
    let _ = writeln!(
        out,
        "  {}, {}, {}, {}",
        count(m.classes.len(), "lock class", "lock classes"),
        count(m.actors.len(), "actor", "actors"),
        count(m.waits.len(), "contended wait", "contended waits"),
        count(m.alerts.len(), "alert", "alerts"),
    );
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn locks(out: &mut String, m: &Model) {
    let rows = m.lock_rows();
    let _ = writeln!(out, "\nLocks, by total wait time");
    if rows.is_empty() {
        let _ = writeln!(out, "  (no locks recorded)");
        return;
    }
    let labelled: Vec<(String, &LockRow)> = rows
        .iter()
        .map(|r| (clip_left(&r.name, NAME_WIDTH), r))
        .collect();
    lock_table(out, &labelled);
}

/// The lock table of `rows` (each with the text of its first cell), with the notes its
/// figures need underneath.
pub(super) fn lock_table(out: &mut String, rows: &[(String, &LockRow)]) {
    let mut t = Table::new(&[
        ("lock", false),
        ("kind", false),
        ("acquired", true),
        ("contended", true),
        ("cont%", true),
        ("wait p50", true),
        ("p99", true),
        ("max", true),
        ("total", true),
        ("hold p50", true),
        ("p99", true),
        ("max", true),
        ("waiters", true),
        ("site", false),
    ]);
    let mut estimated = false;
    for (label, r) in rows {
        let (w, h) = (r.wait_summary(), r.hold_summary());
        let (waited, held) = (r.wait.count() > 0, r.hold.count() > 0);
        estimated |= r.figures_from == crate::model::FiguresFrom::Events;
        t.row(vec![
            label.clone(),
            r.kind.map_or("?", |k| k.as_str()).to_owned(),
            r.acquisitions.to_string(),
            r.contentions.to_string(),
            format!("{:.1}", r.contention_pct()),
            ns_or_dash(w.p50, waited),
            ns_or_dash(w.p99, waited),
            ns_or_dash(w.max, waited),
            ns_or_dash(w.total, waited),
            ns_or_dash(h.p50, held),
            ns_or_dash(h.p99, held),
            ns_or_dash(h.max, held),
            r.max_waiters.to_string(),
            if r.site == r.name {
                String::new()
            } else {
                r.site.clone()
            },
        ]);
    }
    out.push_str(&t.render());
    let never: u64 = rows.iter().map(|(_, r)| r.still_waiting + r.gave_up).sum();
    if never > 0 {
        let _ = writeln!(
            out,
            "  ({never} of the contended waits never got their lock (still waiting at the end, \
             timed out or closed): cont% counts only the acquisitions that waited)"
        );
    }
    if estimated {
        let _ = writeln!(
            out,
            "  (some classes have no statistics snapshot: their figures come from the recorded \
             events, so acquisitions are a lower bound)"
        );
    }
}

fn sites(out: &mut String, m: &Model) {
    let rows = m.site_rows();
    let _ = writeln!(out, "\nTop contended sites");
    if rows.is_empty() {
        let _ = writeln!(out, "  (no contended waits recorded)");
        return;
    }
    for (n, s) in rows.iter().take(TOP_SITES).enumerate() {
        let mut line = format!(
            "  {:>2}. {} waited at {}: {}, {} total, max {}",
            n + 1,
            m.class_name(s.class),
            m.site_name(s.site),
            count(s.waits as usize, "wait", "waits"),
            ns(s.wait_total_ns),
            ns(s.wait_max_ns)
        );
        if s.still_waiting > 0 {
            let _ = write!(line, ", {} still waiting", s.still_waiting);
        }
        let _ = writeln!(out, "{line}");
        let holders: Vec<String> = (s.holders.iter().take(TOP_HOLDERS))
            .map(|h| {
                let who = m.actor_name(h.actor);
                match h.site {
                    Some(at) => format!("{who} at {} ({}×)", m.site_name(at), h.waits),
                    None => format!("{who}, hold not recorded ({}×)", h.waits),
                }
            })
            .collect();
        if !holders.is_empty() {
            let more = s.holders.len().saturating_sub(TOP_HOLDERS);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            let _ = writeln!(out, "      held by {}{more}", holders.join(", "));
        }
    }
    if rows.len() > TOP_SITES {
        let _ = writeln!(
            out,
            "  ({} more sites; `--json` lists them all)",
            rows.len() - TOP_SITES
        );
    }
}

/// The spans section: for each lock with waits or holds inside tracing spans, its top
/// spans by wait time.
fn spans(out: &mut String, m: &Model) {
    let rows = m.span_rows();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nLocks by tracing span (top {TOP_SPANS} per lock, most wait first)"
    );
    // Lock order as in the lock table: most total wait first.
    for lock in m.lock_rows() {
        let mine: Vec<_> = rows.iter().filter(|r| r.class == lock.class).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {}", clip_left(&lock.name, NAME_WIDTH));
        let mut t = Table::new(&[
            ("span", false),
            ("waits", true),
            ("total wait", true),
            ("max wait", true),
            ("holds", true),
            ("total hold", true),
        ]);
        for r in mine.iter().take(TOP_SPANS) {
            let name = match (&r.span, &r.fields) {
                (None, _) => "(no span)".to_owned(),
                (Some(n), None) => n.clone(),
                (Some(n), Some(f)) => format!("{n}{{{f}}}"),
            };
            t.row(vec![
                clip_left(&name, NAME_WIDTH),
                r.waits.to_string(),
                ns(r.wait_ns_total),
                ns(r.wait_ns_max),
                r.holds.to_string(),
                ns(r.hold_ns_total),
            ]);
        }
        for line in t.render().lines() {
            let _ = writeln!(out, "  {line}");
        }
        if mine.len() > TOP_SPANS {
            let _ = writeln!(
                out,
                "    ({} more spans; `--json` lists them all under locks[].by_span)",
                mine.len() - TOP_SPANS
            );
        }
    }
}

/// The pools section: one line per semaphore instance and bounded channel that recorded pool
/// events, then the channels' own figures.
fn pools(out: &mut String, m: &Model, leak_threshold_ns: u64) {
    let rows = m.pool_rows(leak_threshold_ns);
    if rows.is_empty() {
        return;
    }
    // (Bounded channels are pools too, marked as such; the heading stays the one scripts
    // already look for.)
    let _ = writeln!(out, "\nPools (semaphores), most starved first");
    let mut t = Table::new(&[
        ("pool", false),
        ("cap", true),
        ("util", true),
        ("saturated", true),
        ("starved", true),
        ("acquired", true),
        ("waited", true),
        ("timeouts", true),
        ("acquire p50", true),
        ("p99", true),
        ("max", true),
        ("hold p50", true),
        ("p99", true),
        ("max", true),
        ("waiters", true),
        ("leaks", true),
    ]);
    for p in &rows {
        let observed = p.observed_ns().max(1) as f64;
        let share = |v: u64| format!("{} ({:.0}%)", ns(v), v as f64 * 100.0 / observed);
        let held = p.timed_holds > 0;
        let name = if p.channel {
            format!("{} (channel)", p.name)
        } else {
            p.name.clone()
        };
        t.row(vec![
            clip_left(&name, NAME_WIDTH),
            p.capacity.to_string(),
            format!("{:.0}%", p.utilisation * 100.0),
            share(p.saturated_ns),
            share(p.starved_ns),
            p.acquisitions.to_string(),
            p.waited.to_string(),
            p.timeouts.to_string(),
            ns(p.acquire.p50),
            ns(p.acquire.p99),
            ns(p.acquire.max),
            ns_or_dash(p.hold.p50, held),
            ns_or_dash(p.hold.p99, held),
            ns_or_dash(p.hold.max, held),
            p.max_waiters.to_string(),
            p.leaks.to_string(),
        ]);
    }
    out.push_str(&t.render());
    let _ = writeln!(
        out,
        "  (util: permits in use over capacity; saturated: every permit in use; starved: none \
         free and someone waiting; acquire: every acquisition, 0 when a permit was free; \
         leaks: permits held {} or longer)",
        ns(leak_threshold_ns)
    );
    channels(out, &rows);
}

/// The bounded channels among the pools: how full and how empty each ran, and who waited
/// on which side.
fn channels(out: &mut String, rows: &[crate::model::pools::PoolRow]) {
    if !rows.iter().any(|p| p.channel) {
        return;
    }
    let _ = writeln!(out, "\nChannels (bounded)");
    let mut t = Table::new(&[
        ("channel", false),
        ("cap", true),
        ("queued max", true),
        ("full", true),
        ("empty", true),
        ("sent", true),
        ("senders waited", true),
        ("most senders", true),
        ("receivers waited", true),
        ("receive wait", true),
    ]);
    for p in rows.iter().filter(|p| p.channel) {
        let observed = p.observed_ns().max(1) as f64;
        let share = |v: u64| format!("{} ({:.0}%)", ns(v), v as f64 * 100.0 / observed);
        t.row(vec![
            clip_left(&p.name, NAME_WIDTH),
            p.capacity.to_string(),
            p.max_in_use.to_string(),
            share(p.saturated_ns),
            share(p.empty_ns),
            p.acquisitions.to_string(),
            p.waited.to_string(),
            p.max_waiters.to_string(),
            p.receiver_waits.to_string(),
            ns(p.receiver_wait_ns),
        ]);
    }
    out.push_str(&t.render());
    let _ = writeln!(
        out,
        "  (a channel is a pool of its slots: a send takes one, a receive frees one; full: no \
         room, the pool's saturated time; senders waited: sends and reserves that waited for \
         room; receivers waited: receives that found it empty)"
    );
}

fn threads(out: &mut String, m: &Model) {
    let rows = m.actor_rows();
    let _ = writeln!(out, "\nThreads, by total wait time");
    if rows.is_empty() {
        let _ = writeln!(out, "  (no actors recorded)");
        return;
    }
    let mut columns = vec![
        ("thread", false),
        ("id", true),
        ("waits", true),
        ("total wait", true),
        ("max wait", true),
        ("still waiting", true),
    ];
    // Context-switch columns only when the sampler ran: older traces keep their table.
    let sampled = !m.sched.threads.is_empty();
    if sampled {
        columns.extend([
            ("vol sw", true),
            ("invol sw", true),
            ("vol/s", true),
            ("invol/s", true),
            ("run delay", true),
        ]);
    }
    // A task's spawn site only when the trace has one (tasks named by `spawn_named` or
    // `name_task`): other traces keep their table.
    let spawned = rows.iter().any(|a| !a.spawn_site.is_empty());
    if spawned {
        columns.push(("spawned at", false));
    }
    let mut t = Table::new(&columns);
    let rate = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |x| format!("{x:.1}"));
    for a in rows {
        let mut cells = vec![
            clip_left(&a.name, NAME_WIDTH),
            a.id.to_string(),
            a.waits.to_string(),
            ns(a.wait_total_ns),
            ns(a.wait_max_ns),
            a.still_waiting.to_string(),
        ];
        if sampled {
            match m.thread_sched(a.id) {
                Some(s) => cells.extend([
                    s.voluntary.to_string(),
                    s.involuntary.to_string(),
                    rate(s.voluntary_per_s),
                    rate(s.involuntary_per_s),
                    ns(s.run_delay_ns),
                ]),
                None => cells.extend(std::iter::repeat_n("-".to_owned(), 5)),
            }
        }
        if spawned {
            cells.push(match a.spawn_site.as_str() {
                "" => "-".to_owned(),
                site => clip_left(site, NAME_WIDTH),
            });
        }
        t.row(cells);
    }
    out.push_str(&t.render());
    if sampled {
        let _ = writeln!(
            out,
            "  (vol sw / invol sw: context switches at the thread's last sample (blocked / \
             preempted); the sampler refreshes them about once a second, so rates are per \
             second between refreshes, `-` for a thread sampled for less than a second)"
        );
    }
}

pub(super) fn alerts(out: &mut String, m: &Model) {
    let _ = writeln!(out, "\nAlerts");
    if m.alerts.is_empty() {
        let _ = writeln!(out, "  (none)");
        return;
    }
    for a in &m.alerts {
        let _ = write!(out, "  [{}] at {}", a.kind, ns(a.ts_ns));
        if !a.locks.is_empty() {
            let _ = write!(out, "; locks: {}", a.locks.join(", "));
        }
        let actors = m.alert_actors(a);
        if !actors.is_empty() {
            let _ = write!(out, "; actors: {}", actors.join(", "));
        }
        out.push('\n');
        for line in a.text.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
}

pub(super) fn still_waiting(out: &mut String, m: &Model) {
    let waits: Vec<_> = m.still_waiting().collect();
    if waits.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nStill waiting at end of trace");
    if m.integrity.truncated_at.is_some() || !m.integrity.closed {
        let _ = writeln!(
            out,
            "  (the trace did not close cleanly: some of these waits may have ended after it stops)"
        );
    }
    for w in waits {
        let _ = write!(
            out,
            "  {} waits for {} ({}) at {} since {} ({} before the end)",
            m.actor_name(w.actor),
            m.class_name(w.class),
            w.mode.as_str(),
            m.site_name(w.site),
            ns(w.begin_ns),
            ns(m.end_ns.saturating_sub(w.begin_ns))
        );
        let holders: Vec<String> = (w.holders.iter())
            .map(|&h| match m.holder_hold(&w, h) {
                Some(hold) => format!(
                    "{} (took it at {})",
                    m.actor_name(h),
                    m.site_name(hold.site)
                ),
                None => m.actor_name(h),
            })
            .collect();
        if !holders.is_empty() {
            let _ = write!(out, ", held by {}", holders.join(", "));
        }
        out.push('\n');
    }
}
