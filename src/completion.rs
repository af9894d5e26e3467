//! Shell completion: the script `tasks completions SHELL` prints, and the answers the binary
//! gives when that script asks it, through `TASKS_COMPLETE`, what may come next on a line.
//!
//! Completion follows the clap definition itself (clap_complete's engine), so it can never
//! disagree with the parser. Task ids and statuses are listed from the task files at the
//! moment of the request. A request never fails noisily: anything that goes wrong while
//! listing ids (no repository, a broken config) gives no candidates and prints nothing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{Bash, CompleteEnv, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use crate::store::{Locate, Store};
use crate::task::Status;

/// The environment variable that turns a run into a completion request; its value names the
/// shell. A name of our own, so a `COMPLETE` set for some other program changes nothing here.
pub const VAR: &str = "TASKS_COMPLETE";

/// The shells a completion script can be printed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

/// Answers a completion request when this run is one (`TASKS_COMPLETE` is set), and returns
/// the exit code; `None` for an ordinary run, which then costs one environment lookup and no
/// clap `Command` is built for completion.
pub fn answer(args: &[OsString]) -> Option<ExitCode> {
    let shell = std::env::var_os(VAR)?;
    if shell.is_empty() || shell == "0" {
        return None;
    }
    // Whatever happens while listing candidates, the shell's line must not fill with noise.
    std::panic::set_hook(Box::new(|_| {}));
    let cwd = std::env::current_dir().ok();
    let request = CompleteEnv::with_factory(crate::cli::Cli::command)
        .var(VAR)
        .bin("tasks")
        .try_complete(args.to_vec(), cwd.as_deref());
    match request {
        Ok(true) => Some(ExitCode::SUCCESS),
        Ok(false) => None,
        Err(e) => {
            let _ = e.print();
            Some(ExitCode::from(2))
        }
    }
}

/// The script that registers completion for `tasks` in `shell`. It calls `completer` (the
/// program to run, as the user started this one) with `TASKS_COMPLETE` set.
pub fn script(shell: Shell, completer: &str) -> Vec<u8> {
    let adapter: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Elvish => &Elvish,
        Shell::Powershell => &Powershell,
    };
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = adapter.write_registration(VAR, "tasks", "tasks", completer, &mut buf);
    buf
}

/// The program a completion script should call: `tasks` when this one was found on `PATH`,
/// else the absolute path of this binary.
pub fn completer() -> String {
    let arg0 = std::env::args_os().next().unwrap_or_else(|| "tasks".into());
    if Path::new(&arg0).components().count() <= 1 {
        return arg0.to_string_lossy().into_owned();
    }
    std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| arg0.to_string_lossy().into_owned())
}

/// Completes an argument that may name any task.
pub fn any_task() -> ArgValueCandidates {
    ArgValueCandidates::new(task_ids)
}

/// Completes an argument that names a task to act on: unfinished tasks first.
pub fn live_task() -> ArgValueCandidates {
    ArgValueCandidates::new(live_task_ids)
}

/// Completes an argument that takes a status.
pub fn status() -> ArgValueCandidates {
    ArgValueCandidates::new(statuses)
}

/// Every task id, with its title as the description, for arguments that may name any task
/// (`show`, `reopen`, `dep tree`, …).
pub fn task_ids() -> Vec<CompletionCandidate> {
    candidates(false)
}

/// Task ids for lifecycle commands: the same list, finished tasks offered only when no
/// unfinished one matches what was typed.
pub fn live_task_ids() -> Vec<CompletionCandidate> {
    candidates(true)
}

/// The canonical statuses.
pub fn statuses() -> Vec<CompletionCandidate> {
    Status::ALL
        .iter()
        .map(|s| CompletionCandidate::new(s.as_str()))
        .collect()
}

fn candidates(hide_finished: bool) -> Vec<CompletionCandidate> {
    let Some(store) = store_for_request() else {
        return Vec::new();
    };
    let mut tasks: Vec<_> = store.scan().tasks.into_iter().map(|e| e.task).collect();
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    tasks
        .into_iter()
        .map(|t| {
            let finished = t.status.is_finished();
            CompletionCandidate::new(t.id.clone())
                .help(Some(t.title().to_string().into()))
                .hide(hide_finished && finished)
        })
        .collect()
}

/// The store the line being completed points at: `-C`, `--dir` and `--local` on the line (or
/// `TASKS_DIR`), as the finished command would see them. `None` when there is none.
fn store_for_request() -> Option<Store> {
    let args: Vec<OsString> = std::env::args_os().collect();
    // The shell passes the words of the line after `--`.
    let words = match args.iter().position(|a| a == "--") {
        Some(i) => &args[i + 1..],
        None => &args[..0],
    };
    let on_line = Flags::from_words(words);
    if let Some(dir) = &on_line.chdir {
        std::env::set_current_dir(dir).ok()?;
    }
    let dir = on_line.dir.or_else(|| {
        std::env::var_os("TASKS_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    });
    Store::open(&Locate {
        dir,
        local: on_line.local,
    })
    .ok()
}

/// The global flags that say where the tasks are, read from the words of a command line.
#[derive(Debug, Default, PartialEq, Eq)]
struct Flags {
    chdir: Option<PathBuf>,
    dir: Option<PathBuf>,
    local: bool,
}

impl Flags {
    fn from_words(words: &[OsString]) -> Flags {
        let mut flags = Flags::default();
        let mut words = words.iter().skip(1).map(|w| w.to_string_lossy());
        while let Some(word) = words.next() {
            match word.as_ref() {
                // Everything after `--` belongs to a worker (`tasks exec … -- CMD`).
                "--" => break,
                "--local" => flags.local = true,
                "--dir" => flags.dir = words.next().map(|w| PathBuf::from(w.as_ref())),
                "-C" => flags.chdir = words.next().map(|w| PathBuf::from(w.as_ref())),
                w => {
                    if let Some(dir) = w.strip_prefix("--dir=") {
                        flags.dir = Some(PathBuf::from(dir));
                    } else if let Some(dir) = w.strip_prefix("-C").filter(|d| !d.is_empty()) {
                        flags.chdir = Some(PathBuf::from(dir));
                    }
                }
            }
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn the_flags_that_locate_the_store_are_read_from_the_line() {
        assert_eq!(Flags::from_words(&words("tasks show T-")), Flags::default());
        assert_eq!(
            Flags::from_words(&words("tasks -C ../other --dir=x show --local T-")),
            Flags {
                chdir: Some("../other".into()),
                dir: Some("x".into()),
                local: true,
            }
        );
        assert_eq!(
            Flags::from_words(&words("tasks -C/a --dir b exec T- -- -C c --dir d")),
            Flags {
                chdir: Some("/a".into()),
                dir: Some("b".into()),
                local: false,
            }
        );
    }

    #[test]
    fn every_shell_gets_a_script_that_calls_back_with_the_variable() {
        use clap::ValueEnum;
        for shell in Shell::value_variants() {
            let text = String::from_utf8(script(*shell, "tasks")).unwrap();
            assert!(text.contains(VAR), "{shell:?}:\n{text}");
        }
    }
}
