//! `tasks heartbeat`: with an id, the claimant says it is still working; without one, the
//! sweep — every check, one row per task, a snapshot, and (with `--fix`) the safe repairs.

use std::path::Path;
use std::time::Instant;

use serde_json::{Value as Json, json};

use crate::checks::{self, FailOn, Report, liveness};
use crate::error::{Error, Result};
use crate::lifecycle::{self, Actor, CLAIM_KEYS, LeaseAction, Transition};
use crate::output::{self, SCHEMA_VERSION};
use crate::store::{Scan, Store, atomic, events, lease, scan};
use crate::task::{Edit, Status};

/// Renew your lease on a task (with ID), or sweep every task for problems (without)
///
/// `tasks heartbeat ID` renews the lease on a task you hold. `tasks heartbeat` runs every check
/// (broken files, dependency loops, stale claims, gone workers, worktree drift, orphans,
/// routing, review and retry trouble) and prints one row per task with all its signals, worst
/// first; every live claim gets a row even when it is healthy. It writes the snapshot
/// `<git-common-dir>/tasks/heartbeat.json` (`tasks status` reads it) and exits 7 when a signal
/// is at or above --fail-on. With --fix it first makes the safe repairs.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks heartbeat T-3b9x\n  tasks heartbeat\n  tasks heartbeat --fix --all\n  tasks heartbeat --fail-on warn || notify-operator"
)]
pub struct Args {
    /// Renew the lease on this task (an id or a unique prefix) instead of sweeping
    #[arg(add = crate::completion::live_task(), conflicts_with_all = ["fix", "all", "here"])]
    pub id: Option<String>,
    /// The lowest severity that makes the exit code 7
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "LEVEL")]
    pub fail_on: FailOn,
    /// First release claims with no sign of life for `reclaim_after` (outcome `expired`),
    /// clear claim fields left on tasks nobody holds, and delete stale temp files
    #[arg(long)]
    pub fix: bool,
    /// List every task, not just those with signals and the live claims
    #[arg(long)]
    pub all: bool,
    /// Renew the lease of the claim that records the worktree you are in, if there is one,
    /// and do nothing else (for git hooks)
    #[arg(long, conflicts_with_all = ["fix", "all"])]
    pub here: bool,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    match (&args.id, args.here) {
        (Some(id), _) => renew(ctx, id),
        (None, true) => renew_here(ctx),
        (None, false) => sweep(ctx, args),
    }
}

fn renew(ctx: &super::Ctx, id: &str) -> Result<()> {
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    let scan = store.scan();
    let entry = store.resolve(&scan, id)?;
    let _lock = store.lock(ctx.out.quiet)?;
    let full = store.reread(entry)?;
    let task = &full.task;
    if !task.status.is_claimed() {
        return Err(Error::conflict(
            "not_claimed",
            format!(
                "cannot renew the lease of {}: it is {}, not claimed",
                task.id, task.status
            ),
        ));
    }
    let holder = task
        .claimed_by()
        .map(|h| lifecycle::canonical(h, &store.config))
        .unwrap_or_default();
    if !lifecycle::same_person(&holder, &actor.name, &store.config) {
        return Err(Error::conflict(
            "held_by_other",
            format!("task {} is held by {holder}", task.id),
        )
        .hint(format!(
            "only the claimant renews a lease; you are acting as {}",
            actor.name
        )));
    }
    super::renew_lease(&store, &actor, &task.id, None)?;
    if ctx.out.json {
        ctx.out.print_json(&output::one_task(task, &entry.path));
    } else {
        let until = lease::read(&store.state_dir, &task.id)
            .map(|l| l.expires_at)
            .unwrap_or_default();
        ctx.out
            .status(&format!("{}: lease renewed until {until}", task.id));
    }
    Ok(())
}

/// The live claim that records the current worktree, renewed by its holder.
fn renew_here(ctx: &super::Ctx) -> Result<()> {
    let store = ctx.store()?;
    let Some(git) = store.git.as_ref() else {
        return nothing_here(ctx);
    };
    let scan = store.scan();
    let here = checks::orphans::claims_on(&store, &scan, &git.current_worktree).next();
    match here {
        Some(e) => renew(ctx, &e.task.id),
        None => nothing_here(ctx),
    }
}

fn nothing_here(ctx: &super::Ctx) -> Result<()> {
    if ctx.out.json {
        ctx.out
            .print_json(&json!({"schema_version": SCHEMA_VERSION, "task": null}));
    } else {
        ctx.out
            .status("no live claim records this worktree: nothing to renew");
    }
    Ok(())
}

fn sweep(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let started = Instant::now();
    let store = ctx.store()?;
    // A read-only sweep from cron may run with no identity at all; the snapshot then says so.
    let actor = match ctx.actor(&store) {
        Ok(actor) => actor,
        Err(_) if !args.fix => Actor {
            name: "unknown".into(),
            now: super::now(),
        },
        Err(e) => return Err(e),
    };
    let mut fixes = Vec::new();
    if args.fix {
        fixes = fix(ctx, &store, &actor)?;
    }
    let scan = store.scan();
    let now = super::now_time();
    let signals = checks::sweep(&store, &scan, now);
    let report = Report::sweep(
        actor.now.clone(),
        signals,
        &scan,
        now,
        args.all,
        &store.config,
    );
    let duration_ms = started.elapsed().as_millis() as u64;
    let counts = Counts::of(&scan, &report);
    let swept = scan.tasks.len() + scan.invalid.len();
    // The report holds all it needs, and the snapshot and the output are streamed from it:
    // the tasks are left to the end of the process instead of being freed one by one.
    std::mem::forget(scan);
    write_snapshot(&store, &actor, &report, &counts, duration_ms)?;

    if ctx.out.json {
        let mut doc = report.body();
        if args.fix {
            doc.fixes = Some(&fixes);
        }
        crate::output::print_serialized(&doc);
    } else {
        for f in &fixes {
            crate::outln!("fixed: {}", f["detail"].as_str().unwrap_or_default());
        }
        if report.rows.is_empty() && report.global.is_empty() {
            ctx.out.status("no live claims and no signals");
        } else {
            report.print(&ctx.out, "");
        }
        let counts = &counts.by_severity;
        ctx.out.status(&format!(
            "swept {} in {duration_ms} ms: {}, {}; snapshot in {}",
            plural(swept, "task"),
            plural(counts["error"].as_u64().unwrap_or(0) as usize, "error"),
            plural(counts["warn"].as_u64().unwrap_or(0) as usize, "warning"),
            snapshot_path(&store).display()
        ));
    }
    report.outcome(args.fail_on)
}

/// How many tasks are in each status (every status, zeros too), and how many files are
/// unreadable.
pub fn status_counts(scan: &Scan) -> serde_json::Map<String, Json> {
    // One pass: on a large folder each task's status is a fetch from memory.
    let mut by_status = [0usize; Status::ALL.len()];
    for e in &scan.tasks {
        if let Some(i) = Status::ALL.iter().position(|s| *s == e.task.status) {
            by_status[i] += 1;
        }
    }
    let mut counts = serde_json::Map::new();
    for (status, n) in Status::ALL.iter().zip(by_status) {
        counts.insert(status.as_str().to_string(), json!(n));
    }
    counts.insert("unreadable".into(), json!(scan.invalid.len()));
    counts
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn snapshot_path(store: &Store) -> std::path::PathBuf {
    store.state_dir.join("heartbeat.json")
}

/// The snapshot's counts: by status, by signal kind, by severity.
#[derive(serde::Serialize)]
struct Counts {
    by_status: serde_json::Map<String, Json>,
    by_signal: serde_json::Map<String, Json>,
    by_severity: Json,
}

impl Counts {
    fn of(scan: &Scan, report: &Report) -> Counts {
        // Kinds in the order they are first met, counted without a map per signal.
        let mut kinds: Vec<(&str, u64)> = Vec::new();
        let (mut errors, mut warnings) = (0u64, 0u64);
        for s in report.signals() {
            match kinds.iter_mut().find(|(k, _)| *k == s.kind) {
                Some((_, n)) => *n += 1,
                None => kinds.push((s.kind, 1)),
            }
            match s.severity {
                checks::Severity::Error => errors += 1,
                checks::Severity::Warn => warnings += 1,
            }
        }
        Counts {
            by_status: status_counts(scan),
            by_signal: kinds
                .into_iter()
                .map(|(k, n)| (k.to_string(), json!(n)))
                .collect(),
            by_severity: json!({"error": errors, "warn": warnings}),
        }
    }
}

/// `<state>/heartbeat.json`, serialized straight from the report.
#[derive(serde::Serialize)]
struct Snapshot<'a> {
    schema_version: u32,
    generated_at: &'a str,
    generated_by: &'a str,
    host: Option<String>,
    duration_ms: u64,
    counts: &'a Counts,
    tasks: &'a [checks::Row],
    global: &'a [checks::Signal],
}

fn write_snapshot(
    store: &Store,
    actor: &Actor,
    report: &Report,
    counts: &Counts,
    duration_ms: u64,
) -> Result<()> {
    let snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        generated_at: &report.generated_at,
        generated_by: &actor.name,
        host: lease::hostname(),
        duration_ms,
        counts,
        tasks: &report.rows,
        global: &report.global,
    };
    store.ensure_state()?;
    atomic::write_with(&snapshot_path(store), |out| {
        serde_json::to_writer_pretty(&mut *out, &snapshot)?;
        out.write_all(b"\n")
    })?;
    Ok(())
}

/// The safe repairs, under the lock. Files that cannot be parsed are never touched: only
/// tasks the scan read are edited, each re-read under the lock first.
fn fix(ctx: &super::Ctx, store: &Store, actor: &Actor) -> Result<Vec<Json>> {
    let _lock = store.lock(ctx.out.quiet)?;
    let scan = store.scan();
    let now = super::now_time();
    let reclaim = chrono::Duration::seconds(store.config.reclaim_after().secs() as i64);
    let mut done = Vec::new();
    let lookups = liveness::Lookups::new(store);
    for entry in &scan.tasks {
        let Ok(full) = store.reread(entry) else {
            continue;
        };
        let t = &full.task;
        if t.status.is_claimed() {
            // A task in review waits for its reviewer, not for its worker: never expired.
            if t.status != Status::InProgress {
                continue;
            }
            let live = liveness::of(store, &lookups, t);
            let (Some(expires), Some(last)) = (live.expires, live.last_sign) else {
                continue;
            };
            if now <= expires || now - last <= reclaim {
                continue;
            }
            let mut edit = Edit::default();
            edit.set("status", Status::Open.as_str())
                .set("updated_at", actor.now.as_str());
            for key in CLAIM_KEYS {
                edit.remove(key);
            }
            let reason = format!(
                "no sign of life from {} for {} (reclaim_after {})",
                if live.holder.is_empty() {
                    "the holder"
                } else {
                    &live.holder
                },
                liveness::ago((now - last).num_seconds()),
                store.config.reclaim_after()
            );
            edit.set("outcome", "expired")
                .set("outcome_at", actor.now.as_str())
                .set("outcome_by", actor.name.as_str())
                .set("reason", reason.as_str());
            store.write_edit(&entry.path, &full.text, &edit)?;
            let transition = Transition {
                edit: Edit::default(),
                from: t.status,
                to: Status::Open,
                outcome: Some("expired"),
                lease: LeaseAction::Release,
            };
            lease::remove(&store.state_dir, &t.id)?;
            super::log(store, actor, &t.id, &transition)?;
            done.push(json!({
                "task": t.id,
                "fix": "released_expired_claim",
                "detail": format!("{}: {} → open (expired): {reason}", t.id, t.status),
            }));
            continue;
        }
        let keys = checks::orphans::stray_claim_keys(t);
        if keys.is_empty() {
            continue;
        }
        let mut edit = Edit::default();
        for key in &keys {
            edit.remove(key);
        }
        edit.set("updated_at", actor.now.as_str());
        store.write_edit(&entry.path, &full.text, &edit)?;
        log_fix(store, actor, &t.id, t.status, "cleared_claim_fields", None)?;
        done.push(json!({
            "task": t.id,
            "fix": "cleared_claim_fields",
            "detail": format!("{}: cleared {} ({} holds no claim)", t.id, keys.join(", "), t.status),
        }));
    }
    let mut temps = stale_temp_files(&store.tasks_dir);
    // Leases and the snapshot are written the same way, in the state folder.
    if !store.state_dir.starts_with(&store.tasks_dir) {
        temps.extend(stale_temp_files(&store.state_dir));
    }
    for path in temps {
        let shown = store.display(&path);
        // A temp file is a whole task file being written; its id says whose it was.
        let id = scan::read_full(&path)
            .map(|f| f.task.id)
            .unwrap_or_default();
        std::fs::remove_file(&path)
            .map_err(|e| Error::failure("io", format!("cannot remove {shown}: {e}")))?;
        let status = scan.get(&id).map_or(Status::Open, |e| e.task.status);
        log_fix(store, actor, &id, status, "removed_temp_file", Some(&shown))?;
        done.push(json!({
            "task": if id.is_empty() { Json::Null } else { json!(id) },
            "fix": "removed_temp_file",
            "detail": format!("removed the leftover temp file {shown}"),
        }));
    }
    Ok(done)
}

fn log_fix(
    store: &Store,
    actor: &Actor,
    id: &str,
    status: Status,
    fix: &str,
    path: Option<&str>,
) -> Result<()> {
    events::append(
        &store.state_dir,
        &events::Event {
            time: actor.now.clone(),
            actor: actor.name.clone(),
            task: id.to_string(),
            from: Some(status.as_str().to_string()),
            to: status.as_str().to_string(),
            outcome: None,
            fix: Some(fix.to_string()),
            path: path.map(str::to_string),
        },
    )?;
    Ok(())
}

/// Temp files of interrupted writes. Under the lock no write is in flight, but a file younger
/// than a minute is left alone all the same, in case a writer runs without the lock.
fn stale_temp_files(tasks_dir: &Path) -> Vec<std::path::PathBuf> {
    let minute = std::time::Duration::from_secs(60);
    walkdir::WalkDir::new(tasks_dir)
        .follow_links(false)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(atomic::TEMP_PREFIX)
        })
        .filter(|e| {
            e.metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > minute)
        })
        .map(|e| e.into_path())
        .collect()
}
