//! Git: discovery (the main worktree, the common dir, the user's email), what the linked
//! worktrees hold, and the few changes `tasks` makes to a repository (adding and removing
//! worktrees), which run the `git` program so hooks, filters and config apply as users expect.

use std::path::{Path, PathBuf};
use std::process::Command;

use git2::{BranchType, DiffOptions, Oid, Repository, StatusOptions};

/// What git says about the directory a command runs in.
#[derive(Debug, Clone)]
pub struct GitContext {
    /// The main worktree: where the shared `.tasks/` lives.
    pub main_worktree: PathBuf,
    /// The worktree the command runs in (may be the main one).
    pub current_worktree: PathBuf,
    /// `<git-common-dir>`, shared by every worktree of the clone.
    pub common_dir: PathBuf,
}

/// Finds the repository containing `dir`, if any, and its main worktree.
pub fn discover(dir: &Path) -> Option<GitContext> {
    let repo = Repository::discover(dir).ok()?;
    let current_worktree = repo.workdir()?.to_path_buf();
    let common_dir = repo.commondir().to_path_buf();
    let main_worktree = if repo.is_worktree() {
        Repository::open(&common_dir).ok()?.workdir()?.to_path_buf()
    } else {
        current_worktree.clone()
    };
    Some(GitContext {
        main_worktree: clean(&main_worktree),
        current_worktree: clean(&current_worktree),
        common_dir: clean(&common_dir),
    })
}

/// The paths of every linked worktree of the repository at `root` that still exists.
pub fn linked_worktrees(root: &Path) -> Vec<PathBuf> {
    worktrees(root)
        .into_iter()
        .filter(|w| w.exists)
        .map(|w| w.path)
        .collect()
}

/// A linked worktree as git records it.
#[derive(Debug, Clone)]
pub struct Worktree {
    pub name: String,
    pub path: PathBuf,
    /// The checkout is still there.
    pub exists: bool,
    /// `git worktree prune` would remove its record (the checkout is gone and it is not locked).
    pub prunable: bool,
    /// The branch checked out there, without `refs/heads/` (none when detached).
    pub branch: Option<String>,
    /// The commit checked out there (none on an unborn branch).
    pub head: Option<Oid>,
}

/// Every linked worktree of the repository at `root`, including ones whose folder is gone.
pub fn worktrees(root: &Path) -> Vec<Worktree> {
    let Ok(repo) = Repository::open(root) else {
        return Vec::new();
    };
    let Ok(names) = repo.worktrees() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in names.iter().flatten().flatten() {
        let Ok(wt) = repo.find_worktree(name) else {
            continue;
        };
        let path = clean(wt.path());
        let exists = path.is_dir();
        let prunable = wt.is_prunable(None).unwrap_or(false);
        // The worktree's own HEAD, read from its admin folder so it works when the checkout
        // is gone.
        let head_file = repo.commondir().join("worktrees").join(name).join("HEAD");
        let head_text = std::fs::read_to_string(head_file).unwrap_or_default();
        let head_text = head_text.trim();
        let (branch, head) = match head_text.strip_prefix("ref: ") {
            Some(refname) => (
                refname.strip_prefix("refs/heads/").map(str::to_string),
                repo.refname_to_id(refname).ok(),
            ),
            None => (None, Oid::from_str(head_text).ok()),
        };
        out.push(Worktree {
            name: name.to_string(),
            path,
            exists,
            prunable,
            branch,
            head,
        });
    }
    out
}

/// The commit HEAD points at in the worktree at `dir` (none when unborn).
pub fn head(dir: &Path) -> Option<Oid> {
    Repository::open(dir).ok()?.head().ok()?.target()
}

/// The best common ancestor of two commits.
pub fn merge_base(root: &Path, a: Oid, b: Oid) -> Option<Oid> {
    Repository::open(root).ok()?.merge_base(a, b).ok()
}

/// The text of `path` (relative to the repository top, `/`-separated) in `commit`.
/// `None` when it is not there or not UTF-8.
pub fn file_at(root: &Path, commit: Oid, path: &str) -> Option<String> {
    let repo = Repository::open(root).ok()?;
    let tree = repo.find_commit(commit).ok()?.tree().ok()?;
    let entry = tree.get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    String::from_utf8(blob.content().to_vec()).ok()
}

/// Files under `prefix` (a folder relative to the worktree's top, `/`-separated) that differ in
/// the worktree at `dir` — committed, staged, unstaged or untracked — from `base`; every file
/// under it when there is no base. Paths are relative to the worktree's top.
pub fn changed_since(dir: &Path, base: Option<Oid>, prefix: &str) -> Result<Vec<PathBuf>, String> {
    let repo = Repository::open(dir).map_err(|e| e.message().to_string())?;
    let tree = match base {
        Some(oid) => Some(
            repo.find_commit(oid)
                .and_then(|c| c.tree())
                .map_err(|e| e.message().to_string())?,
        ),
        None => None,
    };
    let mut opts = DiffOptions::new();
    opts.pathspec(prefix)
        .include_untracked(true)
        .recurse_untracked_dirs(true);
    let diff = repo
        .diff_tree_to_workdir_with_index(tree.as_ref(), Some(&mut opts))
        .map_err(|e| e.message().to_string())?;
    Ok(diff
        .deltas()
        .filter(|d| d.status() != git2::Delta::Deleted)
        .filter_map(|d| d.new_file().path().map(Path::to_path_buf))
        .collect())
}

/// Whether the local branch exists.
pub fn branch_exists(root: &Path, name: &str) -> bool {
    Repository::open(root)
        .and_then(|r| r.find_branch(name, BranchType::Local).map(|_| ()))
        .is_ok()
}

/// The repository opened once, for looking up many branches: the branch names are listed in
/// one pass over the references, so a branch that does not exist costs no lookup at all.
pub struct Branches {
    repo: Option<Repository>,
    /// Local branch names (without `refs/heads/`).
    local: std::collections::HashSet<String>,
    /// Remote-tracking branches by their name on the remote (`refs/remotes/<remote>/<name>`
    /// under `<name>`), with their full reference names.
    remote: std::collections::HashMap<String, Vec<String>>,
}

impl Branches {
    /// `None` root (outside git): every lookup finds nothing.
    pub fn open(root: Option<&Path>) -> Branches {
        let repo = root.and_then(|r| Repository::open(r).ok());
        let mut local = std::collections::HashSet::new();
        let mut remote: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        if let Some(refs) = repo.as_ref().and_then(|r| r.references().ok()) {
            for reference in refs.flatten() {
                let Ok(full) = reference.name() else {
                    continue;
                };
                if let Some(name) = full.strip_prefix("refs/heads/") {
                    local.insert(name.to_string());
                } else if let Some((_, name)) = full
                    .strip_prefix("refs/remotes/")
                    .and_then(|rest| rest.split_once('/'))
                {
                    remote
                        .entry(name.to_string())
                        .or_default()
                        .push(full.to_string());
                }
            }
        }
        Branches {
            repo,
            local,
            remote,
        }
    }

    /// The commit a reference points at and its committer time (Unix seconds).
    fn tip(&self, full: &str) -> Option<(String, i64)> {
        let commit = self
            .repo
            .as_ref()?
            .find_reference(full)
            .ok()?
            .peel_to_commit()
            .ok()?;
        Some((commit.id().to_string(), commit.time().seconds()))
    }

    /// The commit a local branch points at and its committer time (Unix seconds).
    pub fn tip_time(&self, name: &str) -> Option<(String, i64)> {
        if !self.local.contains(name) {
            return None;
        }
        self.tip(&format!("refs/heads/{name}"))
    }

    /// The newest of the branch's tips across the remotes this clone fetched
    /// (`refs/remotes/<remote>/<name>`): a claim made on another machine shows its work there.
    pub fn remote_tip_time(&self, name: &str) -> Option<(String, i64)> {
        self.remote
            .get(name)?
            .iter()
            .filter_map(|full| self.tip(full))
            .max_by_key(|c| c.1)
    }
}

/// Local branches whose name starts with `prefix`, with the commit each points at.
pub fn branches(root: &Path, prefix: &str) -> Vec<(String, Option<Oid>)> {
    let Ok(repo) = Repository::open(root) else {
        return Vec::new();
    };
    let Ok(branches) = repo.branches(Some(BranchType::Local)) else {
        return Vec::new();
    };
    branches
        .flatten()
        .filter_map(|(b, _)| {
            let name = b.name().ok()??.to_string();
            name.starts_with(prefix).then(|| (name, b.get().target()))
        })
        .collect()
}

/// What is uncommitted in the worktree at `dir` (ignored files aside), as `git status` paths.
pub fn uncommitted(dir: &Path) -> Result<Vec<String>, String> {
    let repo = Repository::open(dir).map_err(|e| e.message().to_string())?;
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(|e| e.message().to_string())?;
    Ok(statuses
        .iter()
        .filter_map(|s| s.path().ok().map(str::to_string))
        .collect())
}

/// How many commits of `commit` the root's HEAD lacks (0: merged).
pub fn commits_not_in_head(root: &Path, commit: Oid) -> Result<usize, String> {
    let repo = Repository::open(root).map_err(|e| e.message().to_string())?;
    let head = repo
        .head()
        .ok()
        .and_then(|h| h.target())
        .ok_or("the root has no commits")?;
    let mut walk = repo.revwalk().map_err(|e| e.message().to_string())?;
    walk.push(commit).map_err(|e| e.message().to_string())?;
    walk.hide(head).map_err(|e| e.message().to_string())?;
    Ok(walk.count())
}

/// Runs `git ARGS` in `dir`; its stderr (trimmed) is the error.
pub fn run(dir: &Path, args: &[&std::ffi::OsStr]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&output.stderr);
        // Progress lines ("Preparing worktree …") are noise next to the reason.
        let reasons: Vec<&str> = err
            .lines()
            .filter_map(|l| {
                l.strip_prefix("fatal: ")
                    .or_else(|| l.strip_prefix("error: "))
            })
            .collect();
        Err(if !reasons.is_empty() {
            reasons.join("; ")
        } else if err.trim().is_empty() {
            format!("git exited with {}", output.status)
        } else {
            err.trim().replace('\n', "; ")
        })
    }
}

/// `user.email` from git config as seen from `dir`.
pub fn user_email(dir: &Path) -> Option<String> {
    let repo = Repository::discover(dir).ok()?;
    let config = repo.config().ok()?;
    config
        .get_string("user.email")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Drops a trailing separator and resolves `.`/`..` where the path exists.
fn clean(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
