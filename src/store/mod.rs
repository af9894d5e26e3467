//! The store: where the root is, the task files under it, the runtime state beside git.

pub mod atomic;
pub mod events;
pub mod lease;
pub mod lock;
pub mod scan;

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::{self, GitContext};
use crate::task::{Edit, Task, edit};

pub use scan::{Entry, Invalid, Scan};

/// How the user pointed us at a store.
#[derive(Debug, Clone, Default)]
pub struct Locate {
    /// `--dir` or `TASKS_DIR`: the folder holding `.tasks/` (or `.tasks/` itself).
    pub dir: Option<PathBuf>,
    /// `--local`: use the current worktree's own `.tasks/`, not the main worktree's.
    pub local: bool,
}

#[derive(Debug)]
pub struct Store {
    /// The folder that holds `.tasks/`.
    pub root: PathBuf,
    pub tasks_dir: PathBuf,
    /// `<git-common-dir>/tasks/`, or `.tasks/.state/` outside git.
    pub state_dir: PathBuf,
    pub git: Option<GitContext>,
    pub config: Config,
}

pub const TASKS_DIR: &str = ".tasks";

/// The error for a `.tasks` that exists but is not a folder.
pub fn not_a_folder(tasks_dir: &Path) -> Error {
    Error::failure(
        "not_initialized",
        format!("{} is a file, not a folder", tasks_dir.display()),
    )
    .hint(format!(
        "task files live in the folder {TASKS_DIR}/; move that file aside, then run `tasks init`"
    ))
}

impl Store {
    /// Works out the root, without requiring `.tasks/` to exist yet (for `init`).
    pub fn find_root(opts: &Locate) -> Result<(PathBuf, Option<GitContext>)> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::failure("io", format!("cannot read the current directory: {e}")))?;
        if let Some(dir) = &opts.dir {
            let dir = if dir.is_absolute() {
                dir.clone()
            } else {
                cwd.join(dir)
            };
            let dir = if dir.file_name().is_some_and(|n| n == TASKS_DIR) {
                dir.parent().map(Path::to_path_buf).unwrap_or(dir)
            } else {
                dir
            };
            if !dir.is_dir() {
                return Err(Error::failure(
                    "not_found",
                    format!("--dir {} is not a directory", dir.display()),
                ));
            }
            let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
            let git =
                git::discover(&dir).filter(|g| g.current_worktree == dir || g.main_worktree == dir);
            return Ok((dir, git));
        }
        if let Some(git) = git::discover(&cwd) {
            let root = if opts.local {
                git.current_worktree.clone()
            } else {
                git.main_worktree.clone()
            };
            return Ok((root, Some(git)));
        }
        let found = cwd.ancestors().find(|d| d.join(TASKS_DIR).is_dir());
        Ok((found.unwrap_or(&cwd).to_path_buf(), None))
    }

    /// Opens an existing store: `.tasks/` must be there and the config must parse.
    pub fn open(opts: &Locate) -> Result<Store> {
        let (root, git) = Store::find_root(opts)?;
        let tasks_dir = root.join(TASKS_DIR);
        if tasks_dir.exists() && !tasks_dir.is_dir() {
            return Err(not_a_folder(&tasks_dir));
        }
        if !tasks_dir.is_dir() {
            return Err(Error::failure(
                "not_initialized",
                format!("no {TASKS_DIR}/ folder in {}", root.display()),
            )
            .hint("run `tasks init` at the top of the repository to create one"));
        }
        let config_path = tasks_dir.join("config.yaml");
        let config = Config::load(&config_path, &format!("{TASKS_DIR}/config.yaml"))?;
        let state_dir = match &git {
            Some(g) => g.common_dir.join("tasks"),
            None => tasks_dir.join(".state"),
        };
        Ok(Store {
            root,
            tasks_dir,
            state_dir,
            git,
            config,
        })
    }

    /// Creates the runtime state folders if they are missing.
    pub fn ensure_state(&self) -> Result<()> {
        std::fs::create_dir_all(self.state_dir.join("leases")).map_err(|e| {
            Error::failure(
                "io",
                format!(
                    "cannot create the state folder {}: {e}",
                    self.state_dir.display()
                ),
            )
        })?;
        if self.git.is_none() {
            let ignore = self.state_dir.join(".gitignore");
            if !ignore.exists() {
                atomic::write(&ignore, b"*\n")?;
            }
        }
        Ok(())
    }

    pub fn scan(&self) -> Scan {
        scan::scan(&self.tasks_dir)
    }

    /// The state lock, held until the guard drops.
    pub fn lock(&self, quiet: bool) -> Result<lock::LockGuard> {
        self.ensure_state()?;
        let timeout = lock::timeout_from_env()?;
        lock::acquire(&lock::lock_path(&self.state_dir), timeout, |path| {
            if !quiet {
                eprintln!("Blocking: waiting for the lock on {}", path.display());
            }
        })
    }

    /// The state lock for a command that writes, none for its dry run (which only reads).
    pub fn lock_unless_dry_run(
        &self,
        dry_run: bool,
        quiet: bool,
    ) -> Result<Option<lock::LockGuard>> {
        if dry_run {
            return Ok(None);
        }
        self.lock(quiet).map(Some)
    }

    /// A path as users see it: relative to the root.
    pub fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Finds a task by id or unique id prefix.
    pub fn resolve<'a>(&self, scan: &'a Scan, query: &str) -> Result<&'a Entry> {
        if let Some(entry) = scan.get(query) {
            return Ok(entry);
        }
        if let Some(problem) = crate::task::model::id_problem(query) {
            return Err(Error::failure("invalid_input", problem));
        }
        let lower = query.to_ascii_lowercase();
        let mut matches: Vec<&Entry> = scan
            .tasks
            .iter()
            .filter(|e| e.task.id.to_ascii_lowercase().starts_with(&lower))
            .collect();
        let exact_case: Vec<&Entry> = matches
            .iter()
            .copied()
            .filter(|e| e.task.id.starts_with(query))
            .collect();
        if exact_case.len() == 1 {
            return Ok(exact_case[0]);
        }
        match matches.len() {
            1 => Ok(matches.remove(0)),
            0 => {
                let mut err = Error::failure("not_found", format!("no task with id `{query}`"));
                let lower_matches = |id: &str| id.to_ascii_lowercase().starts_with(&lower);
                let related: Vec<&Invalid> = scan
                    .invalid
                    .iter()
                    .filter(|i| {
                        i.id.as_deref().is_some_and(lower_matches)
                            || i.path
                                .file_stem()
                                .is_some_and(|s| lower_matches(&s.to_string_lossy()))
                    })
                    .collect();
                if !related.is_empty() {
                    let names: Vec<String> =
                        related.iter().map(|b| self.display(&b.path)).collect();
                    err.message = format!("task `{query}` cannot be read: {}", names.join(", "));
                    err.code = "invalid_file";
                }
                if related.is_empty() {
                    return Err(err.hint("`tasks list --all` shows every task"));
                }
                for bad in related {
                    err = err.hint(format!(
                        "{}:{}: {} (fix it by hand; tasks never rewrites a file it cannot parse)",
                        self.display(&bad.path),
                        bad.line,
                        bad.reason
                    ));
                }
                Err(err)
            }
            _ => {
                let ids: Vec<&str> = matches.iter().map(|e| e.task.id.as_str()).collect();
                Err(Error::failure(
                    "ambiguous_id",
                    format!("`{query}` matches several tasks: {}", ids.join(", ")),
                )
                .hint("type more of the id"))
            }
        }
    }

    /// Re-reads a task file in full (under the lock, before an edit) and checks it is still
    /// the task we resolved.
    pub fn reread(&self, entry: &Entry) -> Result<scan::FullFile> {
        let full = scan::read_full(&entry.path)
            .map_err(|e| self.invalid_error(&entry.path, e.line, &e.message))?;
        if full.task.id != entry.task.id {
            return Err(Error::conflict(
                "changed_underneath",
                format!(
                    "{} changed while we worked: its id is now `{}`",
                    self.display(&entry.path),
                    full.task.id
                ),
            )
            .hint("run the command again"));
        }
        Ok(full)
    }

    pub fn invalid_error(&self, path: &Path, line: usize, reason: &str) -> Error {
        Error::failure(
            "invalid_file",
            format!("{}:{line}: {reason}", self.display(path)),
        )
        .hint("fix the file by hand; tasks never rewrites a file it cannot parse")
    }

    /// Applies a minimal-diff edit to a file's text and writes it atomically.
    pub fn write_edit(&self, path: &Path, before: &str, change: &Edit) -> Result<Task> {
        let after = edit::apply(before, change).map_err(|e| {
            Error::failure("edit_refused", format!("{}: {e}", self.display(path)))
                .hint("the file was not changed; please report this with the file attached")
        })?;
        let task =
            Task::parse(&crate::task::split::split(&after).map_err(|e| {
                Error::failure("edit_refused", format!("{}: {e}", self.display(path)))
            })?)
            .map_err(|e| self.invalid_error(path, e.line, &e.message))?;
        atomic::write(path, after.as_bytes())?;
        Ok(task)
    }

    /// Every id in the root and in every linked worktree, so new ids never collide.
    pub fn all_known_ids(&self, scan: &Scan) -> std::collections::HashSet<String> {
        let mut ids: std::collections::HashSet<String> =
            scan.tasks.iter().map(|e| e.task.id.clone()).collect();
        for bad in &scan.invalid {
            if let Some(stem) = bad.path.file_stem() {
                ids.insert(stem.to_string_lossy().into_owned());
            }
        }
        for wt in git::linked_worktrees(&self.root) {
            let dir = wt.join(TASKS_DIR);
            if dir.is_dir() {
                ids.extend(scan::scan(&dir).tasks.into_iter().map(|e| e.task.id));
            }
        }
        ids
    }
}
