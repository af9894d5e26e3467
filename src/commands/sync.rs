//! `tasks sync`: share task changes with other clones through a git remote.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;

use git2::Oid;
use serde_json::json;

use crate::error::{Error, Kind, Result};
use crate::merge::{self, Prefer};
use crate::output::SCHEMA_VERSION;
use crate::remote::{self, Change, Pushed, Remote};
use crate::store::{Store, TASKS_DIR, scan};

/// Share task changes with other clones: commit, fetch, merge, push
///
/// Commits the changes under .tasks/ (only those: your index and every other change stay as
/// they are), fetches the remote's shared branch, merges its task changes task by task with
/// the rules of `reconcile` (a claim made on either side comes along; the later `updated_at`
/// wins), pushes, and brings the merged task files into the working tree. Conflicting edits
/// are listed and nothing is merged (exit 3) unless --prefer settles them. A push rejected
/// because another clone pushed first is retried from the fetch.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks sync\n  tasks sync --remote upstream\n  tasks sync --prefer remote"
)]
pub struct Args {
    /// The git remote (default: config `remote.name`, else `origin`)
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
    /// Settle conflicting edits with this side's values
    #[arg(long, value_enum, value_name = "SIDE")]
    pub prefer: Option<Side>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Side {
    Local,
    Remote,
}

/// One task file both sides changed in ways that cannot both be kept.
struct Conflict {
    path: String,
    lines: Vec<String>,
}

/// What merging the remote's tip into ours came to.
struct Merged {
    commit: Oid,
    /// Task files the working tree gets from the remote.
    taken: Vec<String>,
    conflicts: Vec<Conflict>,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let remote = Remote::open(&store, args.remote.as_deref())?;
    let _lock = store.lock(ctx.out.quiet)?;
    let branch = remote::current_branch(&remote.root).ok_or_else(|| {
        Error::failure("no_branch", "the root has no branch checked out")
            .hint("check out a branch, then run `tasks sync` again")
    })?;
    // The local branch is merged with the shared one and pushed to it: from any other
    // branch, that would publish that branch's commits on the shared one.
    if branch != remote.branch {
        return Err(Error::failure(
            "not_the_shared_branch",
            format!(
                "the root has `{branch}` checked out, but tasks are shared on {}: nothing was changed",
                remote.display()
            ),
        )
        .hint(format!(
            "run `tasks sync` with `{}` checked out in the root, or set `remote: {{branch: {branch}}}` in .tasks/config.yaml to share this branch",
            remote.branch
        )));
    }
    let head_ref = format!("refs/heads/{branch}");
    let head = crate::git::head(&remote.root).ok_or_else(|| {
        Error::failure("no_commits", "the root has no commits yet").hint("make a first commit")
    })?;
    let local = commit_local(&store, &remote, &head_ref, head)?;
    let committed = local != head;
    let prefer = args.prefer.map(|s| match s {
        Side::Local => Prefer::Root,
        Side::Remote => Prefer::Worktree,
    });
    let mut attempt = 0;
    let started = std::time::Instant::now();
    loop {
        let tip = remote.fetch()?;
        let merged = match tip {
            None => Merged::plain(local),
            Some(r) if remote::contains(&remote.root, local, r)? => Merged::plain(local),
            Some(r) if remote::contains(&remote.root, r, local)? => Merged {
                commit: r,
                taken: changed_tasks(&remote.root, local, r)?,
                conflicts: Vec::new(),
            },
            Some(r) => merge(&remote, local, r, prefer)?,
        };
        if !merged.conflicts.is_empty() {
            return Err(report_conflicts(ctx, &remote, &merged, committed));
        }
        if merged.commit != local {
            move_worktree(&remote, local, merged.commit, true)?;
        }
        let pushed = if Some(merged.commit) != tip {
            match remote.push(merged.commit)? {
                Pushed::Done => true,
                Pushed::Rejected if started.elapsed() < std::time::Duration::from_secs(120) => {
                    remote::backoff(attempt);
                    attempt += 1;
                    continue;
                }
                Pushed::Rejected => {
                    return Err(Error::conflict(
                        "remote_busy",
                        format!("{} kept moving: gave up", remote.display()),
                    )
                    .hint("your task changes are committed locally; run `tasks sync` again"));
                }
            }
        } else {
            false
        };
        if merged.commit != local {
            move_worktree(&remote, local, merged.commit, false)?;
            remote.git_ok(
                &[
                    "update-ref",
                    &head_ref,
                    &merged.commit.to_string(),
                    &local.to_string(),
                ],
                &[],
            )?;
        }
        print(ctx, &remote, &merged, committed, pushed);
        return Ok(());
    }
}

impl Merged {
    fn plain(commit: Oid) -> Merged {
        Merged {
            commit,
            taken: Vec::new(),
            conflicts: Vec::new(),
        }
    }
}

/// Commits the working tree's `.tasks/` on HEAD through a private index, so the user's index
/// and every other change stay as they are; then the user's index entries under `.tasks/`
/// follow the new commit. Returns the commit (HEAD itself when nothing changed).
fn commit_local(store: &Store, remote: &Remote, head_ref: &str, head: Oid) -> Result<Oid> {
    let index = store
        .state_dir
        .join(format!("sync-index-{}", std::process::id()));
    let env: [(&str, &OsStr); 1] = [("GIT_INDEX_FILE", index.as_os_str())];
    store.ensure_state()?;
    let tree = (|| {
        remote.git_ok(&["read-tree", &head.to_string()], &env)?;
        remote.git_ok(&["add", "-A", "--", TASKS_DIR], &env)?;
        remote.git_ok(&["write-tree"], &env)
    })();
    let _ = std::fs::remove_file(&index);
    let tree = tree?.trim().to_string();
    if Oid::from_str(&tree).ok() == Some(remote::tree_of(&remote.root, head)?) {
        return Ok(head);
    }
    let commit = remote
        .git_ok(
            &[
                "commit-tree",
                &tree,
                "-p",
                &head.to_string(),
                "-m",
                "tasks: task changes",
            ],
            &[],
        )?
        .trim()
        .to_string();
    remote.git_ok(&["update-ref", head_ref, &commit, &head.to_string()], &[])?;
    remote.git_ok(&["reset", "-q", "--", TASKS_DIR], &[])?;
    Oid::from_str(&commit).map_err(|e| Error::failure("git_failed", e.message().to_string()))
}

/// Moves the user's index and working tree from `from` to `to` the way `git checkout` does:
/// unrelated staged and unstaged changes are kept, and nothing a change would overwrite is
/// touched (then it fails, before anything is pushed, when `check`).
fn move_worktree(remote: &Remote, from: Oid, to: Oid, check: bool) -> Result<()> {
    let _ = remote.git(&["update-index", "-q", "--refresh"], &[]);
    let (from, to) = (from.to_string(), to.to_string());
    let mut args = vec!["read-tree", "-m", "-u"];
    if check {
        args.push("-n");
    }
    args.extend([from.as_str(), to.as_str()]);
    remote.git_ok(&args, &[]).map(|_| ()).map_err(|e| {
        Error::conflict(
            "worktree_in_the_way",
            format!("the merged changes cannot be brought into the working tree: {}", e.message),
        )
        .hint("commit or stash the changes in the way, then run `tasks sync` again; nothing was pushed")
    })
}

/// Task files that differ between two commits.
fn changed_tasks(root: &Path, from: Oid, to: Oid) -> Result<Vec<String>> {
    let a = remote::files_at(root, from)?;
    let b = remote::files_at(root, to)?;
    let mut out = Vec::new();
    for (path, bytes) in &b {
        if a.iter().find(|(p, _)| p == path).map(|(_, x)| x) != Some(bytes) {
            out.push(path.clone());
        }
    }
    for (path, _) in &a {
        if !b.iter().any(|(p, _)| p == path) {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Merges the remote's tip `theirs` into `ours`: everything outside `.tasks/` as git merges
/// it (a conflict there stops the sync), each task file by the task merge.
fn merge(remote: &Remote, ours: Oid, theirs: Oid, prefer: Option<Prefer>) -> Result<Merged> {
    let root = &remote.root;
    let repo = remote::open_repo(root)?;
    let git_err = |e: git2::Error| Error::failure("git_failed", e.message().to_string());
    let base = repo.merge_base(ours, theirs).ok();
    let files = |c: Option<Oid>| -> Result<Vec<(String, Vec<u8>)>> {
        c.map_or(Ok(Vec::new()), |c| remote::files_at(root, c))
    };
    let (b, l, r) = (files(base)?, files(Some(ours))?, files(Some(theirs))?);
    let get = |side: &[(String, Vec<u8>)], p: &str| {
        side.iter().find(|(x, _)| x == p).map(|(_, v)| v.clone())
    };
    let paths: BTreeSet<String> = b
        .iter()
        .chain(&l)
        .chain(&r)
        .map(|(p, _)| p.clone())
        .collect();
    let mut desired: Vec<Change> = Vec::new();
    let mut taken = Vec::new();
    let mut conflicts = Vec::new();
    for path in &paths {
        let (bv, lv, rv) = (get(&b, path), get(&l, path), get(&r, path));
        let result = if lv == rv || rv == bv {
            lv.clone()
        } else if lv == bv {
            rv.clone()
        } else {
            match merge_file(path, bv.as_deref(), lv.as_deref(), rv.as_deref(), prefer) {
                Ok(v) => v,
                Err(lines) => {
                    conflicts.push(Conflict {
                        path: path.clone(),
                        lines,
                    });
                    continue;
                }
            }
        };
        if result != lv {
            taken.push(path.clone());
        }
        desired.push((path.clone(), result));
    }
    if !conflicts.is_empty() {
        return Ok(Merged {
            commit: ours,
            taken,
            conflicts,
        });
    }
    let (oc, tc) = (
        repo.find_commit(ours).map_err(git_err)?,
        repo.find_commit(theirs).map_err(git_err)?,
    );
    let mut index = repo.merge_commits(&oc, &tc, None).map_err(git_err)?;
    let mut elsewhere = Vec::new();
    let mut ours_conflicted = Vec::new();
    for c in index.conflicts().map_err(git_err)?.flatten() {
        let entry = c.our.or(c.their).or(c.ancestor);
        let Some(entry) = entry else { continue };
        let path = String::from_utf8_lossy(&entry.path).into_owned();
        if path.starts_with(&format!("{TASKS_DIR}/")) {
            ours_conflicted.push(path);
        } else {
            elsewhere.push(path);
        }
    }
    if !elsewhere.is_empty() {
        return Err(Error::conflict(
            "diverged",
            format!(
                "{} and this clone changed the same files outside {TASKS_DIR}/: {}",
                remote.display(),
                elsewhere.join(", ")
            ),
        )
        .hint(format!(
            "merge {} with git first, then run `tasks sync` again; your task changes are committed locally",
            remote.display()
        )));
    }
    for path in &ours_conflicted {
        index.conflict_remove(Path::new(path)).map_err(git_err)?;
    }
    let tree = index.write_tree_to(&repo).map_err(git_err)?;
    let merged_tree = repo.find_tree(tree).map_err(git_err)?;
    let changes: Vec<Change> = desired
        .into_iter()
        .filter(|(p, v)| v.is_some() || merged_tree.get_path(Path::new(p)).is_ok())
        .collect();
    let commit = remote::commit(
        root,
        Some(tree),
        &[ours, theirs],
        &changes,
        &format!("tasks: merge task changes from {}", remote.display()),
    )?;
    Ok(Merged {
        commit,
        taken,
        conflicts,
    })
}

/// A file under `.tasks/` both sides changed: a task merges key by key; anything else (the
/// config, a deletion against an edit) only by `--prefer`.
fn merge_file(
    path: &str,
    base: Option<&[u8]>,
    ours: Option<&[u8]>,
    theirs: Option<&[u8]>,
    prefer: Option<Prefer>,
) -> std::result::Result<Option<Vec<u8>>, Vec<String>> {
    let settle = |why: &str| match prefer {
        Some(Prefer::Root) => Ok(ours.map(<[u8]>::to_vec)),
        Some(Prefer::Worktree) => Ok(theirs.map(<[u8]>::to_vec)),
        None => Err(vec![why.to_string()]),
    };
    let inside = Path::new(path.strip_prefix(&format!("{TASKS_DIR}/")).unwrap_or(path));
    let (Some(o), Some(t)) = (ours, theirs) else {
        return settle(if ours.is_none() {
            "deleted here, changed on the remote"
        } else {
            "changed here, deleted on the remote"
        });
    };
    let text = |b: &[u8]| std::str::from_utf8(b).ok().map(str::to_string);
    if !scan::is_task_file(inside) {
        return settle("changed on both sides");
    }
    let (Some(o), Some(t)) = (text(o), text(t)) else {
        return settle("changed on both sides");
    };
    let b = base.and_then(text);
    match merge::merge_clones(b.as_deref(), &o, &t, prefer) {
        Ok(m) if m.conflicts.is_empty() => Ok(Some(m.text.into_bytes())),
        Ok(m) => Err(m.conflicts),
        Err(e) => settle(&e.to_string()),
    }
}

/// The task id a path holds, for reports: its `id`, else the file name.
fn id_of(root: &Path, path: &str) -> String {
    std::fs::read(root.join(path))
        .ok()
        .and_then(|b| remote::parse_task(&b))
        .map(|t| t.id)
        .unwrap_or_else(|| {
            Path::new(path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.to_string())
        })
}

fn report_conflicts(ctx: &super::Ctx, remote: &Remote, merged: &Merged, committed: bool) -> Error {
    if ctx.out.json {
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "remote": remote.display(),
            "committed": committed,
            "pushed": false,
            "taken": [],
            "conflicts": merged.conflicts.iter().map(|c| json!({
                "id": id_of(&remote.root, &c.path),
                "path": c.path,
                "conflicts": c.lines,
            })).collect::<Vec<_>>(),
        }));
    } else {
        for c in &merged.conflicts {
            for line in &c.lines {
                crate::outln!(
                    "{}: conflict with {}: {line}",
                    id_of(&remote.root, &c.path),
                    remote.display()
                );
            }
        }
    }
    let n = merged.conflicts.len();
    Error::new(
        Kind::Conflict,
        "conflicts",
        format!(
            "{n} task{} changed differently here and on {}: nothing was merged or pushed",
            if n == 1 { "" } else { "s" },
            remote.display()
        ),
    )
    .hint("make the local copy agree (`tasks set`), or settle with `tasks sync --prefer local|remote`")
    .reported()
}

fn print(ctx: &super::Ctx, remote: &Remote, merged: &Merged, committed: bool, pushed: bool) {
    let taken: Vec<String> = merged
        .taken
        .iter()
        .map(|p| id_of(&remote.root, p))
        .collect();
    if ctx.out.json {
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "remote": remote.display(),
            "committed": committed,
            "pushed": pushed,
            "taken": taken,
            "conflicts": [],
        }));
        return;
    }
    for id in &taken {
        crate::outln!("{id}: took changes from {}", remote.display());
    }
    let mut said = Vec::new();
    if committed {
        said.push("committed the task changes".to_string());
    }
    if pushed {
        said.push(format!("pushed to {}", remote.display()));
    }
    if said.is_empty() && taken.is_empty() {
        ctx.out
            .status(&format!("already in sync with {}", remote.display()));
    } else if !said.is_empty() {
        ctx.out.status(&said.join("; "));
    }
}
