//! `tasks claim`: take a task, atomically. Two agents never get the same one.

use crate::config::Duration;
use crate::error::{Error, Kind, Result};
use crate::lifecycle::{self, Actor, Claim};
use crate::output;
use crate::store::scan::{self, FullFile};
use crate::store::{Entry, Scan, Store};

/// Claim a task (or the next ready one) for yourself
///
/// Claiming a task you already hold succeeds and renews the lease. A task held by someone
/// else exits 3 naming the holder; `--next` with nothing ready exits 4. Prints the id.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks claim T-3b9x\n  tasks claim --next\n  tasks claim --next --lease 30m --pid $$\n  ID=$(tasks claim --next --as agent-1)"
)]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task(), required_unless_present = "next", conflicts_with = "next")]
    pub id: Option<String>,
    /// Claim the first ready task routed to you (owned by you, a role you hold, or nobody)
    #[arg(long)]
    pub next: bool,
    /// How long the claim lasts without a heartbeat (e.g. 30m, 2h); default: config `lease`, 1h
    #[arg(long, value_name = "DURATION")]
    pub lease: Option<Duration>,
    /// The worker's process id, so a sweep can tell when it is gone
    #[arg(long)]
    pub pid: Option<u32>,
    /// Claim a task you failed before, or one assigned to someone else (with an id; --next
    /// never picks those)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub remote: super::remote::RemoteArg,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    let opts = super::ClaimLease {
        duration: args.lease,
        pid: args.pid,
    };
    let (path, task, message) = match &args.remote.remote {
        Some(name) => acquire_remote(ctx, &store, &actor, name, args, &opts)?,
        None => acquire(ctx, &store, &actor, args.id.as_deref(), args.force, &opts)?,
    };
    if ctx.out.json {
        ctx.out.print_json(&output::one_task(&task, &path));
    } else {
        crate::outln!("{}", task.id);
        ctx.out
            .status(&format!("{}: {} — {message}", task.id, task.title()));
    }
    Ok(())
}

/// Claims the task `id` (or, with `None`, the first ready one) under the lock: the file it is
/// in, the task as written, and what happened (a new claim, or a renewal).
pub fn acquire(
    ctx: &super::Ctx,
    store: &Store,
    actor: &Actor,
    id: Option<&str>,
    force: bool,
    opts: &super::ClaimLease,
) -> Result<(std::path::PathBuf, crate::task::Task, String)> {
    let scan = store.scan();
    let claimed = claim_first(ctx, store, actor, &scan, id, force, opts);
    // A claim is the command's last use of the tasks: they are left to the end of the
    // process instead of being freed one by one.
    std::mem::forget(scan);
    claimed
}

fn claim_first(
    ctx: &super::Ctx,
    store: &Store,
    actor: &Actor,
    scan: &Scan,
    id: Option<&str>,
    force: bool,
    opts: &super::ClaimLease,
) -> Result<(std::path::PathBuf, crate::task::Task, String)> {
    let candidates = candidates(ctx, store, actor, scan, id)?;
    let _lock = store.lock(ctx.out.quiet)?;
    for entry in candidates {
        let Some((full, decision)) = decide(store, actor, scan, entry, id.is_none(), force)? else {
            continue;
        };
        return Ok(match decision {
            Claim::Renew => {
                super::renew_lease(store, actor, &full.task.id, Some(opts))?;
                (
                    entry.path.clone(),
                    full.task,
                    "you already hold it; lease renewed".to_string(),
                )
            }
            Claim::New(t) => {
                let task = store.write_edit(&entry.path, &full.text, &t.edit)?;
                super::finish(store, actor, &task, &t, Some(opts))?;
                (
                    entry.path.clone(),
                    task,
                    format!("claimed as {}", actor.name),
                )
            }
        });
    }
    Err(nothing_ready(&actor.name))
}

/// Claims on the remote's shared branch (`--remote`): the claim is one commit pushed on the
/// remote tip, so of many clones claiming at once exactly one push lands; the others fetch,
/// decide again (with `--next`, on the next ready task) and retry.
pub fn acquire_remote(
    ctx: &super::Ctx,
    store: &Store,
    actor: &Actor,
    name: &str,
    args: &Args,
    opts: &super::ClaimLease,
) -> Result<(std::path::PathBuf, crate::task::Task, String)> {
    use super::remote::Decision;
    let written = super::remote::write(ctx, store, actor, name, |tip| {
        let scan = &tip.scan;
        let status_of = super::status_lookup(scan);
        let try_one = |id: &str, next: bool| -> Result<Option<Decision>> {
            let (path, before, task) = tip.find(store, id)?;
            let person = next.then_some(actor.name.as_str());
            let blockers =
                lifecycle::blockers(&task, &status_of, Some(&actor.name), person, &store.config);
            match lifecycle::claim(&task, actor, &store.config, &blockers, args.force) {
                Ok(Claim::Renew) => Ok(Some(Decision::Unchanged { path, task })),
                Ok(Claim::New(t)) => Ok(Some(Decision::Write { path, before, t })),
                Err(_) if next => Ok(None),
                Err(e) => Err(e),
            }
        };
        match args.id.as_deref() {
            Some(id) => Ok(try_one(id, false)?.expect("only --next passes over a task")),
            None => {
                let ready =
                    super::ready_set(scan, Some(&actor.name), Some(&actor.name), &store.config);
                for entry in ready {
                    if let Some(d) = try_one(&entry.task.id, true)? {
                        return Ok(d);
                    }
                }
                Err(nothing_ready(&actor.name))
            }
        }
    })?;
    let at = written.remote.display();
    match &written.transition {
        None => {
            super::renew_lease(store, actor, &written.task.id, Some(opts))?;
            Ok((
                written.path,
                written.task,
                format!("you already hold it on {at}; lease renewed"),
            ))
        }
        Some(t) => {
            super::finish(store, actor, &written.task, t, Some(opts))?;
            Ok((
                written.path,
                written.task,
                format!("claimed as {} on {at}", actor.name),
            ))
        }
    }
}

/// The tasks to try: the one named, or (`id` = `None`) the ready ones routed to the actor.
pub fn candidates<'a>(
    ctx: &super::Ctx,
    store: &Store,
    actor: &Actor,
    scan: &'a Scan,
    id: Option<&str>,
) -> Result<Vec<&'a Entry>> {
    match id {
        Some(id) => Ok(vec![store.resolve(scan, id)?]),
        None => {
            ctx.warn_invalid(store, scan);
            let ready = super::ready_set(scan, Some(&actor.name), Some(&actor.name), &store.config);
            if ready.is_empty() {
                return Err(nothing_ready(&actor.name));
            }
            Ok(ready)
        }
    }
}

/// Under the lock: re-reads the task and decides whether the actor may claim it.
/// `Ok(None)` when `next` and it is no longer claimable: try the next candidate.
pub fn decide(
    store: &Store,
    actor: &Actor,
    scan: &Scan,
    entry: &Entry,
    next: bool,
    force: bool,
) -> Result<Option<(FullFile, Claim)>> {
    let full = match store.reread(entry) {
        Ok(full) => full,
        // The file changed or broke since the scan: with --next, move on.
        Err(_) if next => return Ok(None),
        Err(e) => return Err(e),
    };
    // Dependencies are re-read under the lock too: the scan may be stale.
    let status_of = |id: &str| {
        scan.get(id)
            .and_then(|dep| scan::read_head(&dep.path).ok())
            .filter(|t| t.id == id)
            .map(|t| t.status)
    };
    let person = next.then_some(actor.name.as_str());
    let blockers = lifecycle::blockers(
        &full.task,
        &status_of,
        Some(&actor.name),
        person,
        &store.config,
    );
    match lifecycle::claim(&full.task, actor, &store.config, &blockers, force) {
        Ok(d) => Ok(Some((full, d))),
        // Someone else got there first: with --next, try the next candidate.
        Err(_) if next => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn nothing_ready(actor: &str) -> Error {
    Error::new(
        Kind::NothingReady,
        "nothing_ready",
        format!("no task is ready for {actor}"),
    )
    .hint("`tasks blocked` shows what is waiting and why")
}
