//! Drift: task files a linked worktree changed since its branch point that the root lacks.
//!
//! For each linked worktree (prunable ones skipped), git lists the files under the tasks
//! folder that differ from the merge-base of the worktree's HEAD and the root's HEAD —
//! committed on the branch, uncommitted, or untracked. Each is merged three ways against the
//! root's copy (`crate::merge`); what the merge would change in the root is drift.

use std::path::PathBuf;

use serde_json::{Value as Json, json};

use super::{Severity, Signal};
use crate::git;
use crate::merge::{self, Plan, Prefer};
use crate::output::yaml_to_json;
use crate::store::{Scan, Store, scan};
use crate::task::{Status, Task, split::split};

/// One task file in one worktree with something the root lacks.
#[derive(Debug)]
pub struct Drift {
    pub id: String,
    /// The worktree's top folder.
    pub worktree: PathBuf,
    pub branch: Option<String>,
    /// Git's name for the worktree (its admin folder).
    pub worktree_name: String,
    /// The copy in the worktree.
    pub worktree_file: PathBuf,
    /// The path relative to the tasks folder, the same on both sides.
    pub rel: PathBuf,
    pub worktree_text: String,
    pub worktree_status: Status,
    /// The file at the merge-base, if it was there.
    pub base_text: Option<String>,
    /// The root's copy; `None` when the task is new in the worktree.
    pub root: Option<RootCopy>,
    pub kind: DriftKind,
}

#[derive(Debug)]
pub struct RootCopy {
    pub path: PathBuf,
    pub text: String,
    pub task: Task,
}

#[derive(Debug)]
pub enum DriftKind {
    /// The root has the task: the merge plan.
    Merge(Plan),
    /// The task exists only in the worktree: reconcile adds it to the root.
    New,
    /// The worktree changed a task the root deleted: never guessed.
    DeletedInRoot,
}

/// Where reconcile keeps the copy of a worktree's task file it last brought into the root.
pub fn reconciled_path(store: &Store, worktree_name: &str, rel: &std::path::Path) -> PathBuf {
    store
        .state_dir
        .join("reconciled")
        .join(worktree_name)
        .join(rel)
}

/// Forgets what reconcile took from a worktree (it is gone, or a new one takes its name).
pub fn forget_reconciled(store: &Store, worktree_name: &str) {
    let _ = std::fs::remove_dir_all(store.state_dir.join("reconciled").join(worktree_name));
}

/// A worktree task file that cannot be read.
#[derive(Debug)]
pub struct Unreadable {
    pub path: PathBuf,
    pub line: usize,
    pub reason: String,
    pub id: Option<String>,
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub drifts: Vec<Drift>,
    pub unreadable: Vec<Unreadable>,
    /// Worktrees git could not compare (named, with git's reason).
    pub failed: Vec<(PathBuf, String)>,
}

/// Compares every linked worktree with the root. `only` limits it to one task id.
pub fn analyze(
    store: &Store,
    root_scan: &Scan,
    only: Option<&str>,
    prefer: Option<Prefer>,
) -> Analysis {
    let mut out = Analysis::default();
    if store.git.is_none() {
        return out;
    }
    let Ok(tasks_rel) = store.tasks_dir.strip_prefix(&store.root) else {
        return out;
    };
    let prefix = tasks_rel.to_string_lossy().replace('\\', "/");
    let root_head = git::head(&store.root);
    let mut worktrees = git::worktrees(&store.root);
    worktrees.sort_by(|a, b| a.path.cmp(&b.path));
    for wt in worktrees.iter().filter(|w| w.exists && !w.prunable) {
        if wt.path == store.root {
            continue;
        }
        let base = match (wt.head, root_head) {
            (Some(w), Some(r)) => git::merge_base(&store.root, w, r),
            _ => None,
        };
        let changed = match git::changed_since(&wt.path, base, &prefix) {
            Ok(c) => c,
            Err(e) => {
                out.failed.push((wt.path.clone(), e));
                continue;
            }
        };
        for repo_rel in changed {
            let Ok(rel) = repo_rel.strip_prefix(tasks_rel) else {
                continue;
            };
            if !scan::is_task_file(rel) {
                continue;
            }
            let path = wt.path.join(&repo_rel);
            let full = match scan::read_full(&path) {
                Ok(f) => f,
                Err(e) => {
                    out.unreadable.push(Unreadable {
                        id: rel
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .filter(|id| only.is_none_or(|o| o == id)),
                        path,
                        line: e.line,
                        reason: e.message,
                    });
                    continue;
                }
            };
            if only.is_some_and(|o| o != full.task.id) {
                continue;
            }
            // What the last reconcile took from this copy is common ground with the root,
            // newer than the branch point: without it, a root change made since (a reopen)
            // would look like the worktree's change all over again.
            let taken = std::fs::read_to_string(reconciled_path(store, &wt.name, rel)).ok();
            if taken.as_deref() == Some(full.text.as_str()) {
                continue;
            }
            let base_text = taken.or_else(|| {
                base.and_then(|b| {
                    git::file_at(
                        &store.root,
                        b,
                        &repo_rel.to_string_lossy().replace('\\', "/"),
                    )
                })
            });
            // A root copy that cannot be read is never merged into or written over: the
            // sweep reports it (invalid_file) and it has to be fixed by hand first.
            let root = match root_scan.get(&full.task.id) {
                Some(e) => match scan::read_full(&e.path) {
                    Ok(f) => Some(RootCopy {
                        path: e.path.clone(),
                        text: f.text,
                        task: f.task,
                    }),
                    Err(_) => continue,
                },
                None if root_scan
                    .invalid
                    .iter()
                    .any(|i| i.id.as_deref() == Some(&full.task.id)) =>
                {
                    continue;
                }
                None => None,
            };
            let kind = match &root {
                Some(r) => match merge::plan(base_text.as_deref(), &r.text, &full.text, prefer) {
                    Ok(plan) if plan.is_clean() => continue,
                    Ok(plan) => DriftKind::Merge(plan),
                    Err(e) => {
                        out.unreadable.push(Unreadable {
                            path,
                            line: 1,
                            reason: e.0,
                            id: Some(full.task.id.clone()),
                        });
                        continue;
                    }
                },
                // The root lost a task it had at the branch point.
                None if base_text.is_some() => {
                    if base_text.as_deref() == Some(full.text.as_str()) {
                        continue;
                    }
                    DriftKind::DeletedInRoot
                }
                None => DriftKind::New,
            };
            out.drifts.push(Drift {
                id: full.task.id.clone(),
                worktree: wt.path.clone(),
                branch: wt.branch.clone(),
                worktree_name: wt.name.clone(),
                worktree_file: path,
                rel: rel.to_path_buf(),
                worktree_status: full.task.status,
                worktree_text: full.text,
                base_text,
                root,
                kind,
            });
        }
    }
    out
}

fn says_finished(status: Status) -> bool {
    matches!(status, Status::Done | Status::InReview)
}

fn has_pr(task: &Task) -> bool {
    task.has_key("pr_url") || task.has_key("pr_number")
}

impl Drift {
    /// Whether the worktree copy says done / in review / has a PR and the root does not —
    /// as a change the worktree made, not a value it merely inherited.
    pub fn completed_unreconciled(&self) -> bool {
        match (&self.kind, &self.root) {
            (DriftKind::Merge(plan), Some(r)) => plan.keys.iter().any(|k| match k.key.as_str() {
                "status" => says_finished(self.worktree_status) && !says_finished(r.task.status),
                "pr_url" | "pr_number" => k.worktree.is_some() && !has_pr(&r.task),
                _ => false,
            }),
            _ => {
                let pr = split(&self.worktree_text)
                    .ok()
                    .and_then(|s| Task::parse(&s).ok())
                    .is_some_and(|t| has_pr(&t));
                says_finished(self.worktree_status) || pr
            }
        }
    }

    /// One line: what differs, for humans.
    pub fn summary(&self, store: &Store) -> String {
        let wt = store.display(&self.worktree);
        match &self.kind {
            DriftKind::New => format!("{wt}: new task ({}), not in the root", self.worktree_status),
            DriftKind::DeletedInRoot => {
                format!("{wt}: changed in the worktree, deleted in the root (conflict)")
            }
            DriftKind::Merge(plan) => {
                let mut parts: Vec<String> = plan
                    .keys
                    .iter()
                    .map(|k| {
                        let mark = if k.resolution.is_conflict() {
                            " (conflict)"
                        } else {
                            ""
                        };
                        // What the root would get (a merged list is neither side's).
                        let to = k.resolution.value().unwrap_or(k.worktree.as_ref());
                        format!(
                            "{} {} → {}{mark}",
                            k.key,
                            value_text(k.root.as_ref()),
                            value_text(to)
                        )
                    })
                    .collect();
                if plan.body_changes() || plan.body.conflicts > 0 {
                    let mut body = format!("body +{} −{}", plan.body.added, plan.body.removed);
                    if plan.body.conflicts > 0 {
                        body.push_str(&format!(" ({} conflicting)", plan.body.conflicts));
                    }
                    parts.push(body);
                }
                format!("{wt}: {}", parts.join(", "))
            }
        }
    }

    pub fn evidence(&self, store: &Store) -> Json {
        let mut v = json!({
            "worktree": store.display(&self.worktree),
            "branch": self.branch,
            "file": store.display(&self.worktree_file),
            "worktree_status": self.worktree_status.as_str(),
        });
        match &self.kind {
            DriftKind::New => v["new_file"] = json!(true),
            DriftKind::DeletedInRoot => v["deleted_in_root"] = json!(true),
            DriftKind::Merge(plan) => {
                v["keys"] = plan
                    .keys
                    .iter()
                    .map(|k| {
                        json!({
                            "key": k.key,
                            "base": k.base.as_ref().map(yaml_to_json),
                            "root": k.root.as_ref().map(yaml_to_json),
                            "worktree": k.worktree.as_ref().map(yaml_to_json),
                            "resolution": k.resolution.as_str(),
                            "result": k.resolution.value().flatten().map(yaml_to_json),
                        })
                    })
                    .collect();
                v["body"] = if plan.body_changes() || plan.body.conflicts > 0 {
                    json!({
                        "added": plan.body.added,
                        "removed": plan.body.removed,
                        "conflicts": plan.body.conflicts,
                    })
                } else {
                    Json::Null
                };
                v["conflicts"] = json!(plan.conflicts());
            }
        }
        v
    }
}

/// A value as a short text: `-` when absent.
pub fn value_text(v: Option<&serde_norway::Value>) -> String {
    match v {
        None => "-".to_string(),
        Some(v) => {
            let text = crate::task::yaml::render(v);
            if text.chars().count() > 40 {
                format!("{}…", text.chars().take(39).collect::<String>())
            } else {
                text
            }
        }
    }
}

/// The signals of an analysis: one per task file per worktree, plus unreadable copies.
pub fn signals(store: &Store, analysis: &Analysis) -> Vec<Signal> {
    let mut out = Vec::new();
    for d in &analysis.drifts {
        let (kind, severity) = if d.completed_unreconciled() {
            ("completed_unreconciled", Severity::Error)
        } else {
            ("metadata_drift", Severity::Warn)
        };
        out.push(Signal {
            task: Some(d.id.clone()),
            kind,
            severity,
            detail: d.summary(store),
            evidence: d.evidence(store),
        });
    }
    for u in &analysis.unreadable {
        out.push(Signal {
            task: u.id.clone(),
            kind: "invalid_file",
            severity: Severity::Error,
            detail: format!("{}:{}: {}", store.display(&u.path), u.line, u.reason),
            evidence: json!({ "path": store.display(&u.path), "line": u.line }),
        });
    }
    for (wt, reason) in &analysis.failed {
        out.push(Signal {
            task: None,
            kind: "metadata_drift",
            severity: Severity::Warn,
            detail: format!("cannot compare {}: {reason}", store.display(wt)),
            evidence: Json::Null,
        });
    }
    out
}
