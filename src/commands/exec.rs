//! `tasks exec`: the dispatcher's wrapper. Claim a task, run a worker on it, keep its lease
//! alive, and make sure the claim ends with a recorded outcome however the worker ends.

use std::io::IsTerminal;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::claim;
use crate::checks::liveness::time;
use crate::checks::{drift, orphans::recorded_worktree};
use crate::config::Duration as Length;
use crate::error::{Error, Kind, Result};
use crate::lifecycle::{self, Actor, Transition};
use crate::output;
use crate::store::{Store, atomic, lock, scan};
use crate::task::Status;
use crate::verify::{self, Ended, Out};

/// Claim a task and run a worker on it; record an outcome however the worker ends
///
/// Claims ID (or, with --next, the first ready task routed to you), then runs COMMAND in the
/// task's worktree (else the current folder) with TASKS_TASK, TASKS_AGENT and TASKS_WORKTREE
/// set, renewing the lease while it runs and recording its pid. When it ends, the task must
/// have an outcome (the worker ran `tasks done`, `block`, `fail`, …). If not: exit 0 releases
/// the claim ("worker exited 0 without an outcome"), anything else fails it (attempts + 1) —
/// unless the worker finished in its worktree copy and only a reconcile is missing, which is
/// left for `tasks reconcile`. A tombstone in the runtime state records how it ended.
/// Exits with COMMAND's status.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks exec T-3b9x -- make test\n  tasks exec --next --as agent-1 -- sh -c 'claude -p \"do $TASKS_TASK\"'"
)]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task(), required_unless_present = "next", conflicts_with = "next")]
    pub id: Option<String>,
    /// Run on the first ready task routed to you
    #[arg(long)]
    pub next: bool,
    /// How long the claim lasts between renewals (e.g. 10m); default: config `lease`, 1h
    #[arg(long, value_name = "DURATION")]
    pub lease: Option<Length>,
    /// Claim a task you failed before, or one assigned to someone else
    #[arg(long)]
    pub force: bool,
    /// The worker and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    let opts = super::ClaimLease {
        duration: args.lease,
        pid: None,
    };
    let (path, task, message) =
        claim::acquire(ctx, &store, &actor, args.id.as_deref(), args.force, &opts)?;
    let id = task.id.clone();
    ctx.out.status(&format!(
        "{id}: {} — {message}; running {}",
        task.title(),
        args.command.join(" ")
    ));

    let dir = recorded_worktree(&store, &task)
        .filter(|p| p.is_dir())
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| store.root.clone());
    let mut cmd = Command::new(&args.command[0]);
    // The worker runs in a process group of its own, so stopping it stops all it started. A
    // group that is not the terminal's would be stopped by the system the moment it read from
    // the terminal, so a terminal is not passed on as its input.
    if std::io::stdin().is_terminal() {
        cmd.stdin(std::process::Stdio::null());
    }
    cmd.args(&args.command[1..])
        .current_dir(&dir)
        .env("TASKS_TASK", &id)
        .env("TASKS_AGENT", &actor.name)
        .env("TASKS_WORKTREE", &dir);

    // Renew a third of the way into each lease, and record the worker's pid at once.
    let lease_secs = args.lease.unwrap_or(store.config.lease()).secs().max(3);
    let every = Duration::from_secs(lease_secs / 3);
    let mut last: Option<Instant> = None;
    let started_at = super::now();
    let stdout_to = if ctx.out.json {
        Out::Stderr
    } else {
        Out::Stdout
    };
    // Asked to stop, exec passes it on to the worker's whole group and still records how it
    // ended; a group still running ten seconds later is killed.
    let stop = Signals::watch();
    let mut forwarded: Option<Instant> = None;
    let mut killed = false;
    let outcome = verify::run(cmd, stdout_to, None, |pid| {
        match (forwarded, stop.received()) {
            (None, Some(signal)) => {
                forwarded = Some(Instant::now());
                verify::signal_group(pid, signal);
            }
            (Some(at), _) if !killed && at.elapsed() > STOP_GRACE => {
                killed = true;
                verify::kill_group(pid);
            }
            _ => {}
        }
        if last.is_some_and(|l| l.elapsed() < every) {
            return;
        }
        last = Some(Instant::now());
        if let Err(e) = renew(&store, &actor, &id, pid, args.lease) {
            ctx.out
                .warn(&format!("{id}: could not renew the lease: {}", e.message));
        }
    });
    if let Ended::CouldNotStart(e) = &outcome.ended {
        ctx.out
            .warn(&format!("cannot run {}: {e}", args.command[0]));
    }

    let claimed_at = task.claimed_at().as_deref().and_then(time);
    // However settling goes, the tombstone is written and exec exits with the worker's status.
    let (state, recorded) = match settle(
        ctx,
        &store,
        &actor,
        &id,
        &outcome.ended,
        stop.received(),
        claimed_at,
    ) {
        Ok(done) => done,
        Err(e) => {
            ctx.out.warn(&format!(
                "{id}: could not record how the claim ended: {}",
                e.message
            ));
            ("unsettled", None)
        }
    };
    let tombstone = json!({
        "task": id,
        "agent": actor.name,
        "pid": outcome.pid,
        "command": args.command,
        "exit": outcome.ended.code(),
        "signal": match outcome.ended { Ended::Signalled(s) => Some(s), _ => None },
        "started_at": started_at,
        "finished_at": super::now(),
        "state": state,
        "outcome": recorded,
        "tail": outcome.tail,
    });
    if let Err(e) = write_tombstone(&store, &id, &tombstone) {
        ctx.out.warn(&format!(
            "{id}: could not write the tombstone: {}",
            e.message
        ));
    }

    let after = scan::read_full(&path).map(|f| f.task).unwrap_or(task);
    let code = outcome.ended.code();
    if ctx.out.json {
        let mut doc = output::one_task(&after, &path);
        doc["exit"] = json!(code);
        doc["state"] = json!(state);
        ctx.out.print_json(&doc);
    } else {
        ctx.out.status(&format!(
            "{id}: the worker {}; {}",
            outcome.ended.describe(),
            match state {
                "recorded" => format!("it recorded the outcome ({})", recorded.unwrap_or("none")),
                "completed_unreconciled" => {
                    "its worktree copy says it is finished: run `tasks reconcile`".to_string()
                }
                "lost" => "the claim ended without any recorded outcome (the task file was \
                           changed under it); see `tasks show`"
                    .to_string(),
                "unsettled" => {
                    "the claim could not be settled; the sweep will report it".to_string()
                }
                _ => format!(
                    "no outcome was recorded, so exec recorded `{}`",
                    recorded.unwrap_or("")
                ),
            }
        ));
    }
    if code == 0 {
        return Ok(());
    }
    Err(Error::new(
        Kind::Worker(u8::try_from(code).unwrap_or(1).max(1)),
        "worker_failed",
        format!("{id}: the worker {}", outcome.ended.describe()),
    )
    .reported())
}

/// Renews the lease and records the worker's pid, under the lock, while the claim is still the
/// actor's (the worker may have ended it already, with `tasks done` or `tasks unclaim`).
fn renew(store: &Store, actor: &Actor, id: &str, pid: u32, lease: Option<Length>) -> Result<()> {
    let _lock = store.lock(true)?;
    let scan = store.scan();
    let held = scan
        .get(id)
        .and_then(|e| scan::read_head(&e.path).ok())
        .is_some_and(|t| {
            t.status.is_claimed()
                && t.claimed_by()
                    .is_some_and(|h| lifecycle::same_person(h, &actor.name, &store.config))
        });
    if !held {
        return Ok(());
    }
    let opts = super::ClaimLease {
        duration: lease,
        pid: Some(pid),
    };
    super::renew_lease(store, actor, id, Some(&opts))
}

/// Makes sure the claim ended with an outcome. Returns how it ended (`recorded` by the worker,
/// `released` or `failed` by exec, or `completed_unreconciled`) and the outcome.
fn settle(
    ctx: &super::Ctx,
    store: &Store,
    actor: &Actor,
    id: &str,
    ended: &Ended,
    stopped: Option<&'static str>,
    claimed_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(&'static str, Option<&'static str>)> {
    // The claim must end with a record: wait for the lock as long as it takes (within reason).
    let _lock = lock::acquire(&lock::lock_path(&store.state_dir), SETTLE_WAIT, |path| {
        if !ctx.out.quiet {
            eprintln!("Blocking: waiting for the lock on {}", path.display());
        }
    })?;
    let scan = store.scan();
    let entry = store.resolve(&scan, id)?;
    let full = store.reread(entry)?;
    let task = &full.task;
    let still_ours = task.status == Status::InProgress
        && task
            .claimed_by()
            .is_some_and(|h| lifecycle::same_person(h, &actor.name, &store.config));
    if !still_ours {
        // A renewal may have raced the worker's own ending of the claim: no lease outlives it.
        if !task.status.is_claimed() {
            crate::store::lease::remove(&store.state_dir, id)?;
        }
        // Recorded only if the outcome is this claim's; else the claim vanished unrecorded.
        let this_claim = task
            .get_str("outcome_at")
            .and_then(time)
            .zip(claimed_at)
            .is_some_and(|(o, c)| o >= c);
        if !this_claim {
            return Ok(("lost", None));
        }
        let outcome = task.outcome().and_then(lifecycle::known_outcome);
        return Ok(("recorded", outcome));
    }
    if ended.passed() {
        // Finished in its worktree copy? Then only a reconcile is missing: not released.
        let analysis = drift::analyze(store, &scan, Some(id), None);
        if analysis.drifts.iter().any(|d| d.completed_unreconciled()) {
            return Ok(("completed_unreconciled", None));
        }
    }
    // Not the worker's failure: it never ran, or exec was asked to stop. The task goes back.
    let released = match (ended, stopped) {
        (Ended::CouldNotStart(e), _) => Some(format!("the worker could not start: {e}")),
        (_, Some(signal)) => Some(format!(
            "exec was stopped (SIG{signal}) and stopped the worker"
        )),
        (e, None) if e.passed() => Some("worker exited 0 without an outcome".to_string()),
        _ => None,
    };
    let t: Transition = if let Some(reason) = &released {
        lifecycle::unclaim(task, actor, &store.config, reason, false)?
    } else {
        let reason = format!("worker {}", ended.describe());
        lifecycle::fail(task, actor, &store.config, &reason)?
    };
    let written = store.write_edit(&entry.path, &full.text, &t.edit)?;
    super::finish(store, actor, &written, &t, None)?;
    let state = if released.is_some() {
        "released"
    } else {
        "failed"
    };
    Ok((state, t.outcome))
}

/// How long a worker may take to stop after exec passed a signal on, before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How long settling waits for the state lock.
const SETTLE_WAIT: Duration = Duration::from_secs(600);

/// SIGINT, SIGTERM and SIGHUP, noted instead of ending exec at once.
struct Signals {
    int: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
}

impl Signals {
    fn watch() -> Signals {
        let flag = |signal| {
            let f = Arc::new(AtomicBool::new(false));
            let _ = signal_hook::flag::register(signal, Arc::clone(&f));
            f
        };
        Signals {
            int: flag(signal_hook::consts::SIGINT),
            term: flag(signal_hook::consts::SIGTERM),
            hup: flag(signal_hook::consts::SIGHUP),
        }
    }

    /// The signal exec received, if any.
    fn received(&self) -> Option<&'static str> {
        if self.term.load(Ordering::SeqCst) {
            Some("TERM")
        } else if self.hup.load(Ordering::SeqCst) {
            Some("HUP")
        } else if self.int.load(Ordering::SeqCst) {
            Some("INT")
        } else {
            None
        }
    }
}

/// Where the last `exec` on a task left its record.
pub fn tombstone_path(store: &Store, id: &str) -> std::path::PathBuf {
    tombstones_dir(store).join(format!("{id}.json"))
}

/// The folder of those records.
pub fn tombstones_dir(store: &Store) -> std::path::PathBuf {
    store.state_dir.join("tombstones")
}

fn write_tombstone(store: &Store, id: &str, doc: &serde_json::Value) -> Result<()> {
    let path = tombstone_path(store, id);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::failure("io", format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut bytes = serde_json::to_vec_pretty(doc)
        .map_err(|e| Error::failure("io", format!("cannot encode the tombstone: {e}")))?;
    bytes.push(b'\n');
    atomic::write(&path, &bytes)?;
    Ok(())
}
