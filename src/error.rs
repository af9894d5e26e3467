//! The one error type of the command layer: a kind that maps to an exit code, a stable code
//! for JSON, a message, and hints.

use std::fmt;

/// The exit codes, exactly as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 1: bad input, a parse failure, I/O.
    Failure,
    /// 2: the command line itself is wrong.
    Usage,
    /// 3: held by another, or a transition that is not allowed.
    Conflict,
    /// 4: nothing is ready to claim.
    NothingReady,
    /// 5: the state lock could not be taken in time.
    LockTimeout,
    /// 6: a `done.checks` command failed.
    ChecksFailed,
    /// 7: a sweep found signals at or above `--fail-on`. The report itself is the output.
    Signals,
    /// `tasks exec` exits with its worker's status.
    Worker(u8),
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Failure => 1,
            Kind::Usage => 2,
            Kind::Conflict => 3,
            Kind::NothingReady => 4,
            Kind::LockTimeout => 5,
            Kind::ChecksFailed => 6,
            Kind::Signals => 7,
            Kind::Worker(code) => code,
        }
    }
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    /// A stable machine-readable code, e.g. `held_by_other`, `not_found`.
    pub code: &'static str,
    pub message: String,
    pub hints: Vec<String>,
    /// The command already printed its result (a report, a JSON document); only the exit code
    /// and a line on stderr remain to be said.
    pub reported: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        Error {
            kind,
            code,
            message: message.into(),
            hints: Vec::new(),
            reported: false,
        }
    }

    pub fn failure(code: &'static str, message: impl Into<String>) -> Self {
        Error::new(Kind::Failure, code, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(Kind::Usage, "usage", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::new(Kind::Conflict, code, message)
    }

    /// Marks the error as coming after the command's own output (see `reported`).
    pub fn reported(mut self) -> Self {
        self.reported = true;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// I/O and other unexpected failures arrive as `anyhow` errors with context; show the chain.
impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        let message = e
            .chain()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(": ");
        Error::failure("io", message)
    }
}
