//! `tasks worktree prune`: remove the worktrees and branches of finished tasks, safely.

use std::ffi::OsStr;

use serde_json::{Value as Json, json};

use crate::checks::orphans::{Leftover, TaskRef, leftover, task_branches};
use crate::error::Result;
use crate::git;
use crate::output::SCHEMA_VERSION;
use crate::store::{Scan, Store};

/// Manage the worktrees `tasks start` made
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Remove the worktrees and branches of finished tasks that are merged and clean
    ///
    /// For every `<branch_prefix><id>` branch (and its worktree) whose task is done, failed or
    /// cancelled: removes the worktree and deletes the branch only when the worktree has no
    /// uncommitted changes and the branch is merged into the root's HEAD. Unmerged or dirty
    /// work is never removed; each one kept is listed with the reason.
    #[command(after_help = "Examples:\n  tasks worktree prune --dry-run\n  tasks worktree prune")]
    Prune(PruneArgs),
}

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Say what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &super::Ctx, cmd: &Command) -> Result<()> {
    match cmd {
        Command::Prune(args) => prune(ctx, args),
    }
}

struct Decision {
    r: TaskRef,
    /// `None`: removed (or would be); `Some(reason)`: kept.
    kept: Option<String>,
}

fn prune(ctx: &super::Ctx, args: &PruneArgs) -> Result<()> {
    let store = ctx.store()?;
    let scan = store.scan();
    ctx.warn_invalid(&store, &scan);
    let mut decisions = Vec::new();
    for r in task_branches(&store) {
        let mut kept = why_keep(&store, &scan, &r);
        if kept.is_none() && !args.dry_run {
            kept = remove(&store, &r).err();
        }
        decisions.push(Decision { r, kept });
    }
    if ctx.out.json {
        let item = |d: &Decision| {
            let mut v = json!({
                "task": d.r.id,
                "branch": d.r.branch,
                "worktree": d.r.worktree.as_ref().map(|p| store.display(p)),
            });
            if let Some(why) = &d.kept {
                v["reason"] = json!(why);
            }
            v
        };
        let (removed, kept): (Vec<&Decision>, Vec<&Decision>) =
            decisions.iter().partition(|d| d.kept.is_none());
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "dry_run": args.dry_run,
            "removed": removed.into_iter().map(item).collect::<Vec<Json>>(),
            "kept": kept.into_iter().map(item).collect::<Vec<Json>>(),
        }));
        return Ok(());
    }
    if decisions.is_empty() {
        ctx.out.status(&format!(
            "no `{}` branches or worktrees",
            store.config.branch_prefix()
        ));
    }
    for d in &decisions {
        let what = match &d.r.worktree {
            Some(p) => format!("worktree {} and branch {}", store.display(p), d.r.branch),
            None => format!("branch {}", d.r.branch),
        };
        match &d.kept {
            None if args.dry_run => crate::outln!("would remove {what}"),
            None => crate::outln!("removed {what}"),
            Some(why) => crate::outln!("kept {what}: {why}"),
        }
    }
    Ok(())
}

/// Why a task branch must stay, or `None` when it is safe to remove.
fn why_keep(store: &Store, scan: &Scan, r: &TaskRef) -> Option<String> {
    match leftover(scan, &r.id) {
        None => {
            let status = scan
                .get(&r.id)
                .map_or("unreadable".to_string(), |e| e.task.status.to_string());
            return Some(format!("task {} is {status}", r.id));
        }
        Some(Leftover::Missing) => {
            return Some(format!(
                "no task {} in the root, so nothing says the work is finished",
                r.id
            ));
        }
        Some(Leftover::Unclaimed) => {
            return Some(format!(
                "task {} is open; the branch may hold work from an earlier claim",
                r.id
            ));
        }
        Some(Leftover::Finished(_)) => {}
    }
    if let Some(path) = &r.worktree {
        match git::uncommitted(path) {
            Ok(files) if !files.is_empty() => {
                let shown: Vec<&str> = files.iter().take(3).map(String::as_str).collect();
                let more = if files.len() > 3 { ", …" } else { "" };
                return Some(format!(
                    "uncommitted changes in {} file{} ({}{more})",
                    files.len(),
                    if files.len() == 1 { "" } else { "s" },
                    shown.join(", ")
                ));
            }
            Ok(_) => {}
            Err(e) => return Some(format!("cannot read its status: {e}")),
        }
    }
    let Some(head) = r.head else {
        return Some("the branch has no commit".into());
    };
    match git::commits_not_in_head(&store.root, head) {
        Ok(0) => None,
        Ok(n) => Some(format!(
            "{n} commit{} not merged into HEAD",
            if n == 1 { "" } else { "s" }
        )),
        Err(e) => Some(format!("cannot tell whether it is merged: {e}")),
    }
}

/// Removes the worktree (git refuses if it became dirty meanwhile) and deletes the branch
/// (git refuses if it is not merged). Git's refusal is the reason it was kept.
fn remove(store: &Store, r: &TaskRef) -> std::result::Result<(), String> {
    if let Some(path) = &r.worktree {
        let args: [&OsStr; 3] = ["worktree".as_ref(), "remove".as_ref(), path.as_os_str()];
        git::run(&store.root, &args)?;
        if let Some(name) = path.file_name() {
            crate::checks::drift::forget_reconciled(store, &name.to_string_lossy());
        }
    }
    // A worktree whose folder is gone still holds its branch in git's records: that one
    // record (what `git worktree prune` would drop for it) goes, and no other.
    if let (Some(name), Some(g)) = (&r.stale_worktree, &store.git) {
        let admin = g.common_dir.join("worktrees").join(name);
        std::fs::remove_dir_all(&admin)
            .map_err(|e| format!("cannot remove git's record {}: {e}", admin.display()))?;
        crate::checks::drift::forget_reconciled(store, name);
    }
    let args: [&OsStr; 3] = ["branch".as_ref(), "-d".as_ref(), r.branch.as_ref()];
    git::run(&store.root, &args).map(|_| ())
}
