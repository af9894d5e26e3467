//! Running commands for the definition of done (`done.checks`) and for workers (`tasks exec`):
//! output streamed through as it comes and its last lines kept, a bound on the time, and the
//! whole process group stopped when the time is up.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How many of the last output lines are kept, and how long each may be.
const TAIL_LINES: usize = 20;
const TAIL_LINE_CHARS: usize = 400;

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signalled(i32),
    TimedOut,
    CouldNotStart(String),
}

impl Ended {
    pub fn passed(&self) -> bool {
        *self == Ended::Exited(0)
    }

    /// The exit code a shell would report: the status, or 128 + the signal.
    pub fn code(&self) -> i32 {
        match self {
            Ended::Exited(c) => *c,
            Ended::Signalled(s) => 128 + s,
            Ended::TimedOut => 124,
            Ended::CouldNotStart(_) => 127,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Ended::Exited(c) => format!("exited {c}"),
            Ended::Signalled(s) => format!("was killed by signal {s}"),
            Ended::TimedOut => "did not finish in time and was stopped".into(),
            Ended::CouldNotStart(e) => format!("could not start: {e}"),
        }
    }
}

/// What one run of a command came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub ended: Ended,
    /// The process id it ran as (none when it could not start).
    pub pid: Option<u32>,
    pub seconds: f64,
    /// The last lines it printed (stdout and stderr, as they came).
    pub tail: Vec<String>,
}

/// Where a command's standard output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Out {
    Stdout,
    Stderr,
}

/// Runs `cmd` in its own process group (so everything it starts can be stopped together,
/// with `kill_group(pid)`), its output teed to ours, calling `tick` with its pid about ten
/// times a second while it runs. With a `timeout`, the whole group is killed when it passes.
pub fn run(
    mut cmd: Command,
    stdout_to: Out,
    timeout: Option<Duration>,
    mut tick: impl FnMut(u32),
) -> Outcome {
    let started = Instant::now();
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Outcome {
                ended: Ended::CouldNotStart(e.to_string()),
                pid: None,
                seconds: 0.0,
                tail: Vec::new(),
            };
        }
    };
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let (done_tx, done_rx) = mpsc::channel();
    let mut readers = 0;
    if let Some(out) = child.stdout.take() {
        readers += 1;
        tee(out, stdout_to, Arc::clone(&tail), done_tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        readers += 1;
        tee(err, Out::Stderr, Arc::clone(&tail), done_tx.clone());
    }
    let pid = child.id();
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                break match (status.code(), status.signal()) {
                    (Some(c), _) => Ended::Exited(c),
                    (None, Some(s)) => Ended::Signalled(s),
                    (None, None) => Ended::Exited(1),
                };
            }
            Ok(None) if timeout.is_some_and(|t| started.elapsed() >= t) => {
                kill_group(pid);
                let _ = child.kill();
                let _ = child.wait();
                break Ended::TimedOut;
            }
            Ok(None) => {
                tick(pid);
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => break Ended::CouldNotStart(e.to_string()),
        }
    };
    // The pipes close when the last process holding them exits; something it left running
    // in the background may hold them longer, so the wait for the last output is bounded.
    for _ in 0..readers {
        if done_rx.recv_timeout(Duration::from_secs(2)).is_err() {
            break;
        }
    }
    let tail = tail
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    Outcome {
        ended,
        pid: Some(pid),
        seconds: started.elapsed().as_secs_f64(),
        tail,
    }
}

/// Copies `from` to our stdout or stderr as it comes, keeping the last lines.
fn tee(
    from: impl Read + Send + 'static,
    to: Out,
    tail: Arc<Mutex<VecDeque<String>>>,
    done: mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let _ = match to {
                        Out::Stdout => std::io::stdout().lock().write_all(&line),
                        Out::Stderr => std::io::stderr().lock().write_all(&line),
                    };
                    let text = String::from_utf8_lossy(&line);
                    let text: String = text.trim_end().chars().take(TAIL_LINE_CHARS).collect();
                    if let Ok(mut t) = tail.lock() {
                        if t.len() == TAIL_LINES {
                            t.pop_front();
                        }
                        t.push_back(text);
                    }
                }
            }
        }
        let _ = done.send(());
    });
}

/// Stops every process in the group `pgid` (the command and what it started).
pub fn kill_group(pgid: u32) {
    signal_group(pgid, "KILL");
}

/// Sends `signal` (`TERM`, `INT`, `KILL`, …) to every process in the group `pgid`.
pub fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), "--".into(), format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Runs a done check with `sh -c` in `dir`. Its output goes to our stderr, so stdout stays the
/// command's result (one id, or one JSON document).
pub fn run_check(check: &str, dir: &Path, timeout: Duration) -> Outcome {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(check)
        .current_dir(dir)
        .stdin(Stdio::null());
    run(cmd, Out::Stderr, Some(timeout), |_| {})
}

/// The commit checked out in `dir`, if it is in a git repository with one.
pub fn head_commit(dir: &Path) -> Option<String> {
    let repo = git2::Repository::discover(dir).ok()?;
    let commit = repo.head().ok()?.peel_to_commit().ok()?;
    Some(commit.id().to_string())
}
