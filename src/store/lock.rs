//! The exclusive state lock: one OS file lock on `<state>/lock`, taken with a timeout.
//!
//! The lock file is never deleted; the OS releases the lock when the holder exits or dies,
//! so a crashed agent can never wedge the store.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::error::{Error, Kind, Result};

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

/// Blocks until the lock is ours or `timeout` passes, then fails with exit code 5.
///
/// The blocking `File::lock` runs on a helper thread so the wait can be bounded without
/// polling: waiters queue in the kernel and wake as soon as the holder lets go.
pub fn acquire(path: &Path, timeout: Duration, announce: impl Fn(&Path)) -> Result<LockGuard> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| {
            Error::failure(
                "io",
                format!("cannot open lock file {}: {e}", path.display()),
            )
        })?;
    match file.try_lock() {
        Ok(()) => return Ok(LockGuard { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => {}
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Error::failure(
                "io",
                format!("cannot lock {}: {e}", path.display()),
            ));
        }
    }
    announce(path);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = file.lock().map(|()| file);
        // The receiver is gone if we timed out; the process is exiting then anyway.
        let _ = tx.send(result);
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(file)) => Ok(LockGuard { _file: file }),
        Ok(Err(e)) => Err(Error::failure(
            "io",
            format!("cannot lock {}: {e}", path.display()),
        )),
        Err(_) => Err(timeout_error(path, timeout)),
    }
}

fn timeout_error(path: &Path, timeout: Duration) -> Error {
    Error::new(
        Kind::LockTimeout,
        "lock_timeout",
        format!(
            "timed out after {:.1}s waiting for the lock on {}",
            timeout.as_secs_f64(),
            path.display()
        ),
    )
    .hint("another tasks command is holding it; it is released when that command ends")
    .hint("raise TASKS_LOCK_TIMEOUT (seconds) to wait longer")
}

/// The lock timeout: `TASKS_LOCK_TIMEOUT` seconds (fractions allowed), default 10.
pub fn timeout_from_env() -> Result<Duration> {
    match std::env::var("TASKS_LOCK_TIMEOUT") {
        Err(_) => Ok(Duration::from_secs(10)),
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| {
                Error::failure(
                    "invalid_input",
                    format!(
                        "TASKS_LOCK_TIMEOUT must be a number of seconds (0 or more, within reason), not `{v}`"
                    ),
                )
            }),
    }
}

pub fn lock_path(state_dir: &Path) -> PathBuf {
    state_dir.join("lock")
}
