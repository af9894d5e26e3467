//! The subcommands: the enum, the dispatch, and the context every command gets.

mod approve;
mod assign;
mod block;
mod blocked;
mod cancel;
mod claim;
mod completions;
mod dep;
mod done;
mod drift;
mod edit;
mod exec;
mod fail;
mod graph;
mod guide;
mod heartbeat;
mod hooks;
mod identities;
mod init;
mod list;
mod man;
mod new;
mod note;
mod orphans;
mod ready;
mod reconcile;
pub mod remote;
mod reopen;
mod set;
mod show;
mod start;
mod stats;
mod status;
mod sync;
mod unblock;
mod unclaim;
mod whoami;
mod worktree;

use std::io::Read;

use clap::Subcommand;

use crate::cli::{Cli, GlobalArgs};
use crate::config::Duration;
use crate::error::{Error, Result};
use crate::lifecycle::{self, Actor, LeaseAction, Transition};
use crate::output::{self, Output};
use crate::store::{Entry, Locate, Scan, Store, events, lease};
use crate::task::{Edit, Status, Task};

pub use exec::{tombstone_path, tombstones_dir};
pub use guide::{GUIDE, SNIPPET};
pub use man::dir_given as man_dir_given;

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::Args),
    New(new::Args),
    List(list::Args),
    Show(show::Args),
    Ready(ready::Args),
    Blocked(blocked::Args),
    Claim(claim::Args),
    Start(start::Args),
    Exec(exec::Args),
    Heartbeat(heartbeat::Args),
    Note(note::Args),
    Done(done::Args),
    Approve(approve::Args),
    Block(block::Args),
    Unblock(unblock::Args),
    Fail(fail::Args),
    Unclaim(unclaim::Args),
    Reopen(reopen::Args),
    Cancel(cancel::Args),
    Set(set::Args),
    Edit(edit::Args),
    Assign(assign::AssignArgs),
    Unassign(assign::UnassignArgs),
    Whoami(whoami::Args),
    #[command(subcommand, after_help = "Examples:\n  tasks identities fix --dry-run")]
    Identities(identities::Command),
    Drift(drift::Args),
    Reconcile(reconcile::Args),
    Sync(sync::Args),
    Orphans(orphans::Args),
    Status(status::Args),
    Graph(graph::GraphArgs),
    Tracks(graph::TracksArgs),
    Stats(stats::Args),
    #[command(
        subcommand,
        after_help = "Examples:\n  tasks hooks install\n  tasks hooks uninstall"
    )]
    Hooks(hooks::Command),
    #[command(subcommand, after_help = "Examples:\n  tasks worktree prune --dry-run")]
    Worktree(worktree::Command),
    #[command(
        subcommand,
        after_help = "Examples:\n  tasks dep add T-7k2m T-3b9x\n  tasks dep tree T-7k2m\n  tasks dep cycles"
    )]
    Dep(dep::Command),
    Guide(guide::Args),
    Completions(completions::Args),
    Man(man::Args),
}

pub fn dispatch(cli: &Cli, out: &Output) -> Result<()> {
    pinned_now()?;
    if let Some(dir) = &cli.global.chdir {
        std::env::set_current_dir(dir).map_err(|e| {
            Error::failure("io", format!("cannot change to {}: {e}", dir.display()))
        })?;
    }
    let ctx = Ctx {
        global: cli.global.clone(),
        out: out.clone(),
    };
    match &cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::New(args) => new::run(&ctx, args),
        Command::List(args) => list::run(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Ready(args) => ready::run(&ctx, args),
        Command::Blocked(args) => blocked::run(&ctx, args),
        Command::Claim(args) => claim::run(&ctx, args),
        Command::Start(args) => start::run(&ctx, args),
        Command::Exec(args) => exec::run(&ctx, args),
        Command::Heartbeat(args) => heartbeat::run(&ctx, args),
        Command::Note(args) => note::run(&ctx, args),
        Command::Done(args) => done::run(&ctx, args),
        Command::Approve(args) => approve::run(&ctx, args),
        Command::Block(args) => block::run(&ctx, args),
        Command::Unblock(args) => unblock::run(&ctx, args),
        Command::Fail(args) => fail::run(&ctx, args),
        Command::Unclaim(args) => unclaim::run(&ctx, args),
        Command::Reopen(args) => reopen::run(&ctx, args),
        Command::Cancel(args) => cancel::run(&ctx, args),
        Command::Set(args) => set::run(&ctx, args),
        Command::Edit(args) => edit::run(&ctx, args),
        Command::Assign(args) => assign::assign(&ctx, args),
        Command::Unassign(args) => assign::unassign(&ctx, args),
        Command::Whoami(args) => whoami::run(&ctx, args),
        Command::Identities(cmd) => identities::run(&ctx, cmd),
        Command::Drift(args) => drift::run(&ctx, args),
        Command::Reconcile(args) => reconcile::run(&ctx, args),
        Command::Sync(args) => sync::run(&ctx, args),
        Command::Orphans(args) => orphans::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::Graph(args) => graph::graph(&ctx, args),
        Command::Tracks(args) => graph::tracks(&ctx, args),
        Command::Stats(args) => stats::run(&ctx, args),
        Command::Hooks(cmd) => hooks::run(&ctx, cmd),
        Command::Worktree(cmd) => worktree::run(&ctx, cmd),
        Command::Dep(cmd) => dep::run(&ctx, cmd),
        Command::Guide(args) => guide::run(&ctx, args),
        Command::Completions(args) => completions::run(&ctx, args),
        Command::Man(args) => man::run(&ctx, args),
    }
}

/// What every command gets: the global flags and the output settings.
pub struct Ctx {
    pub global: GlobalArgs,
    pub out: Output,
}

impl Ctx {
    pub fn locate(&self) -> Locate {
        Locate {
            dir: self.global.dir.clone(),
            local: self.global.local,
        }
    }

    pub fn store(&self) -> Result<Store> {
        Store::open(&self.locate())
    }

    /// The acting identity: `--as`, `TASKS_AGENT`, the holder of the claim on the linked
    /// worktree we are in, git `user.email`, `$USER`; canonicalised.
    pub fn actor(&self, store: &Store) -> Result<Actor> {
        let (raw, _) = self.identity(store)?;
        Ok(Actor {
            name: lifecycle::canonical(&raw, &store.config),
            now: now(),
        })
    }

    /// The identity as given, before canonicalising, and where it came from: `flag` (`--as`),
    /// `env` (`TASKS_AGENT`), `worktree` (the claim on this worktree), `git` (`user.email`),
    /// `user` (`$USER`).
    pub fn identity(&self, store: &Store) -> Result<(String, &'static str)> {
        let given = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        let from = |source: &'static str| move |s: String| (s, source);
        given(self.global.actor.clone())
            .map(from("flag"))
            .or_else(|| given(std::env::var("TASKS_AGENT").ok()).map(from("env")))
            .or_else(|| self.worktree_holder(store).map(from("worktree")))
            .or_else(|| {
                given(crate::git::user_email(&std::env::current_dir().ok()?)).map(from("git"))
            })
            .or_else(|| given(std::env::var("USER").ok()).map(from("user")))
            .ok_or_else(|| {
                Error::failure("no_identity", "cannot tell who is acting").hint(
                    "pass --as NAME or set TASKS_AGENT; every parallel agent needs its own name",
                )
            })
    }

    /// Inside a linked worktree that a live claim records (made by `tasks start`), the
    /// claim's holder: an agent working there needs no `--as`.
    fn worktree_holder(&self, store: &Store) -> Option<String> {
        let git = store.git.as_ref()?;
        if self.global.local || git.current_worktree == git.main_worktree {
            return None;
        }
        // Every claim `start` makes has a lease, so only the tasks with a lease are read, at
        // their usual place; the whole folder is scanned only if one of them is elsewhere.
        // This runs before every command an agent runs in its worktree: it must stay cheap.
        let mut entries = Vec::new();
        let mut elsewhere = false;
        let leases = std::fs::read_dir(store.state_dir.join("leases")).ok()?;
        for lease in leases.flatten() {
            let name = lease.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            let path = store.tasks_dir.join(format!("{id}.md"));
            match crate::store::scan::read_head(&path) {
                Ok(task) if task.id == id => entries.push(crate::store::Entry {
                    path,
                    task: Box::new(task),
                }),
                _ => {
                    elsewhere = true;
                    break;
                }
            }
        }
        let scan = if elsewhere {
            store.scan()
        } else {
            Scan::from_entries(entries)
        };
        let mut holders: Vec<String> =
            crate::checks::orphans::claims_on(store, &scan, &git.current_worktree)
                .filter_map(|e| e.task.claimed_by().map(str::to_string))
                .collect();
        holders.sort();
        holders.dedup();
        match holders.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    /// Reports files that could not be read, once per command.
    pub fn warn_invalid(&self, store: &Store, scan: &Scan) {
        for bad in &scan.invalid {
            self.out.warn(&format!(
                "{}:{}: {} (skipped)",
                store.display(&bad.path),
                bad.line,
                bad.reason
            ));
        }
    }
}

/// The current time, RFC 3339 UTC to the second. `TASKS_NOW` pins it (for reproducible runs).
pub fn now() -> String {
    now_time().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn now_time() -> chrono::DateTime<chrono::Utc> {
    pinned_now().ok().flatten().unwrap_or_else(chrono::Utc::now)
}

/// `TASKS_NOW`, if set. Checked once in `dispatch`, so a bad value stops every command
/// before any timestamp is written.
fn pinned_now() -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let Ok(pinned) = std::env::var("TASKS_NOW") else {
        return Ok(None);
    };
    chrono::DateTime::parse_from_rfc3339(pinned.trim())
        .map(|t| Some(t.with_timezone(&chrono::Utc)))
        .map_err(|e| {
            Error::failure(
                "invalid_input",
                format!("TASKS_NOW `{pinned}` is not an RFC 3339 time: {e}"),
            )
        })
}

/// Reads `TEXT`, or standard input when it is `-`.
pub fn text_arg(text: &str) -> Result<String> {
    if text != "-" {
        return Ok(text.to_string());
    }
    let mut buf = String::new();
    std::io::stdin()
        .read_to_string(&mut buf)
        .map_err(|e| Error::failure("io", format!("cannot read standard input: {e}")))?;
    Ok(buf)
}

/// A map from id to status for readiness checks.
pub fn status_lookup(scan: &Scan) -> impl Fn(&str) -> Option<Status> + '_ {
    move |id: &str| scan.status_of(id)
}

/// The ready tasks, in ready order: nothing blocks them for `agent` (tasks it failed before
/// are left out) and, when given, they route to `person`.
pub fn ready_set<'a>(
    scan: &'a Scan,
    agent: Option<&str>,
    person: Option<&str>,
    config: &crate::config::Config,
) -> Vec<&'a Entry> {
    let status_of = status_lookup(scan);
    let ready_in = |range: std::ops::Range<usize>| -> Vec<&'a Entry> {
        scan.tasks[range.clone()]
            .iter()
            .zip(&scan.statuses()[range])
            // Only an open task can be ready: the cheap test first.
            .filter(|(_, s)| **s == Status::Open)
            .map(|(e, _)| e)
            .filter(|e| lifecycle::blockers(&e.task, &status_of, agent, person, config).is_empty())
            .collect()
    };
    // Looking up dependencies among many tasks is mostly waiting on memory: on a large
    // folder, two cores wait at once.
    let large = scan.tasks.len() >= crate::store::scan::PARALLEL_FROM
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    let mut ready = if large {
        let half = scan.tasks.len() / 2;
        std::thread::scope(|s| {
            let later = s.spawn(|| ready_in(half..scan.tasks.len()));
            let mut ready = ready_in(0..half);
            match later.join() {
                Ok(rest) => ready.extend(rest),
                Err(panic) => std::panic::resume_unwind(panic),
            }
            ready
        })
    } else {
        ready_in(0..scan.tasks.len())
    };
    lifecycle::sort_in_ready_order(&mut ready, |e| &e.task);
    ready
}

/// The shape of every single-task write: resolve, lock, re-read, decide, write, log. With
/// `--remote`, the same decision is made on the remote's copy and pushed (see `remote::write`).
pub fn transition(
    ctx: &Ctx,
    id: &str,
    on: &remote::RemoteArg,
    decide: impl Fn(&Task, &Actor, &Store) -> Result<Transition>,
) -> Result<()> {
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    if let Some(name) = &on.remote {
        let written = remote::write(ctx, &store, &actor, name, |tip| {
            let (path, before, task) = tip.find(&store, id)?;
            let t = decide(&task, &actor, &store)?;
            Ok(remote::Decision::Write { path, before, t })
        })?;
        let (task, t) = (written.task, written.transition);
        if let Some(t) = &t {
            finish(&store, &actor, &task, t, None)?;
            report(
                ctx,
                &written.path,
                &task,
                &format!(
                    "{}: {} → {}{} on {}",
                    task.id,
                    t.from,
                    t.to,
                    outcome_suffix(t),
                    written.remote.display()
                ),
            );
        }
        return Ok(());
    }
    let scan = store.scan();
    let entry = store.resolve(&scan, id)?;
    let _lock = store.lock(ctx.out.quiet)?;
    let full = store.reread(entry)?;
    let t = decide(&full.task, &actor, &store)?;
    let task = store.write_edit(&entry.path, &full.text, &t.edit)?;
    finish(&store, &actor, &task, &t, None)?;
    report(
        ctx,
        &entry.path,
        &task,
        &format!("{}: {} → {}{}", task.id, t.from, t.to, outcome_suffix(&t)),
    );
    Ok(())
}

fn outcome_suffix(t: &Transition) -> String {
    t.outcome.map(|o| format!(" ({o})")).unwrap_or_default()
}

/// After a write: the lease and the event log.
pub fn finish(
    store: &Store,
    actor: &Actor,
    task: &Task,
    t: &Transition,
    claim: Option<&ClaimLease>,
) -> Result<()> {
    // A new claim starts a new lease: nothing (pid, start, length) carries over from an old one.
    if !t.from.is_claimed() && t.to.is_claimed() {
        lease::remove(&store.state_dir, &task.id)?;
    }
    match t.lease {
        LeaseAction::Renew => renew_lease(store, actor, &task.id, claim)?,
        LeaseAction::Release => lease::remove(&store.state_dir, &task.id)?,
    }
    log(store, actor, &task.id, t)
}

/// One line in `events.jsonl` for a transition.
pub fn log(store: &Store, actor: &Actor, id: &str, t: &Transition) -> Result<()> {
    events::append(
        &store.state_dir,
        &events::Event {
            time: actor.now.clone(),
            actor: actor.name.clone(),
            task: id.to_string(),
            from: Some(t.from.as_str().to_string()),
            to: t.to.as_str().to_string(),
            outcome: t.outcome.map(str::to_string),
            fix: None,
            path: None,
        },
    )?;
    Ok(())
}

/// Options for a new lease.
#[derive(Debug, Clone, Default)]
pub struct ClaimLease {
    pub duration: Option<Duration>,
    pub pid: Option<u32>,
}

/// Writes or extends the lease; an existing lease keeps its length, pid and start.
pub fn renew_lease(
    store: &Store,
    actor: &Actor,
    id: &str,
    opts: Option<&ClaimLease>,
) -> Result<()> {
    let now = now_time();
    let existing = lease::read(&store.state_dir, id)
        .filter(|l| lifecycle::same_person(&l.holder, &actor.name, &store.config));
    let length = opts
        .and_then(|o| o.duration)
        .map(|d| d.secs() as i64)
        .or_else(|| {
            let l = existing.as_ref()?;
            let renewed = chrono::DateTime::parse_from_rfc3339(&l.renewed_at).ok()?;
            Some((l.expires()? - renewed.with_timezone(&chrono::Utc)).num_seconds())
        })
        .filter(|s| *s > 0)
        .unwrap_or(store.config.lease().secs() as i64);
    let expires = now + chrono::Duration::seconds(length);
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let lease = lease::Lease {
        task: id.to_string(),
        holder: actor.name.clone(),
        acquired_at: existing
            .as_ref()
            .map_or_else(|| fmt(now), |l| l.acquired_at.clone()),
        renewed_at: fmt(now),
        expires_at: fmt(expires),
        pid: opts
            .and_then(|o| o.pid)
            .or(existing.as_ref().and_then(|l| l.pid)),
        host: lease::hostname(),
    };
    lease::write(&store.state_dir, &lease)?;
    Ok(())
}

/// Prints the result of a single-task command.
pub fn report(ctx: &Ctx, path: &std::path::Path, task: &Task, status: &str) {
    if ctx.out.json {
        ctx.out.print_json(&output::one_task(task, path));
    } else {
        ctx.out.status(status);
    }
}

/// A write that is not a status transition (note, set, dep): resolve, lock, re-read, edit.
/// The holder of a live claim renews its lease by touching the task.
pub fn update(
    ctx: &Ctx,
    id: &str,
    decide: impl FnOnce(&Task, &Actor, &Store, &Scan) -> Result<Edit>,
) -> Result<(Entry, Task)> {
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    let scan = store.scan();
    let entry = store.resolve(&scan, id)?.clone();
    let _lock = store.lock(ctx.out.quiet)?;
    let full = store.reread(&entry)?;
    let mut edit = decide(&full.task, &actor, &store, &scan)?;
    let task = if edit.is_empty() {
        full.task
    } else {
        edit.set("updated_at", actor.now.as_str());
        store.write_edit(&entry.path, &full.text, &edit)?
    };
    let holds = task.status.is_claimed()
        && task
            .claimed_by()
            .is_some_and(|h| lifecycle::same_person(h, &actor.name, &store.config));
    if holds {
        renew_lease(&store, &actor, &task.id, None)?;
    }
    Ok((entry, task))
}

/// A reason given with `--reason`, which must say something.
pub fn reason(text: &str) -> Result<String> {
    let text = text_arg(text)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::usage("--reason must not be empty"));
    }
    Ok(text.to_string())
}
