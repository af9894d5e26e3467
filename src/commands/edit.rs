//! `tasks edit`: a task file in the user's editor, saved only if it is still a valid task and
//! nobody changed the file meanwhile.
//!
//! The editor works on a copy, without the lock: an edit can take minutes, and every other
//! agent would wait on the lock all that time. The lock is taken only to compare the file with
//! what the edit started from and to write the result.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::json;

use crate::error::{Error, Result};
use crate::lifecycle;
use crate::output::{self, SCHEMA_VERSION};
use crate::store::{Store, atomic, scan};
use crate::task::split::Split;
use crate::task::{Edit, Status, Task, edit};

/// Open a task in $VISUAL or $EDITOR, then check it and save it
///
/// The editor gets a copy, and no lock is held while it runs, so nobody waits on you. The
/// result is read with the parser every command uses. It is saved only if it is still a valid
/// task with the same id, status and claim fields (those change only through the lifecycle
/// commands, so every change is logged and every claim ends with an outcome); otherwise the
/// problem is shown with its line, the task file is left as it was, and on a terminal you may
/// edit again. A saved edit gets a new `updated_at`. If the file changed while you were
/// editing, nothing is saved (exit 3) and your copy is kept; its path is shown. The editor runs
/// as git runs it: `sh -c '<editor> "$@"' <editor> FILE`, so `EDITOR='code --wait'` works.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  tasks edit T-3b9x
  EDITOR='code --wait' tasks edit T-3b")]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::any_task())]
    pub id: String,
}

/// The keys an edit may not change, beyond the id and the status: they say who holds a live
/// claim and where, and must agree with its lease.
use crate::lifecycle::CLAIM_KEYS;

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let editor = editor()?;
    let store = ctx.store()?;
    let scan = store.scan();
    let entry = store.resolve(&scan, &args.id)?.clone();
    let original = store.reread(&entry)?;
    let shown = store.display(&entry.path);
    let copy = copy_path(&store, &original.task.id)?;
    atomic::write(&copy, original.text.as_bytes())?;
    let kept = |e: Error| e.hint(format!("your edit is kept in {}", copy.display()));

    let (text, task) = loop {
        let ran = run_editor(&editor, &copy, ctx.out.json);
        let edited = std::fs::read(&copy)
            .map_err(|e| Error::failure("io", format!("cannot read {}: {e}", copy.display())))?;
        if let Err(e) = ran {
            if edited == original.text.as_bytes() {
                let _ = std::fs::remove_file(&copy);
                return Err(e);
            }
            return Err(kept(e));
        }
        if edited == original.text.as_bytes() {
            let _ = std::fs::remove_file(&copy);
            report(ctx, &entry.path, &original.task, false);
            ctx.out
                .status(&format!("{}: nothing changed", original.task.id));
            return Ok(());
        }
        match check(&original.task, &edited) {
            Ok(full) => break (full.text, full.task),
            Err(problem) => {
                let message = format!("{shown}:{}: {}", problem.line, problem.message);
                if interactive(ctx) && edit_again(&message) {
                    continue;
                }
                return Err(kept(
                    Error::failure("invalid_edit", message)
                        .hint(format!("{shown} was not changed")),
                ));
            }
        }
    };

    let _lock = store.lock(ctx.out.quiet).map_err(kept)?;
    let now = std::fs::read(&entry.path).ok();
    if now.as_deref() != Some(original.text.as_bytes()) {
        return Err(Error::conflict(
            "changed_underneath",
            format!("{shown} changed while you were editing it; nothing was saved"),
        )
        .hint(format!(
            "your edit is kept in {}: compare it with {shown}, then run `tasks edit {}` again",
            copy.display(),
            original.task.id
        )));
    }
    let actor = ctx.actor(&store).ok();
    let stamp = actor.as_ref().map_or_else(super::now, |a| a.now.clone());
    let mut touch = Edit::default();
    touch.set("updated_at", stamp.as_str());
    // A frontmatter the minimal-diff editor cannot rewrite is saved as the user wrote it.
    let text = edit::apply(&text, &touch).unwrap_or(text);
    let task = scan::parse_full(text.as_bytes()).map_or(task, |f| f.task);
    atomic::write(&entry.path, text.as_bytes()).map_err(|e| kept(Error::from(e)))?;
    let _ = std::fs::remove_file(&copy);
    if let Some(actor) = &actor {
        let holds = task.status.is_claimed()
            && task
                .claimed_by()
                .is_some_and(|h| lifecycle::same_person(h, &actor.name, &store.config));
        // The edit is saved by now: a lease that cannot be renewed is worth a warning, not
        // a failure that would make the user think nothing was saved.
        if holds && let Err(e) = super::renew_lease(&store, actor, &task.id, None) {
            ctx.out.warn(&format!(
                "the edit is saved, but the lease was not renewed: {}",
                e.message
            ));
        }
    }
    report(ctx, &entry.path, &task, true);
    ctx.out.status(&format!("{}: saved {shown}", task.id));
    Ok(())
}

/// `$VISUAL`, else `$EDITOR`; an empty one counts as not set.
fn editor() -> Result<String> {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|e| !e.trim().is_empty())
        .ok_or_else(|| {
            Error::failure("no_editor", "no editor: neither VISUAL nor EDITOR is set").hint(
                "set one, e.g. `export EDITOR=vi`; `tasks set ID KEY=VALUE` changes fields without one",
            )
        })
}

/// Runs the editor on `file` as git does, so an editor given with arguments works. Under
/// `--json` the editor's own output goes to stderr: stdout holds one JSON document.
fn run_editor(editor: &str, file: &Path, json: bool) -> Result<()> {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(file);
    if json {
        cmd.stdout(Stdio::from(std::io::stderr()));
    }
    let status = cmd.status().map_err(|e| {
        Error::failure(
            "editor_failed",
            format!("cannot start the editor `{editor}`: {e}"),
        )
    })?;
    if !status.success() {
        return Err(Error::failure(
            "editor_failed",
            format!("the editor `{editor}` failed ({status}); nothing was saved"),
        ));
    }
    Ok(())
}

/// Where the copy being edited lives: in the runtime state, never among the task files.
fn copy_path(store: &Store, id: &str) -> Result<PathBuf> {
    store.ensure_state()?;
    let dir = store.state_dir.join("edits");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::failure("io", format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir.join(format!("{id}-{}.md", std::process::id())))
}

/// What is wrong with an edit, at a line of the file.
struct Problem {
    line: usize,
    message: String,
}

/// Reads the edited bytes as a task file, and refuses what an edit may not change.
fn check(original: &Task, edited: &[u8]) -> Result<scan::FullFile, Problem> {
    let full = scan::parse_full(edited).map_err(|e| Problem {
        line: e.line,
        message: e.message,
    })?;
    let line_of = |key: &str| {
        crate::task::split::split(&full.text)
            .ok()
            .and_then(|s| {
                edit::key_spans(s.frontmatter)
                    .into_iter()
                    .find(|k| k.key == key)
                    .map(|k| k.line + Split::FRONTMATTER_FIRST_LINE)
            })
            .unwrap_or(1)
    };
    let task = &full.task;
    if task.id != original.id {
        return Err(Problem {
            line: line_of("id"),
            message: format!(
                "the id changed from `{}` to `{}`; an edit cannot rename a task",
                original.id, task.id
            ),
        });
    }
    if task.status != original.status {
        return Err(Problem {
            line: line_of("status"),
            message: format!(
                "the status changed from {} to {}; use {} instead, which records the change",
                original.status,
                task.status,
                status_command(original.status, task.status, &task.id)
            ),
        });
    }
    for key in CLAIM_KEYS {
        if task.get(key) != original.get(key) {
            return Err(Problem {
                line: line_of(key),
                message: format!(
                    "`{key}` changed; the claim fields are written by claim and start and \
                     cleared when a claim ends, so they always agree with the lease"
                ),
            });
        }
    }
    Ok(full)
}

/// The lifecycle command that makes the status change an edit attempted.
fn status_command(from: Status, to: Status, id: &str) -> String {
    let command = match (from, to) {
        (_, Status::InProgress) => format!("tasks claim {id}"),
        (Status::InProgress, Status::Open) => format!("tasks unclaim {id} --reason …"),
        (Status::Blocked, Status::Open) => format!("tasks unblock {id}"),
        (_, Status::Open) => format!("tasks reopen {id} --reason …"),
        (_, Status::Done | Status::InReview) if from == Status::InReview => {
            format!("tasks approve {id}")
        }
        (_, Status::Done | Status::InReview) => format!("tasks done {id}"),
        (_, Status::Blocked) => format!("tasks block {id} --reason …"),
        (_, Status::Failed) => format!("tasks fail {id} --reason …"),
        (_, Status::Cancelled) => format!("tasks cancel {id} --reason …"),
    };
    format!("`{command}`")
}

/// Whether a person is there to answer a question: a terminal on both ends, and no `--json`.
fn interactive(ctx: &super::Ctx) -> bool {
    !ctx.out.json && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Shows the problem and asks whether to reopen the editor; yes unless the answer says no.
fn edit_again(problem: &str) -> bool {
    eprintln!("Error: {problem}");
    eprint!("Edit again? [Y/n] ");
    let mut answer = String::new();
    match std::io::stdin().lock().read_line(&mut answer) {
        Ok(0) | Err(_) => false,
        Ok(_) => !answer.trim().to_ascii_lowercase().starts_with('n'),
    }
}

fn report(ctx: &super::Ctx, path: &Path, task: &Task, changed: bool) {
    if ctx.out.json {
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "task": output::task_json(task, path),
            "changed": changed,
        }));
    }
}
