//! Writes made on a remote's shared branch instead of the local files (`--remote`): fetch,
//! decide on the remote's copy, commit that one change on top of the remote tip, push; a
//! rejected push means someone moved first, so fetch, decide again and retry. Then the local
//! copy of the task follows and the local lease and event log are kept as for a local write.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::Oid;

use crate::error::{Error, Result};
use crate::lifecycle::{Actor, Transition};
use crate::merge;
use crate::remote::{self, Pushed, Remote};
use crate::store::{Scan, Store, atomic};
use crate::task::{Task, edit};

/// `--remote[=NAME]`, on every command that changes one task.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RemoteArg {
    /// Make the change on the remote's shared branch and push it, so agents on other clones
    /// see it at once (NAME: default config `remote.name`, `origin`); see docs/remote.md
    #[arg(
        long,
        value_name = "NAME",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub remote: Option<String>,
}

/// How long a write keeps retrying while other clones keep moving the branch first.
const PATIENCE: Duration = Duration::from_secs(120);

/// What a decision on the remote's copy comes to.
pub enum Decision {
    /// Change this task file (by its path in the root; `before` is the remote's text).
    Write {
        path: PathBuf,
        before: String,
        t: Transition,
    },
    /// Nothing to change on the remote (e.g. you already hold the claim).
    Unchanged { path: PathBuf, task: Task },
}

/// What a remote write did.
pub struct Written {
    pub path: PathBuf,
    pub task: Task,
    /// `None` when nothing had to change.
    pub transition: Option<Transition>,
    pub remote: Remote,
}

/// Fetches, lets `decide` choose on the remote's tasks, commits the one change on the remote
/// tip and pushes it; retries from the fetch while pushes are rejected.
pub fn write(
    ctx: &super::Ctx,
    store: &Store,
    actor: &Actor,
    name: &str,
    mut decide: impl FnMut(&Tip) -> Result<Decision>,
) -> Result<Written> {
    let remote = Remote::open(store, Some(name))?;
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        let tip = remote.fetch()?;
        let (scan, files) = remote::scan_at(&remote.root, tip)?;
        let view = Tip {
            scan,
            files,
            root: remote.root.clone(),
        };
        let (path, before, t) = match decide(&view)? {
            Decision::Unchanged { path, task } => {
                return Ok(Written {
                    path,
                    task,
                    transition: None,
                    remote,
                });
            }
            Decision::Write { path, before, t } => (path, before, t),
        };
        let shown = store.display(&path);
        let after = edit::apply(&before, &t.edit).map_err(|e| {
            Error::failure("edit_refused", format!("{shown}: {e}"))
                .hint("nothing was pushed; please report this with the file attached")
        })?;
        let task = remote::parse_task(after.as_bytes())
            .ok_or_else(|| Error::failure("edit_refused", format!("{shown}: the edit broke it")))?;
        let rel = rel_path(&remote.root, &path)?;
        let message = format!("tasks: {} {} → {} by {}", task.id, t.from, t.to, actor.name);
        let tree = tip.map(|c| remote::tree_of(&remote.root, c)).transpose()?;
        let parents: Vec<Oid> = tip.into_iter().collect();
        let commit = remote::commit(
            &remote.root,
            tree,
            &parents,
            &[(rel, Some(after.clone().into_bytes()))],
            &message,
        )?;
        match remote.push(commit)? {
            Pushed::Done => {
                bring_home(ctx, store, &path, Some(&before), &after)?;
                return Ok(Written {
                    path,
                    task,
                    transition: Some(t),
                    remote,
                });
            }
            Pushed::Rejected if started.elapsed() < PATIENCE => {
                remote::backoff(attempt);
                attempt += 1;
            }
            Pushed::Rejected => {
                return Err(Error::conflict(
                    "remote_busy",
                    format!(
                        "{} kept moving: gave up after {attempt} rejected pushes",
                        remote.display()
                    ),
                )
                .hint("nothing was changed; run the command again"));
            }
        }
    }
}

fn rel_path(root: &Path, path: &Path) -> Result<String> {
    path.strip_prefix(root)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .map_err(|_| {
            Error::failure(
                "io",
                format!("{} is outside the repository", path.display()),
            )
        })
}

/// Brings the pushed change into the local copy of the task file, under the lock: merged with
/// whatever the local copy changed since (`base` is the remote's copy before the change).
/// A local copy that conflicts is left alone, with a warning: `tasks sync` reports it.
pub fn bring_home(
    ctx: &super::Ctx,
    store: &Store,
    path: &Path,
    base: Option<&str>,
    after: &str,
) -> Result<()> {
    let _lock = store.lock(ctx.out.quiet)?;
    let merged = match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => after.to_string(),
        Err(e) => {
            return Err(Error::failure(
                "io",
                format!("cannot read {}: {e}", store.display(path)),
            ));
        }
        Ok(local) if local == after => return Ok(()),
        Ok(local) => match merge::merge_clones(base, &local, after, None) {
            Ok(m) if m.conflicts.is_empty() => m.text,
            Ok(m) => {
                ctx.out.warn(&format!(
                    "{}: pushed, but the local copy differs ({}); `tasks sync` settles it",
                    store.display(path),
                    m.conflicts.join("; ")
                ));
                return Ok(());
            }
            Err(e) => {
                ctx.out.warn(&format!(
                    "{}: pushed, but the local copy cannot be merged: {e}",
                    store.display(path)
                ));
                return Ok(());
            }
        },
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::failure("io", format!("cannot create {}: {e}", dir.display())))?;
    }
    atomic::write(path, merged.as_bytes())?;
    Ok(())
}

/// The tasks on the remote's tip, as the decision sees them.
pub struct Tip {
    pub scan: Scan,
    files: Vec<(String, Vec<u8>)>,
    root: PathBuf,
}

impl Tip {
    /// The remote's copy of task `id` (or a unique prefix): its path in the root, its text.
    pub fn find(&self, store: &Store, id: &str) -> Result<(PathBuf, String, Task)> {
        let entry = store.resolve(&self.scan, id).map_err(|mut e| {
            e.message = format!("{} on the remote", e.message);
            e
        })?;
        let text = self.text(&entry.path).ok_or_else(|| {
            Error::failure(
                "invalid_file",
                format!("{} on the remote is not UTF-8", store.display(&entry.path)),
            )
        })?;
        Ok((entry.path.clone(), text.to_string(), (*entry.task).clone()))
    }

    pub fn text(&self, path: &Path) -> Option<&str> {
        remote::text_of(&self.root, &self.files, path)
    }
}
