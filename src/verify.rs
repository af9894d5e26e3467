//! Definition of done: the `done.checks` commands, run in the claimant's worktree.

use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    Passed,
    Failed(Option<i32>),
    TimedOut,
    CouldNotStart(String),
}

/// Runs `check` with `sh -c` in `dir`. Its output goes to our stderr, so stdout stays the
/// command's result (one id, or one JSON document).
pub fn run_check(check: &str, dir: &Path, timeout: Duration) -> CheckResult {
    let stdout_to_stderr = match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Stdio::from(fd),
        Err(e) => return CheckResult::CouldNotStart(e.to_string()),
    };
    let mut child = match Command::new("sh")
        .arg("-c")
        .arg(check)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stdout_to_stderr)
        // Its own process group, so a timeout can stop everything the check started.
        .process_group(0)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return CheckResult::CouldNotStart(e.to_string()),
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return CheckResult::Passed,
            Ok(Some(status)) => return CheckResult::Failed(status.code()),
            Ok(None) if started.elapsed() >= timeout => {
                let group = format!("-{}", child.id());
                let killed = Command::new("kill")
                    .args(["-KILL", "--", &group])
                    .stderr(Stdio::null())
                    .status();
                if !killed.is_ok_and(|s| s.success()) {
                    let _ = child.kill();
                }
                let _ = child.wait();
                return CheckResult::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return CheckResult::CouldNotStart(e.to_string()),
        }
    }
}

/// The commit checked out in `dir`, if it is in a git repository with one.
pub fn head_commit(dir: &Path) -> Option<String> {
    let repo = git2::Repository::discover(dir).ok()?;
    let commit = repo.head().ok()?.peel_to_commit().ok()?;
    Some(commit.id().to_string())
}
