//! The task model: a typed view over a task file's frontmatter, read leniently.
//!
//! The raw mapping is kept beside the typed fields so unknown keys survive and JSON output
//! can show every key under its own name.

use std::fmt;
use std::str::FromStr;

use serde_norway::{Mapping, Value};
use thiserror::Error;

use super::edit::{EditError, key_spans};
use super::split::{Split, SplitError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Open,
    InProgress,
    InReview,
    Blocked,
    Done,
    Failed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Open,
        Status::InProgress,
        Status::InReview,
        Status::Blocked,
        Status::Done,
        Status::Failed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::InReview => "in_review",
            Status::Blocked => "blocked",
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Finished tasks never return to ready on their own.
    pub fn is_finished(self) -> bool {
        matches!(self, Status::Done | Status::Failed | Status::Cancelled)
    }

    /// A claim is live in these states.
    pub fn is_claimed(self) -> bool {
        matches!(self, Status::InProgress | Status::InReview)
    }
}

impl FromStr for Status {
    type Err = String;
    /// Reads canonical names and the common aliases, case-insensitively.
    fn from_str(s: &str) -> Result<Self, String> {
        let status = match s.trim().to_ascii_lowercase().as_str() {
            "open" | "todo" | "pending" | "ready" | "backlog" => Status::Open,
            "in_progress" | "in-progress" | "doing" | "active" => Status::InProgress,
            "in_review" | "in-review" | "review" => Status::InReview,
            "blocked" => Status::Blocked,
            "done" | "completed" | "closed" | "resolved" => Status::Done,
            "failed" => Status::Failed,
            "cancelled" | "canceled" => Status::Cancelled,
            _ => {
                let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                return Err(format!(
                    "unknown status `{}` (expected one of {})",
                    shown(s),
                    names.join(", ")
                ));
            }
        };
        Ok(status)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Task,
    Bug,
    Feature,
    Chore,
    Epic,
    Placeholder,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Task,
        Kind::Bug,
        Kind::Feature,
        Kind::Chore,
        Kind::Epic,
        Kind::Placeholder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Bug => "bug",
            Kind::Feature => "feature",
            Kind::Chore => "chore",
            Kind::Epic => "epic",
            Kind::Placeholder => "placeholder",
        }
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == lower)
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown type `{}` (expected one of {})",
                    shown(s),
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task as read from its frontmatter.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub priority: u8,
    pub kind: Kind,
    pub owner: Option<String>,
    pub assignee: Option<String>,
    pub labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<String>,
    pub attempts: u32,
    pub max_attempts: Option<u32>,
    pub failed_agents: Vec<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub created_at: Option<String>,
    /// Every key as written, in file order.
    pub raw: Mapping,
}

pub const DEFAULT_PRIORITY: u8 = 2;

/// Why a task file is not a valid task. `line` is relative to the file (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl From<SplitError> for ParseError {
    fn from(e: SplitError) -> Self {
        ParseError {
            line: e.line(),
            message: e.to_string(),
        }
    }
}

/// The longest id accepted. An id names files (`<id>.md`, its lease, temp files beside it),
/// and file names are limited to 255 bytes.
pub const MAX_ID_LEN: usize = 128;

/// Checks an id's shape: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most `MAX_ID_LEN` long, so it can
/// never be a path.
pub fn valid_id(id: &str) -> bool {
    id.len() <= MAX_ID_LEN && valid_shape(id)
}

fn valid_shape(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Why `id` cannot be an id, in words, or `None` when it can.
pub fn id_problem(id: &str) -> Option<String> {
    if valid_id(id) {
        return None;
    }
    let shown = shown(id);
    if valid_shape(id) {
        return Some(format!(
            "invalid id `{shown}`: it is {} characters long; the most is {MAX_ID_LEN}",
            id.len()
        ));
    }
    Some(format!(
        "invalid id `{shown}`: use letters, digits, `.`, `_` and `-`, starting with a letter or digit"
    ))
}

/// Text from a file or an argument as a message can show it: on one line, control characters
/// escaped, and cut short when long.
pub fn shown(text: &str) -> String {
    const MAX: usize = 40;
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == MAX {
            out.push('…');
            break;
        }
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl Task {
    /// Parses the frontmatter of a split file into a task.
    pub fn parse(parts: &Split<'_>) -> Result<Task, ParseError> {
        let first_line = Split::FRONTMATTER_FIRST_LINE;
        if let Some(line) = super::yaml::flow_too_deep(parts.frontmatter) {
            return Err(ParseError {
                line: line + first_line - 1,
                message: format!(
                    "invalid YAML: lists or mappings nested more than {} deep",
                    super::yaml::MAX_FLOW_DEPTH
                ),
            });
        }
        let raw = match super::yaml::parse(parts.frontmatter) {
            Ok(Value::Mapping(m)) => m,
            Ok(Value::Null) => Mapping::new(),
            Ok(_) => {
                return Err(ParseError {
                    line: first_line,
                    message: EditError::NotAMapping.to_string(),
                });
            }
            Err(err) => return Err(yaml_error(parts.frontmatter, &err)),
        };
        // Line numbers are needed only for an error, so the key lines are found only then.
        let line_of = |key: &str| {
            key_spans(parts.frontmatter)
                .iter()
                .find(|s| s.key == key)
                .map_or(first_line, |s| s.line + first_line)
        };
        let fields = Fields {
            raw: &raw,
            line_of: &line_of,
        };

        let id = fields.string("id")?.ok_or(ParseError {
            line: 1,
            message: "missing required key `id`".into(),
        })?;
        if let Some(problem) = id_problem(&id) {
            return Err(fields.error("id", problem));
        }
        let status = match fields.string("status")? {
            None => Status::Open,
            Some(s) => s.parse().map_err(|m| fields.error("status", m))?,
        };
        let kind = match fields.string("type")? {
            None => Kind::Task,
            Some(s) => s.parse().map_err(|m| fields.error("type", m))?,
        };
        let priority = match fields.int("priority")? {
            None => DEFAULT_PRIORITY,
            Some(p @ 0..=4) => p as u8,
            Some(p) => {
                return Err(fields.error(
                    "priority",
                    format!("priority {p} is out of range 0 (highest) to 4"),
                ));
            }
        };
        let attempts = fields.int("attempts")?.unwrap_or(0);
        let max_attempts = fields.int("max_attempts")?;
        let to_u32 = |key: &str, n: i64| {
            u32::try_from(n)
                .map_err(|_| fields.error(key, format!("`{key}` must be a number from 0 up")))
        };
        Ok(Task {
            title: fields.string("title")?.unwrap_or_default(),
            status,
            priority,
            kind,
            owner: fields.string("owner")?,
            assignee: fields.string("assignee")?,
            labels: fields.list("labels")?,
            depends_on: fields.list("depends_on")?,
            claimed_by: fields.string("claimed_by")?,
            claimed_at: fields.string("claimed_at")?,
            attempts: to_u32("attempts", attempts)?,
            max_attempts: max_attempts
                .map(|n| to_u32("max_attempts", n))
                .transpose()?,
            failed_agents: fields.list("failed_agents")?,
            outcome: fields.string("outcome")?,
            reason: fields.string("reason")?,
            created_at: fields.string("created_at")?,
            id,
            raw,
        })
    }

    /// A string value of any key, as written.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.raw.get(key).and_then(Value::as_str)
    }
}

/// A YAML error as `path:line: reason` wants it: the line in the file, the reason without the
/// parser's own position. A duplicate key is reported where it is repeated, not where the
/// mapping starts.
fn yaml_error(frontmatter: &str, err: &serde_norway::Error) -> ParseError {
    let first_line = Split::FRONTMATTER_FIRST_LINE;
    let message = strip_location(&err.to_string()).to_string();
    if message.starts_with("duplicate entry with key") {
        let spans = key_spans(frontmatter);
        let repeated = spans.iter().enumerate().find_map(|(i, s)| {
            let first = spans[..i].iter().find(|p| p.key == s.key)?;
            Some((s, first))
        });
        if let Some((again, first)) = repeated {
            return ParseError {
                line: again.line + first_line,
                message: format!(
                    "invalid YAML: duplicate key `{}` (first on line {})",
                    shown(&again.key),
                    first.line + first_line
                ),
            };
        }
    }
    let line = err
        .location()
        .map_or(first_line, |l| l.line() + first_line - 1);
    let at = frontmatter
        .lines()
        .nth(line - first_line)
        .unwrap_or_default();
    let message = if tab_indented(at) {
        TAB_INDENT.to_string()
    } else {
        message
    };
    ParseError {
        line,
        message: format!("invalid YAML: {message}"),
    }
}

/// The reason given for a line indented with a tab, which YAML parsers report obscurely.
pub const TAB_INDENT: &str = "a tab in the indentation (YAML indents with spaces only)";

/// Does this line's indentation hold a tab?
pub fn tab_indented(line: &str) -> bool {
    line.chars()
        .take_while(|c| c.is_whitespace())
        .any(|c| c == '\t')
}

/// serde_norway appends " at line L column C" to its messages; we report the line ourselves.
fn strip_location(message: &str) -> &str {
    message.find(" at line ").map_or(message, |i| &message[..i])
}

struct Fields<'a> {
    raw: &'a Mapping,
    line_of: &'a dyn Fn(&str) -> usize,
}

impl Fields<'_> {
    fn error(&self, key: &str, message: String) -> ParseError {
        ParseError {
            line: (self.line_of)(key),
            message,
        }
    }

    /// A scalar read as text: strings as they are, numbers and booleans by their spelling.
    fn string(&self, key: &str) -> Result<Option<String>, ParseError> {
        match self.raw.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(self.error(
                key,
                format!("`{key}` must be a single value, not a list or mapping"),
            )),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i64>, ParseError> {
        match self.raw.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().ok()),
            Some(other) => Err(self.error(
                key,
                format!(
                    "`{key}` must be a whole number, not `{}`",
                    super::yaml::render(other)
                ),
            )),
        }
    }

    /// A list of strings; a single scalar reads as a one-item list.
    fn list(&self, key: &str) -> Result<Vec<String>, ParseError> {
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        match self.raw.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|v| {
                    scalar(v).ok_or_else(|| {
                        self.error(key, format!("`{key}` must be a list of plain values"))
                    })
                })
                .collect(),
            Some(v) => scalar(v)
                .map(|s| vec![s])
                .ok_or_else(|| self.error(key, format!("`{key}` must be a list"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::split::split;

    fn parse(text: &str) -> Result<Task, ParseError> {
        Task::parse(&split(text)?)
    }

    #[test]
    fn reads_the_design_example() {
        let t = parse(
            "---\nid: T-7k2m\ntitle: Fix queue race\nstatus: todo\npriority: 1\ntype: bug\n\
             owner: role:backend\nlabels: [pool, concurrency]\ndepends_on: [T-3b9x]\nextra: kept\n---\nbody\n",
        )
        .unwrap();
        assert_eq!(t.id, "T-7k2m");
        assert_eq!(t.status, Status::Open);
        assert_eq!(t.priority, 1);
        assert_eq!(t.kind, Kind::Bug);
        assert_eq!(t.labels, ["pool", "concurrency"]);
        assert_eq!(t.depends_on, ["T-3b9x"]);
        assert_eq!(t.get_str("extra"), Some("kept"));
    }

    #[test]
    fn aliases_read_leniently() {
        for (alias, status) in [
            ("pending", Status::Open),
            ("Backlog", Status::Open),
            ("completed", Status::Done),
            ("resolved", Status::Done),
            ("in-progress", Status::InProgress),
            ("doing", Status::InProgress),
            ("review", Status::InReview),
        ] {
            assert_eq!(alias.parse::<Status>().unwrap(), status);
        }
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("---\nid: a\nstatus: wip\n---\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("unknown status `wip`"));
        let e = parse("---\ntitle: x\n---\n").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (1, "missing required key `id`")
        );
        let e = parse("---\nid: a\ntitle: [unclosed\n---\n").unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{e}");
        assert!(e.line >= 3, "{e:?}");
        let e = parse("---\nid: a\npriority: 9\n---\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("---\nid: ../etc\n---\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("---\nid: a\nid: b\n---\n").unwrap_err();
        assert!(e.message.contains("duplicate"), "{e}");
        let e = parse("---\nid: a\ntitle: x\n# c\ntitle: y\n---\n").unwrap_err();
        assert_eq!(e.line, 5, "{e:?}");
        assert_eq!(
            e.message,
            "invalid YAML: duplicate key `title` (first on line 3)"
        );
        let e = parse(&format!("---\nid: a\nx: {}\n---\n", "[".repeat(65))).unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
        assert!(e.message.contains("nested more than 64 deep"), "{e}");
    }

    #[test]
    fn ids_are_short_plain_names() {
        assert!(valid_id("T-7k2m") && valid_id("a.b_c-d") && valid_id(&"a".repeat(MAX_ID_LEN)));
        for bad in ["", "-x", ".x", "a/b", "..", "../x", "a b", "a\u{1}b", "é"] {
            assert!(!valid_id(bad), "{bad:?}");
        }
        let long = "a".repeat(10_240);
        assert!(!valid_id(&long));
        let problem = id_problem(&long).unwrap();
        assert!(
            problem.contains("10240 characters long; the most is 128"),
            "{problem}"
        );
        assert!(problem.len() < 200, "the id is shown cut short: {problem}");
        let problem = id_problem("a\u{1}b\x1b[31m").unwrap();
        assert!(
            problem.starts_with("invalid id `a\\u{1}b\\u{1b}[31m`"),
            "{problem}"
        );
        assert!(!problem.chars().any(char::is_control));
        let e = parse(&format!("---\nid: {long}\n---\n")).unwrap_err();
        assert_eq!(e.line, 2);
    }
}
