//! Git discovery: the main worktree, the common dir, linked worktrees, the user's email.

use std::path::{Path, PathBuf};

use git2::Repository;

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
    let Ok(repo) = Repository::open(root) else {
        return Vec::new();
    };
    let Ok(names) = repo.worktrees() else {
        return Vec::new();
    };
    names
        .iter()
        .flatten()
        .flatten()
        .filter_map(|name| repo.find_worktree(name).ok())
        .map(|wt| clean(wt.path()))
        .filter(|p| p.is_dir())
        .collect()
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
