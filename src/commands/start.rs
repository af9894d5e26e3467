//! `tasks start`: claim a task and give it a worktree of its own.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::claim;
use crate::checks::orphans::recorded_worktree;
use crate::error::{Error, Result};
use crate::git;
use crate::lifecycle::Claim;
use crate::output;
use crate::store::{Store, atomic, lease, lock};
use crate::task::{Edit, Task};

/// Claim a task and create a linked worktree for it
///
/// Claims exactly like `claim` (same rules, same exit codes), then adds a worktree at
/// `<worktrees.dir>/<id>` (default `.worktrees/<id>`) on a new branch `<branch_prefix><id>`
/// (default `tasks/<id>`) from the root's HEAD, and records `worktree` and `branch` in the task.
/// Prints the worktree's path. If the worktree cannot be created, the claim is undone (with
/// `--remote`, here only: `tasks unclaim --remote ID` releases it on the remote).
/// Inside that worktree, commands act as the claim's holder without --as.
#[derive(Debug, clap::Args)]
#[group(skip)]
#[command(
    after_help = "Examples:\n  tasks start T-3b9x\n  tasks start --next --base main\n  cd \"$(tasks start --next --as agent-1)\""
)]
pub struct Args {
    #[command(flatten)]
    pub claim: claim::Args,
    /// The commit to branch from (default: the root's HEAD)
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
}

pub fn run(ctx: &super::Ctx, start: &Args) -> Result<()> {
    let args = &start.claim;
    let store = ctx.store()?;
    if store.git.is_none() {
        return Err(Error::failure(
            "not_a_repository",
            format!(
                "{} is not in a git repository: no worktree can be made",
                store.root.display()
            ),
        )
        .hint("use `tasks claim` outside git"));
    }
    let actor = ctx.actor(&store)?;
    let opts = super::ClaimLease {
        duration: args.lease,
        pid: args.pid,
    };
    // With --remote the claim is made on the remote first; the worktree is then made here
    // for the task this clone now holds.
    let claimed = match &args.remote.remote {
        Some(name) => Some(
            claim::acquire_remote(ctx, &store, &actor, name, args, &opts)?
                .1
                .id,
        ),
        None => None,
    };
    let id = claimed.as_deref().or(args.id.as_deref());
    let scan = store.scan();
    let candidates = claim::candidates(ctx, &store, &actor, &scan, id)?;

    let lock = store.lock(ctx.out.quiet)?;
    let mut picked = None;
    let mut in_the_way = Vec::new();
    for entry in candidates {
        let place = Place::of(&store, &entry.task.id);
        // With --next, a task whose branch or folder is left from an earlier start is passed
        // over (git would refuse it), so one leftover never stops every agent.
        if id.is_none() && place.in_the_way(&store) {
            in_the_way.push(entry.task.id.clone());
            continue;
        }
        if let Some(d) = claim::decide(&store, &actor, &scan, entry, id.is_none(), args.force)? {
            picked = Some((entry, d, place));
            break;
        }
    }
    if !in_the_way.is_empty() {
        ctx.out.warn(&format!(
            "passed over {}: a branch or folder from an earlier start is in the way (`tasks orphans` lists them)",
            in_the_way.join(", ")
        ));
    }
    let Some((entry, (full, decision), place)) = picked else {
        return Err(claim::nothing_ready(&actor.name));
    };
    let id = full.task.id.clone();
    let Place {
        branch,
        path,
        recorded,
    } = place;

    let (mut edit, transition) = match decision {
        Claim::Renew => {
            // Already yours, with its worktree: nothing to make.
            if let Some(existing) = recorded_worktree(&store, &full.task).filter(|p| p.is_dir()) {
                super::renew_lease(&store, &actor, &id, Some(&opts))?;
                drop(lock);
                let branch = full.task.get_str("branch").unwrap_or(&branch).to_string();
                print(
                    ctx,
                    &store,
                    &entry.path,
                    &full.task,
                    &existing,
                    &branch,
                    "you already hold it; lease renewed",
                );
                return Ok(());
            }
            let mut edit = Edit::default();
            edit.set("updated_at", actor.now.as_str());
            (edit, None)
        }
        Claim::New(t) => (t.edit.clone(), Some(t)),
    };
    edit.set("worktree", recorded.as_str())
        .set("branch", branch.as_str());
    let task = store.write_edit(&entry.path, &full.text, &edit)?;
    let written = std::fs::read(&entry.path).unwrap_or_default();
    let had_lease = lease::read(&store.state_dir, &id).is_some();
    super::renew_lease(&store, &actor, &id, Some(&opts))?;
    // The lock is not held while git checks out files: that can take a while.
    drop(lock);

    if let Err(why) = add_worktree(&store, &path, &branch, start.base.as_deref()) {
        let undone = roll_back(
            ctx,
            &store,
            &entry.path,
            full.text.as_bytes(),
            &written,
            &id,
            !had_lease,
        );
        let mut err = Error::failure(
            "worktree_failed",
            format!(
                "cannot create the worktree {} for {id}: {why}",
                store.display(&path)
            ),
        );
        err = match undone {
            Ok(()) if args.remote.remote.is_some() => err.hint(format!(
                "the claim on {id} was undone here, but it stands on the remote: `tasks unclaim --remote {id}` releases it"
            )),
            Ok(()) => err.hint(format!("the claim on {id} was undone; nothing changed")),
            Err(e) => err.hint(format!("the claim could not be undone: {}", e.message)),
        };
        if why.contains("already exists") {
            err = err.hint(format!(
                "a branch or folder from an earlier start is in the way: `tasks orphans` shows it, `git worktree remove` / `git branch -d {branch}` clear it"
            ));
        }
        return Err(err);
    }
    // A new worktree under an old name starts with nothing reconciled from it.
    if let Some(name) = path.file_name() {
        crate::checks::drift::forget_reconciled(&store, &name.to_string_lossy());
    }
    if let Some(t) = &transition {
        super::log(&store, &actor, &id, t)?;
    }
    let message = match transition {
        Some(_) => format!("claimed as {}", actor.name),
        None => "you already hold it; worktree added".to_string(),
    };
    print(ctx, &store, &entry.path, &task, &path, &branch, &message);
    Ok(())
}

/// Where a task's worktree goes.
struct Place {
    branch: String,
    path: PathBuf,
    /// The `worktree` value: relative to the root, as configured, or absolute.
    recorded: String,
}

impl Place {
    fn of(store: &Store, id: &str) -> Place {
        let configured = Path::new(store.config.worktrees_dir()).join(id);
        Place {
            branch: format!("{}{id}", store.config.branch_prefix()),
            path: normalize(&store.root.join(&configured)),
            recorded: if configured.is_absolute() {
                configured.display().to_string()
            } else {
                configured.to_string_lossy().replace('\\', "/")
            },
        }
    }

    fn in_the_way(&self, store: &Store) -> bool {
        self.path.exists() || git::branch_exists(&store.root, &self.branch)
    }
}

/// Resolves `.` and `..` without touching the disk (the folders may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Runs `git worktree add -b`. One at a time per clone: git reads every worktree's records
/// while it adds one, and a half-made record of a parallel add makes it fail. A branch this
/// call created is deleted again when the add fails, so a failed start leaves nothing behind.
fn add_worktree(
    store: &Store,
    path: &Path,
    branch: &str,
    base: Option<&str>,
) -> std::result::Result<(), String> {
    let timeout = lock::timeout_from_env()
        .map_err(|e| e.message)?
        .max(WORKTREE_LOCK_MIN);
    let _serial = lock::acquire(&store.state_dir.join("worktree.lock"), timeout, |_| {})
        .map_err(|e| e.message)?;
    if let Some(parent) = path.parent().filter(|p| !p.exists()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        // Worktrees inside the root stay out of the root's `git status`.
        if parent.starts_with(&store.root) {
            atomic::write(&parent.join(".gitignore"), b"*\n").map_err(|e| e.to_string())?;
        }
    }
    let existed = git::branch_exists(&store.root, branch);
    let base = base.unwrap_or("HEAD");
    let args: [&OsStr; 6] = [
        "worktree".as_ref(),
        "add".as_ref(),
        "-b".as_ref(),
        branch.as_ref(),
        path.as_os_str(),
        base.as_ref(),
    ];
    let result = git::run(&store.root, &args).map(|_| ());
    if result.is_err() && !existed && git::branch_exists(&store.root, branch) {
        let delete: [&OsStr; 3] = ["branch".as_ref(), "-D".as_ref(), branch.as_ref()];
        let _ = git::run(&store.root, &delete);
    }
    result
}

/// Checkouts can be slow on big repositories: waiting for another start's takes longer than
/// waiting for the state lock.
const WORKTREE_LOCK_MIN: std::time::Duration = std::time::Duration::from_secs(300);

/// Puts the task file back as it was before the claim, if nobody changed it since.
fn roll_back(
    ctx: &super::Ctx,
    store: &Store,
    file: &Path,
    before: &[u8],
    written: &[u8],
    id: &str,
    drop_lease: bool,
) -> Result<()> {
    let _lock = store.lock(ctx.out.quiet)?;
    let now = std::fs::read(file).unwrap_or_default();
    if now != written {
        return Err(Error::conflict(
            "changed_underneath",
            format!(
                "{} changed after the claim; it was left as it is",
                store.display(file)
            ),
        ));
    }
    atomic::write(file, before)?;
    if drop_lease {
        lease::remove(&store.state_dir, id)?;
    }
    Ok(())
}

fn print(
    ctx: &super::Ctx,
    store: &Store,
    file: &Path,
    task: &Task,
    path: &PathBuf,
    branch: &str,
    message: &str,
) {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
    if ctx.out.json {
        let mut doc = output::one_task(task, file);
        doc["path"] = json!(path.display().to_string());
        doc["branch"] = json!(branch);
        ctx.out.print_json(&doc);
        return;
    }
    crate::outln!("{}", path.display());
    ctx.out.status(&format!(
        "{}: {} — {message}; worktree {} on branch {branch}",
        task.id,
        task.title(),
        store.display(&path)
    ));
}
