//! Sharing `.tasks/` with other clones through a git remote: fetching the shared branch,
//! reading task files out of a commit, building commits without touching the working tree or
//! the index, and pushing them. A push succeeds only if the branch still points where it did
//! when we read it (the remote checks the old value under its ref lock), so a push is a
//! compare-and-swap: a rejected push means someone else moved first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use git2::{FileMode, Oid, Repository, Signature};

use crate::error::{Error, Result};
use crate::store::{Entry, Scan, Store, TASKS_DIR, scan};
use crate::task::Task;

/// A branch on a remote that clones share `.tasks/` through.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The main worktree of this clone.
    pub root: PathBuf,
    pub name: String,
    pub branch: String,
}

/// What became of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The branch now points at the commit.
    Done,
    /// The branch moved since we read it: fetch, decide again, retry.
    Rejected,
}

impl Remote {
    /// The remote `name` (else config `remote.name`, else `origin`) and the branch (config
    /// `remote.branch`, else the branch checked out in the root).
    pub fn open(store: &Store, name: Option<&str>) -> Result<Remote> {
        let Some(git) = &store.git else {
            return Err(Error::failure(
                "not_a_repository",
                format!("{} is not in a git repository", store.root.display()),
            )
            .hint("remotes need git: run `git init` and `git remote add origin URL`"));
        };
        let root = git.main_worktree.clone();
        let name = name
            .filter(|n| !n.is_empty())
            .unwrap_or(store.config.remote_name())
            .to_string();
        let repo = open_repo(&root)?;
        if repo.find_remote(&name).is_err() {
            return Err(
                Error::failure("no_remote", format!("this clone has no remote `{name}`"))
                    .hint("add one with `git remote add NAME URL`, or name another with --remote"),
            );
        }
        let branch = match store.config.remote_branch() {
            Some(b) => b.to_string(),
            None => current_branch(&root).ok_or_else(|| {
                Error::failure(
                    "no_branch",
                    "the root has no branch checked out: cannot tell which remote branch to use",
                )
                .hint("check out a branch, or set `remote: {branch: main}` in .tasks/config.yaml")
            })?,
        };
        Ok(Remote { root, name, branch })
    }

    /// `<remote>/<branch>`, as people write it.
    pub fn display(&self) -> String {
        format!("{}/{}", self.name, self.branch)
    }

    pub fn tracking_ref(&self) -> String {
        format!("refs/remotes/{}/{}", self.name, self.branch)
    }

    /// Fetches the shared branch; its tip, or `None` when the remote does not have it yet.
    pub fn fetch(&self) -> Result<Option<Oid>> {
        let refspec = format!("+refs/heads/{}:{}", self.branch, self.tracking_ref());
        let args = [
            "fetch",
            "-q",
            "--no-tags",
            "--no-write-fetch-head",
            &self.name,
            &refspec,
        ];
        let mut attempt = 0;
        let err = loop {
            let out = self.git(&args, &[])?;
            if out.status.success() {
                let repo = open_repo(&self.root)?;
                return Ok(repo.refname_to_id(&self.tracking_ref()).ok());
            }
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            if err.contains("couldn't find remote ref") {
                return Ok(None);
            }
            // Another process of this clone fetched at the same moment and holds the
            // remote-tracking ref: its fetch is as good as ours once it is done.
            let busy =
                err.contains("cannot lock ref") || err.contains("unable to update local ref");
            if !busy || attempt >= 20 {
                break err;
            }
            backoff(attempt);
            attempt += 1;
        };
        Err(Error::failure(
            "remote_unreachable",
            format!("cannot fetch from {}: {}", self.name, reason(&err)),
        )
        .hint("check the network and `git remote -v`; nothing was changed on the remote"))
    }

    /// Pushes `commit` to the shared branch. The remote takes it only if it descends from the
    /// branch's current tip; otherwise `Rejected`.
    pub fn push(&self, commit: Oid) -> Result<Pushed> {
        let refspec = format!("{commit}:refs/heads/{}", self.branch);
        let out = self.git(&["push", "--porcelain", "-q", &self.name, &refspec], &[])?;
        if out.status.success() {
            // The remote-tracking branch follows, so the next read starts from here.
            let _ = self.git(
                &["update-ref", &self.tracking_ref(), &commit.to_string()],
                &[],
            );
            return Ok(Pushed::Done);
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('!')).collect();
        let moved = lines.iter().any(|l| {
            l.contains("[rejected]")
                || (l.contains("[remote rejected]")
                    && (l.contains("lock") || l.contains("failed to update ref")))
        }) || stderr.contains("fetch first")
            || stderr.contains("non-fast-forward");
        if moved {
            return Ok(Pushed::Rejected);
        }
        let why = if lines.is_empty() {
            reason(&stderr)
        } else {
            lines.join("; ")
        };
        Err(Error::failure(
            "push_failed",
            format!("cannot push to {}: {why}", self.display()),
        )
        .hint("check the network and your rights on the remote, then run the command again"))
    }

    /// Runs `git` in the root with extra environment variables; fails only if git cannot run.
    pub fn git(&self, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Result<Output> {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.root)
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env("GIT_TERMINAL_PROMPT", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output()
            .map_err(|e| Error::failure("io", format!("cannot run git: {e}")))
    }

    /// Like `git`, but a failure is an error carrying git's reason.
    pub fn git_ok(&self, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Result<String> {
        let out = self.git(args, env)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(Error::failure(
                "git_failed",
                format!(
                    "git {} failed: {}",
                    args.first().copied().unwrap_or_default(),
                    reason(&String::from_utf8_lossy(&out.stderr))
                ),
            ))
        }
    }
}

/// The lines git gives as the reason, without progress noise.
fn reason(stderr: &str) -> String {
    let reasons: Vec<&str> = stderr
        .lines()
        .filter_map(|l| {
            l.strip_prefix("fatal: ")
                .or_else(|| l.strip_prefix("error: "))
        })
        .collect();
    if reasons.is_empty() {
        stderr.trim().replace('\n', "; ")
    } else {
        reasons.join("; ")
    }
}

pub fn open_repo(root: &Path) -> Result<Repository> {
    Repository::open(root).map_err(|e| {
        Error::failure(
            "git_failed",
            format!(
                "cannot open the repository at {}: {}",
                root.display(),
                e.message()
            ),
        )
    })
}

fn git_error(e: git2::Error) -> Error {
    Error::failure("git_failed", e.message().to_string())
}

/// The branch checked out in the worktree at `root`, without `refs/heads/`.
pub fn current_branch(root: &Path) -> Option<String> {
    let repo = Repository::open(root).ok()?;
    let head = repo.find_reference("HEAD").ok()?;
    head.symbolic_target()
        .ok()??
        .strip_prefix("refs/heads/")
        .map(str::to_string)
}

/// Files as read from a commit: path relative to the repository top, and bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// Every file under `.tasks/` in `commit`.
pub fn files_at(root: &Path, commit: Oid) -> Result<Files> {
    let repo = open_repo(root)?;
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(git_error)?;
    let Ok(entry) = tree.get_path(Path::new(TASKS_DIR)) else {
        return Ok(Vec::new());
    };
    let Ok(sub) = repo.find_tree(entry.id()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    sub.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
        if e.kind() == Some(git2::ObjectType::Blob)
            && let (Ok(name), Ok(blob)) = (e.name(), repo.find_blob(e.id()))
        {
            out.push((format!("{TASKS_DIR}/{dir}{name}"), blob.content().to_vec()));
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(git_error)?;
    Ok(out)
}

/// The tasks in `commit`, as a scan whose paths are where each file sits in the root.
/// Files that do not parse are left out (a remote write never touches them).
pub fn scan_at(root: &Path, commit: Option<Oid>) -> Result<(Scan, Files)> {
    let files = match commit {
        Some(c) => files_at(root, c)?,
        None => Vec::new(),
    };
    let mut entries = Vec::new();
    for (rel, bytes) in &files {
        let inside = Path::new(rel.strip_prefix(&format!("{TASKS_DIR}/")).unwrap_or(rel));
        if !scan::is_task_file(inside) {
            continue;
        }
        if let Ok(full) = scan::parse_full(bytes) {
            entries.push(Entry {
                path: root.join(rel),
                task: Box::new(full.task),
            });
        }
    }
    Ok((Scan::from_entries(entries), files))
}

/// The text of one file of `files` (from `scan_at`), by its path in the root.
pub fn text_of<'a>(root: &Path, files: &'a [(String, Vec<u8>)], path: &Path) -> Option<&'a str> {
    let rel = path
        .strip_prefix(root)
        .ok()?
        .to_string_lossy()
        .replace('\\', "/");
    files
        .iter()
        .find(|(r, _)| *r == rel)
        .and_then(|(_, b)| std::str::from_utf8(b).ok())
}

/// A change to one file, by path relative to the repository top: new bytes, or removal.
pub type Change = (String, Option<Vec<u8>>);

/// Writes a commit with `tree` changed by `changes`, on `parents`, without moving any ref.
pub fn commit(
    root: &Path,
    tree: Option<Oid>,
    parents: &[Oid],
    changes: &[Change],
    message: &str,
) -> Result<Oid> {
    let repo = open_repo(root)?;
    let base = match tree {
        Some(t) => repo.find_tree(t).map_err(git_error)?,
        None => {
            let empty = repo
                .treebuilder(None)
                .and_then(|b| b.write())
                .map_err(git_error)?;
            repo.find_tree(empty).map_err(git_error)?
        }
    };
    let mut update = git2::build::TreeUpdateBuilder::new();
    for (path, bytes) in changes {
        match bytes {
            Some(b) => {
                let blob = repo.blob(b).map_err(git_error)?;
                update.upsert(path.as_str(), blob, FileMode::Blob);
            }
            None => {
                update.remove(path.as_str());
            }
        }
    }
    let tree = update.create_updated(&repo, &base).map_err(git_error)?;
    let tree = repo.find_tree(tree).map_err(git_error)?;
    let sig = repo
        .signature()
        .or_else(|_| Signature::now("tasks", "tasks@localhost"))
        .map_err(git_error)?;
    let parents: Vec<git2::Commit> = parents
        .iter()
        .map(|p| repo.find_commit(*p))
        .collect::<std::result::Result<_, _>>()
        .map_err(git_error)?;
    let refs: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(None, &sig, &sig, message, &tree, &refs)
        .map_err(git_error)
}

/// The tree of `commit`.
pub fn tree_of(root: &Path, commit: Oid) -> Result<Oid> {
    let repo = open_repo(root)?;
    let c = repo.find_commit(commit).map_err(git_error)?;
    Ok(c.tree_id())
}

/// Whether `ancestor` is `commit` or one of its ancestors.
pub fn contains(root: &Path, commit: Oid, ancestor: Oid) -> Result<bool> {
    if commit == ancestor {
        return Ok(true);
    }
    let repo = open_repo(root)?;
    repo.graph_descendant_of(commit, ancestor)
        .map_err(git_error)
}

/// A task parsed from a file's bytes, if it is one.
pub fn parse_task(bytes: &[u8]) -> Option<Task> {
    scan::parse_full(bytes).ok().map(|f| f.task)
}

/// Waits a little before trying again, longer each time and different for each process, so
/// agents that collided do not collide again in step.
pub fn backoff(attempt: u32) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let jitter = u64::from((nanos ^ std::process::id().wrapping_mul(2_654_435_761)) % 50);
    let base = 10u64 << attempt.min(5);
    std::thread::sleep(std::time::Duration::from_millis(base + jitter));
}
