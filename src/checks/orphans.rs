//! Orphans: worktrees and branches left behind by finished tasks (`orphan_worktree`), and claim
//! fields on tasks that hold no claim (`orphan_claim`).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{Severity, Signal};
use crate::git;
use crate::lifecycle::CLAIM_KEYS;
use crate::store::{Scan, Store};
use crate::task::{Status, Task};

/// What a `<branch_prefix>` worktree or branch is left over from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// The task is done, failed or cancelled.
    Finished(Status),
    /// No task has the id.
    Missing,
    /// The task is open again (released, reopened): the branch is left from an earlier claim
    /// and stands in the way of `tasks start`.
    Unclaimed,
}

/// A worktree or branch named for a task.
#[derive(Debug, Clone)]
pub struct TaskRef {
    pub id: String,
    pub branch: String,
    /// The checkout, when the branch has one.
    pub worktree: Option<PathBuf>,
    /// Git's name for a worktree it still records on the branch whose folder is gone.
    pub stale_worktree: Option<String>,
    pub head: Option<git2::Oid>,
}

/// Every `<branch_prefix><id>` branch, with its worktree when it has one.
pub fn task_branches(store: &Store) -> Vec<TaskRef> {
    if store.git.is_none() {
        return Vec::new();
    }
    let prefix = store.config.branch_prefix();
    let worktrees = git::worktrees(&store.root);
    let mut out: Vec<TaskRef> = git::branches(&store.root, prefix)
        .into_iter()
        .filter_map(|(branch, head)| {
            let id = branch.strip_prefix(prefix)?.to_string();
            let worktree = worktrees
                .iter()
                .find(|w| w.exists && w.branch.as_deref() == Some(branch.as_str()))
                .map(|w| w.path.clone());
            let stale_worktree = worktrees
                .iter()
                .find(|w| !w.exists && w.prunable && w.branch.as_deref() == Some(branch.as_str()))
                .map(|w| w.name.clone());
            Some(TaskRef {
                id,
                branch,
                worktree,
                stale_worktree,
                head,
            })
        })
        .collect();
    out.sort_by(|a, b| a.branch.cmp(&b.branch));
    out
}

/// Why a task branch is left over, if it is.
pub fn leftover(scan: &Scan, id: &str) -> Option<Leftover> {
    match scan.get(id) {
        Some(e) if e.task.status.is_finished() || e.task.status == Status::Cancelled => {
            Some(Leftover::Finished(e.task.status))
        }
        Some(e) if e.task.status == Status::Open => Some(Leftover::Unclaimed),
        Some(_) => None,
        // A file that cannot be read is not a missing task.
        None if scan.invalid.iter().any(|i| i.id.as_deref() == Some(id)) => None,
        None => Some(Leftover::Missing),
    }
}

/// The path a task's `worktree` field names (relative paths are relative to the root).
pub fn recorded_worktree(store: &Store, task: &Task) -> Option<PathBuf> {
    let value = task.get_str("worktree")?.trim();
    if value.is_empty() {
        return None;
    }
    let path = Path::new(value);
    Some(if path.is_absolute() {
        path.to_path_buf()
    } else {
        store.root.join(path)
    })
}

/// The claim fields a task that holds no claim still carries (none for a claimed task).
pub fn stray_claim_keys(task: &Task) -> Vec<&'static str> {
    if task.status.is_claimed() {
        return Vec::new();
    }
    task.keys_present(&CLAIM_KEYS)
}

/// The live claims whose recorded worktree is `worktree` (a canonical path).
pub fn claims_on<'a>(
    store: &'a Store,
    scan: &'a Scan,
    worktree: &'a Path,
) -> impl Iterator<Item = &'a crate::store::Entry> + 'a {
    scan.tasks.iter().filter(move |e| {
        e.task.status.is_claimed()
            && recorded_worktree(store, &e.task)
                .and_then(|p| std::fs::canonicalize(p).ok())
                .is_some_and(|p| p == worktree)
    })
}

pub fn signals(store: &Store, scan: &Scan, only: Option<&str>) -> Vec<Signal> {
    let mut out = Vec::new();
    for r in task_branches(store) {
        if only.is_some_and(|o| o != r.id) {
            continue;
        }
        let Some(why) = leftover(scan, &r.id) else {
            continue;
        };
        let what = match &r.worktree {
            Some(p) => format!("worktree {} (branch {})", store.display(p), r.branch),
            None => format!("branch {}", r.branch),
        };
        let detail = match &why {
            Leftover::Finished(s) => format!("{what} is left from a task that is {s}"),
            Leftover::Missing => format!("{what} has no task {}", r.id),
            Leftover::Unclaimed => format!(
                "{what} is left from an earlier claim of {}, which is open again; `tasks start` cannot make it anew while it is there",
                r.id
            ),
        };
        out.push(Signal {
            task: Some(r.id.clone()),
            kind: "orphan_worktree",
            severity: Severity::Warn,
            detail,
            evidence: json!({
                "branch": r.branch,
                "worktree": r.worktree.as_ref().map(|p| store.display(p)),
            }),
        });
    }
    for e in &scan.tasks {
        let t = &e.task;
        if only.is_some_and(|o| o != t.id) {
            continue;
        }
        if !t.status.is_claimed() {
            let keys = stray_claim_keys(t);
            if keys.is_empty() {
                continue;
            }
            out.push(Signal {
                task: Some(t.id.clone()),
                kind: "orphan_claim",
                severity: Severity::Warn,
                detail: format!("{} but still has {}", t.status, keys.join(", ")),
                evidence: json!({ "keys": keys }),
            });
        }
    }
    out
}
