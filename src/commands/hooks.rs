//! `tasks hooks install | uninstall`: git hooks that keep the sweep's snapshot fresh and renew
//! the lease of the task whose worktree a commit is made in.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{Error, Result};
use crate::git;
use crate::output::SCHEMA_VERSION;
use crate::store::atomic;

/// Install or remove the git hooks that run the sweep
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add a `tasks` section to the post-commit, post-merge and post-checkout hooks
    ///
    /// Each section runs `tasks heartbeat --fail-on never` quietly (refreshing the snapshot
    /// `tasks status` reads); in post-commit it first renews the lease of the claim that records
    /// the worktree the commit was made in. Existing hooks keep their content: the section goes
    /// right after the `#!` line, between marker comments. Respects `core.hooksPath`. A section
    /// never fails or slows a git command beyond the sweep itself, even when `.tasks/` is broken
    /// or the `tasks` binary is gone. Running it again updates the sections in place.
    #[command(after_help = "Examples:\n  tasks hooks install")]
    Install,
    /// Remove the `tasks` sections, leaving everything else in each hook as it was
    ///
    /// A hook file that held nothing but the section is deleted.
    #[command(after_help = "Examples:\n  tasks hooks uninstall")]
    Uninstall,
}

const HOOKS: [&str; 3] = ["post-commit", "post-merge", "post-checkout"];
const BEGIN: &str = "# >>> tasks hooks >>>";
const END: &str = "# <<< tasks hooks <<<";
/// The first line of a hook file `install` creates.
const SHEBANG: &str = "#!/bin/sh";
/// Written in the section when `install` created the file, so `uninstall` deletes only those.
const CREATED: &str = "# (tasks hooks install created this file)";
/// Written in the section when `install` had to end the hook's `#!` line with a line break.
const ADDED_EOL: &str = "# (tasks hooks install ended the first line with a line break)";

pub fn run(ctx: &super::Ctx, cmd: &Command) -> Result<()> {
    let dir = hooks_dir()?;
    let mut changed = Vec::new();
    let mut skipped = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let result = match cmd {
            Command::Install => install(&path, hook),
            Command::Uninstall => uninstall(&path),
        };
        match result {
            Ok(true) => changed.push(hook),
            Ok(false) => {}
            Err(why) => skipped.push((hook, why)),
        }
    }
    let verb = match cmd {
        Command::Install => "installed",
        Command::Uninstall => "removed",
    };
    if ctx.out.json {
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "hooks_dir": dir.display().to_string(),
            (verb): changed,
            "skipped": skipped
                .iter()
                .map(|(hook, why)| json!({"hook": hook, "reason": why}))
                .collect::<Vec<_>>(),
        }));
    } else {
        for hook in &changed {
            crate::outln!("{verb} {}", dir.join(hook).display());
        }
        if changed.is_empty() && skipped.is_empty() {
            ctx.out
                .status(&format!("nothing to do in {}", dir.display()));
        }
    }
    if let Some((hook, why)) = skipped.first() {
        let mut err = Error::failure(
            "hook_skipped",
            format!("left {} alone: {why}", dir.join(hook).display()),
        );
        for (hook, why) in &skipped[1..] {
            err = err.hint(format!("left {} alone: {why}", dir.join(hook).display()));
        }
        if ctx.out.json {
            err = err.reported();
        }
        return Err(err);
    }
    Ok(())
}

/// Where git looks for hooks here: `core.hooksPath` when set, else `<git-dir>/hooks`.
fn hooks_dir() -> Result<PathBuf> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::failure("io", format!("cannot read the current directory: {e}")))?;
    let args: [&std::ffi::OsStr; 3] = [
        "rev-parse".as_ref(),
        "--git-path".as_ref(),
        "hooks".as_ref(),
    ];
    let out = git::run(&cwd, &args).map_err(|e| {
        Error::failure(
            "not_a_repository",
            format!("cannot find the git hooks folder: {e}"),
        )
    })?;
    let path = PathBuf::from(out.trim());
    Ok(if path.is_absolute() {
        path
    } else {
        cwd.join(path)
    })
}

/// The section, in the shell. It runs in a subshell so nothing it sets leaks into the hook,
/// and every command in it ends in `|| :` so it can never change the hook's exit status.
fn section(hook: &str, note: Option<&str>) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "tasks".into());
    let quoted = format!("'{}'", exe.replace('\'', r"'\''"));
    let renew = if hook == "post-commit" {
        "  TASKS_LOCK_TIMEOUT=2 \"$tasks_bin\" heartbeat --here --quiet >/dev/null 2>&1 </dev/null || :\n"
    } else {
        ""
    };
    let note = note.map(|n| format!("{n}\n")).unwrap_or_default();
    format!(
        "{BEGIN}\n\
         # Added by `tasks hooks install`; `tasks hooks uninstall` removes it.\n\
         {note}\
         (\n  \
         unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n  \
         tasks_bin={quoted}\n  \
         command -v \"$tasks_bin\" >/dev/null 2>&1 || tasks_bin=tasks\n  \
         command -v \"$tasks_bin\" >/dev/null 2>&1 || exit 0\n\
         {renew}  \
         \"$tasks_bin\" heartbeat --quiet --fail-on never >/dev/null 2>&1 </dev/null || :\n\
         ) || :\n\
         {END}\n"
    )
}

/// Whether a hook's `#!` line runs a POSIX-style shell, which our section is written in.
fn runs_a_shell(first_line: &str) -> bool {
    let Some(command) = first_line.strip_prefix("#!") else {
        return false;
    };
    let mut words = command.split_whitespace();
    let mut program = words.next().unwrap_or_default();
    if program.ends_with("/env") {
        program = words.find(|w| !w.starts_with('-')).unwrap_or_default();
    }
    let name = program.rsplit('/').next().unwrap_or_default();
    matches!(
        name,
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" | "busybox"
    )
}

/// The text without our section, and the section (when there was one).
fn strip_section(text: &str) -> (String, Option<String>) {
    let Some(start) = text.find(BEGIN) else {
        return (text.to_string(), None);
    };
    let Some(end_at) = text[start..].find(END) else {
        return (text.to_string(), None);
    };
    let mut end = start + end_at + END.len();
    if text[end..].starts_with('\n') {
        end += 1;
    }
    let section = text[start..end].to_string();
    (format!("{}{}", &text[..start], &text[end..]), Some(section))
}

fn install(path: &Path, hook: &str) -> std::result::Result<bool, String> {
    if let Ok(target) = std::fs::read_link(path) {
        return Err(format!(
            "it is a link to {}, shared beyond this hook; add `tasks heartbeat --quiet --fail-on never || true` there yourself",
            target.display()
        ));
    }
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    let new = match &existing {
        None => format!("{SHEBANG}\n{}", section(hook, Some(CREATED))),
        Some(text) => {
            if !is_executable(path) {
                return Err(
                    "it is not executable, so git does not run it; make it executable (or delete it) and install again"
                        .into(),
                );
            }
            let (rest, note) = strip_section(text);
            let first = rest.lines().next().unwrap_or_default();
            if first.starts_with("#!") && !runs_a_shell(first) {
                return Err(format!(
                    "it is not a shell script ({first}); add `tasks heartbeat --quiet --fail-on never || true` to it yourself"
                ));
            }
            // Reinstalling keeps what the first install noted about the file.
            let noted = |mark: &str| note.as_deref().is_some_and(|n| n.contains(mark));
            let carried = if noted(CREATED) {
                Some(CREATED)
            } else if noted(ADDED_EOL) {
                Some(ADDED_EOL)
            } else {
                None
            };
            match rest.find('\n').filter(|_| first.starts_with("#!")) {
                Some(nl) => format!(
                    "{}{}{}",
                    &rest[..=nl],
                    section(hook, carried),
                    &rest[nl + 1..]
                ),
                None if first.starts_with("#!") => {
                    format!("{rest}\n{}", section(hook, Some(ADDED_EOL)))
                }
                None => format!("{}{rest}", section(hook, carried)),
            }
        }
    };
    if existing.as_deref() == Some(new.as_str()) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mode = std::fs::metadata(path).ok().map(|m| m.permissions());
    atomic::write(path, new.as_bytes()).map_err(|e| e.to_string())?;
    set_mode(path, mode).map_err(|e| format!("cannot set its mode: {e}"))?;
    Ok(true)
}

fn uninstall(path: &Path) -> std::result::Result<bool, String> {
    // `install` never writes through a link.
    if std::fs::read_link(path).is_ok() {
        return Ok(false);
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(false);
    };
    let (mut rest, note) = strip_section(&text);
    let Some(note) = note else {
        return Ok(false);
    };
    if note.contains(CREATED) && (rest.trim() == SHEBANG || rest.trim().is_empty()) {
        std::fs::remove_file(path).map_err(|e| format!("cannot remove it: {e}"))?;
        return Ok(true);
    }
    if let Some(nl) = rest.find('\n').filter(|_| note.contains(ADDED_EOL)) {
        rest.remove(nl);
    }
    let mode = std::fs::metadata(path).ok().map(|m| m.permissions());
    atomic::write(path, rest.as_bytes()).map_err(|e| e.to_string())?;
    set_mode(path, mode).map_err(|e| e.to_string())?;
    Ok(true)
}

/// Keeps an existing hook's permissions; a new one is made executable.
#[cfg(unix)]
fn set_mode(path: &Path, old: Option<std::fs::Permissions>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = old.map_or(0o755, |p| p.mode());
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: Option<std::fs::Permissions>) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_are_told_apart_from_other_interpreters() {
        assert!(runs_a_shell("#!/bin/sh"));
        assert!(runs_a_shell("#!/usr/bin/env bash"));
        assert!(runs_a_shell("#!/usr/bin/env -S bash -e"));
        assert!(!runs_a_shell("#!/usr/bin/env python3"));
        assert!(!runs_a_shell("#!/usr/bin/node"));
    }

    #[test]
    fn a_section_comes_out_exactly() {
        let hook = "#!/bin/sh\necho before\n";
        let part = section("post-merge", None);
        let with = format!("#!/bin/sh\n{part}echo before\n");
        assert_eq!(strip_section(&with), (hook.to_string(), Some(part)));
        assert_eq!(strip_section(hook), (hook.to_string(), None));
    }
}
