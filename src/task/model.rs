//! The task model: a typed view over a task file's frontmatter, read leniently.
//!
//! The raw mapping is kept beside the typed fields so unknown keys survive and JSON output
//! can show every key under its own name.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde_norway::{Mapping, Value};
use thiserror::Error;

use super::edit::{EditError, key_spans, parse_mapping};
use super::fast;
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
        // Names are short: lower-cased on the stack.
        let mut lower = [0u8; 16];
        let name = s.trim().as_bytes();
        let name = match lower.get_mut(..name.len()) {
            Some(buf) => {
                buf.copy_from_slice(name);
                buf.make_ascii_lowercase();
                &*buf
            }
            None => b"",
        };
        let status = match name {
            b"open" | b"todo" | b"pending" | b"ready" | b"backlog" => Status::Open,
            b"in_progress" | b"in-progress" | b"doing" | b"active" => Status::InProgress,
            b"in_review" | b"in-review" | b"review" => Status::InReview,
            b"blocked" => Status::Blocked,
            b"done" | b"completed" | b"closed" | b"resolved" => Status::Done,
            b"failed" => Status::Failed,
            b"cancelled" | b"canceled" => Status::Cancelled,
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
        let name = s.trim();
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
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
///
/// The typed fields are read once; every other key is looked up in the frontmatter text when
/// a command asks for it, so a scan of many tasks keeps one string per task, not a tree.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    title: Text,
    pub status: Status,
    pub priority: u8,
    pub kind: Kind,
    owner: Text,
    assignee: Text,
    labels: Text,
    depends_on: Text,
    claimed_by: Text,
    outcome: Text,
    created_at: Text,
    /// The frontmatter as written.
    front: Box<str>,
    /// The typed strings that are not written in the frontmatter as they read (numbers,
    /// escaped strings): usually empty.
    /// What only some tasks need (the typed strings not written as they read, the parsed
    /// mapping of a frontmatter `fast` cannot read), kept apart: a task's size matters when
    /// there are a hundred thousand of them.
    extra: Option<Box<Extra>>,
    /// Whether every value is in the subset `fast` reads (so keys can be looked up in the
    /// text); otherwise the full mapping is parsed once, on first use.
    simple: bool,
    /// Of a simple frontmatter, bit [`key_bit`] of every key it has: a key whose bit is clear
    /// is not there, and is known to be missing without reading the text again (which, among
    /// many tasks, is a fetch from memory).
    keys: u32,
}

/// The bit that stands for `key` in [`Task::keys`]: its own for the keys this tool reads and
/// writes, one shared by all others.
#[inline(always)]
fn key_bit(key: &str) -> u32 {
    key_bit_at(slot(key), key)
}

/// [`key_bit`] of a key whose typed slot (`at`) is known already.
#[inline(always)]
fn key_bit_at(at: Option<usize>, key: &str) -> u32 {
    match at {
        Some(i) => 1 << i,
        None => other_key_bit(key),
    }
}

const _: () = assert!(
    TYPED_KEYS + 12 <= 31,
    "each key needs a bit of its own below 31"
);

/// [`key_bit`] of a key that is not typed.
#[inline(always)]
fn other_key_bit(key: &str) -> u32 {
    1 << match key {
        "updated_at" => TYPED_KEYS,
        "worktree" => TYPED_KEYS + 1,
        "branch" => TYPED_KEYS + 2,
        "verified" => TYPED_KEYS + 3,
        "assigned_at" => TYPED_KEYS + 4,
        "outcome_at" => TYPED_KEYS + 5,
        "outcome_by" => TYPED_KEYS + 6,
        "reviewed_at" => TYPED_KEYS + 7,
        "reviewed_by" => TYPED_KEYS + 8,
        "pr_url" => TYPED_KEYS + 9,
        "pr_number" => TYPED_KEYS + 10,
        "commit" => TYPED_KEYS + 11,
        _ => 31,
    }
}

#[derive(Debug, Clone, Default)]
struct Extra {
    own: String,
    full: OnceLock<Mapping>,
    attempts: u32,
    max_attempts: Option<u32>,
    failed_agents: Box<[String]>,
    /// `labels` and `depends_on` when they are not one-line lists of strings as written.
    labels: Box<[String]>,
    depends_on: Box<[String]>,
}

/// Where a typed string lives, in eight bytes: a range of the frontmatter when it is written
/// there as it reads (the usual case), else a range of the task's `own` text; or nowhere.
#[derive(Debug, Clone, Copy)]
struct Text {
    start: u32,
    len: u32,
}

impl Text {
    const NONE: Text = Text {
        start: 0,
        len: u32::MAX,
    };
    /// Set in `start` for a range of `own`.
    const OWN: u32 = 1 << 31;
    /// A list field kept whole in [`Extra`].
    const LIST_IN_EXTRA: Text = Text {
        start: 0,
        len: u32::MAX - 1,
    };
}

/// A list field of a task (`labels`, `depends_on`): usually read from the frontmatter's
/// text, item by item, with no copy.
#[derive(Debug, Clone, Copy)]
pub enum List<'a> {
    /// The inside of a one-line flow list, each item written as it reads.
    Written(&'a str),
    /// Items read another way (a block list, quoted items).
    Kept(&'a [String]),
}

impl<'a> List<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + Clone + use<'a> {
        let (written, kept) = match *self {
            List::Written(inner) => (Some(fast::flow_items(inner)), None),
            List::Kept(items) => (None, Some(items.iter().map(String::as_str))),
        };
        written
            .into_iter()
            .flatten()
            .chain(kept.into_iter().flatten())
    }

    pub fn is_empty(&self) -> bool {
        match self {
            List::Written(inner) => inner.is_empty(),
            List::Kept(items) => items.is_empty(),
        }
    }

    pub fn contains(&self, item: &str) -> bool {
        self.iter().any(|i| i == item)
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl PartialEq for Task {
    fn eq(&self, other: &Task) -> bool {
        // Everything else is read from the frontmatter.
        self.front == other.front
    }
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
        let front = parts.frontmatter;
        // Each value of a simple frontmatter is classified once: a string as written, or
        // other text (a number, a list, null) read when its key is asked for.
        let mut slots: [Option<Raw<'_>>; TYPED_KEYS] = Default::default();
        let mut others = Keys::default();
        let mut simple = true;
        let mut keys = 0;
        let read_whole = fast::each_line(front, |l| {
            if !simple {
                return;
            }
            let at = slot(l.key);
            keys |= key_bit_at(at, l.key);
            let list = match at {
                Some(LABELS | DEPENDS_ON) => match fast::flow_list_as_written(l.value) {
                    Some(inner) => Some(Raw::Flow(inner)),
                    None => fast::flow_list(l.value).map(Raw::List),
                },
                Some(FAILED_AGENTS) => fast::flow_list(l.value).map(Raw::List),
                _ => None,
            };
            let raw = match list {
                Some(list) => list,
                None => match fast::str_value(l.value) {
                    Some(Some(s)) => Raw::Str(s),
                    Some(None) => Raw::Text(l.value),
                    None => {
                        simple = false;
                        return;
                    }
                },
            };
            // A repeated key is the full parser's to report.
            match at {
                Some(i) if slots[i].is_none() => slots[i] = Some(raw),
                Some(_) => simple = false,
                None => simple &= others.insert(l.key),
            }
        });
        simple &= read_whole;
        if !simple {
            slots = Default::default();
            if let Some(line) = super::yaml::flow_too_deep(front) {
                return Err(ParseError {
                    line: line + first_line - 1,
                    message: format!(
                        "invalid YAML: lists or mappings nested more than {} deep",
                        super::yaml::MAX_FLOW_DEPTH
                    ),
                });
            }
            let raw = match super::yaml::parse(front) {
                Ok(Value::Mapping(m)) => m,
                Ok(Value::Null) => Mapping::new(),
                Ok(_) => {
                    return Err(ParseError {
                        line: first_line,
                        message: EditError::NotAMapping.to_string(),
                    });
                }
                Err(err) => return Err(yaml_error(front, &err)),
            };
            for (k, v) in raw {
                if let Value::String(k) = k
                    && let Some(i) = slot(&k)
                {
                    slots[i] = Some(Raw::Value(Box::new(v)));
                }
            }
        }
        // Line numbers are needed only for an error, so the key lines are found only then.
        let line_of = |key: &str| {
            key_spans(front)
                .iter()
                .find(|s| s.key == key)
                .map_or(first_line, |s| s.line + first_line)
        };
        let mut fields = Fields {
            front,
            own: String::new(),
            slots,
            line_of: &line_of,
        };

        let id = fields
            .str("id")?
            .ok_or_else(|| ParseError {
                line: 1,
                message: "missing required key `id`".into(),
            })?
            .into_owned();
        if let Some(problem) = id_problem(&id) {
            return Err(fields.error("id", problem));
        }
        let status = match fields.str("status")? {
            None => Status::Open,
            Some(s) => s.parse().map_err(|m| fields.error("status", m))?,
        };
        let kind = match fields.str("type")? {
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
        // Read only when asked for (see `Task::text`), but a list here is still an error.
        fields.str("claimed_at")?;
        fields.str("reason")?;
        let attempts = fields.int("attempts")?.unwrap_or(0);
        let max_attempts = fields.int("max_attempts")?;
        let to_u32 = |key: &str, n: i64| {
            u32::try_from(n).map_err(|_| ParseError {
                line: line_of(key),
                message: format!("`{key}` must be a number from 0 up"),
            })
        };
        let attempts = to_u32("attempts", attempts)?;
        let max_attempts = max_attempts
            .map(|n| to_u32("max_attempts", n))
            .transpose()?;
        let failed_agents = fields.list("failed_agents")?;
        let (labels, labels_kept) = fields.list_text("labels")?;
        let (depends_on, depends_on_kept) = fields.list_text("depends_on")?;
        let title = fields.text("title")?;
        let owner = fields.text("owner")?;
        let assignee = fields.text("assignee")?;
        let claimed_by = fields.text("claimed_by")?;
        let outcome = fields.text("outcome")?;
        let created_at = fields.text("created_at")?;
        Ok(Task {
            title,
            status,
            priority,
            kind,
            owner,
            assignee,
            labels,
            depends_on,
            claimed_by,
            outcome,
            created_at,
            id,
            front: front.into(),
            extra: (!simple
                || !fields.own.is_empty()
                || attempts != 0
                || max_attempts.is_some()
                || !failed_agents.is_empty()
                || !labels_kept.is_empty()
                || !depends_on_kept.is_empty())
            .then(|| {
                Box::new(Extra {
                    own: std::mem::take(&mut fields.own),
                    full: OnceLock::new(),
                    attempts,
                    max_attempts,
                    failed_agents,
                    labels: labels_kept,
                    depends_on: depends_on_kept,
                })
            }),
            simple,
            keys,
        })
    }

    fn resolve(&self, text: Text) -> Option<&str> {
        if text.len == u32::MAX {
            return None;
        }
        let (from, start) = if text.start & Text::OWN != 0 {
            (
                self.extra.as_ref().map_or("", |e| e.own.as_str()),
                text.start & !Text::OWN,
            )
        } else {
            (&*self.front, text.start)
        };
        from.get(start as usize..start as usize + text.len as usize)
    }

    /// Failed attempts so far.
    pub fn attempts(&self) -> u32 {
        self.extra.as_ref().map_or(0, |e| e.attempts)
    }

    /// This task's own limit on attempts, when it sets one.
    pub fn max_attempts(&self) -> Option<u32> {
        self.extra.as_ref().and_then(|e| e.max_attempts)
    }

    /// The agents that failed this task before.
    pub fn failed_agents(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |e| &e.failed_agents)
    }

    /// `labels`.
    pub fn labels(&self) -> List<'_> {
        self.list(self.labels, |e| &e.labels)
    }

    /// `depends_on`: the ids of the tasks this one waits for.
    pub fn depends_on(&self) -> List<'_> {
        self.list(self.depends_on, |e| &e.depends_on)
    }

    fn list(&self, text: Text, kept: impl Fn(&Extra) -> &[String]) -> List<'_> {
        if text.len == Text::LIST_IN_EXTRA.len {
            return List::Kept(self.extra.as_deref().map_or(&[], kept));
        }
        List::Written(self.resolve(text).unwrap_or_default())
    }

    /// `title`, or empty.
    pub fn title(&self) -> &str {
        self.resolve(self.title).unwrap_or_default()
    }

    /// `owner`: a person or `role:NAME`.
    pub fn owner(&self) -> Option<&str> {
        self.resolve(self.owner)
    }

    /// `assignee`: who the task was handed to.
    pub fn assignee(&self) -> Option<&str> {
        self.resolve(self.assignee)
    }

    /// `claimed_by`: who holds the claim, as written.
    pub fn claimed_by(&self) -> Option<&str> {
        self.resolve(self.claimed_by)
    }

    /// `outcome`: how the last claim ended.
    pub fn outcome(&self) -> Option<&str> {
        self.resolve(self.outcome)
    }

    /// `created_at`, as written.
    pub fn created_at(&self) -> Option<&str> {
        self.resolve(self.created_at)
    }

    /// The frontmatter text as written.
    pub fn frontmatter(&self) -> &str {
        &self.front
    }

    /// The parsed mapping of a frontmatter `fast` cannot read, parsed once.
    fn full(&self) -> Cow<'_, Mapping> {
        match &self.extra {
            Some(extra) => Cow::Borrowed(
                extra
                    .full
                    .get_or_init(|| parse_mapping(&self.front).unwrap_or_default()),
            ),
            None => Cow::Owned(parse_mapping(&self.front).unwrap_or_default()),
        }
    }

    /// Every key as written, in file order.
    pub fn raw(&self) -> Cow<'_, Mapping> {
        if self.simple
            && let Some(map) = fast::mapping(&self.front)
        {
            return Cow::Owned(map);
        }
        self.full()
    }

    /// Whether a simple frontmatter may have `key` (it does not when this is `false`).
    fn may_have(&self, key: &str) -> bool {
        self.keys & key_bit(key) != 0
    }

    /// The text of `key`'s value in a simple frontmatter.
    fn find(&self, key: &str) -> Option<&str> {
        if !self.may_have(key) {
            return None;
        }
        fast::find(&self.front, key)
    }

    /// The value of any key.
    pub fn get(&self, key: &str) -> Option<Value> {
        if self.simple {
            return fast::value(self.find(key)?);
        }
        self.full().get(key).cloned()
    }

    /// The values of several keys, read in one pass over the frontmatter.
    pub fn get_each(&self, keys: &[&str]) -> Vec<Option<Value>> {
        if self.simple {
            let mut values = vec![None; keys.len()];
            if !keys.iter().any(|k| self.may_have(k)) {
                return values;
            }
            fast::each_line(&self.front, |l| {
                for (i, k) in keys.iter().enumerate() {
                    if *k == l.key {
                        values[i] = fast::value(l.value);
                    }
                }
            });
            return values;
        }
        let full = self.full();
        keys.iter().map(|k| full.get(*k).cloned()).collect()
    }

    /// Which of these keys the frontmatter has, in one pass.
    pub fn keys_present<'k>(&self, keys: &[&'k str]) -> Vec<&'k str> {
        if self.simple {
            if !keys.iter().any(|k| self.may_have(k)) {
                return Vec::new();
            }
            let mut present = vec![false; keys.len()];
            fast::each_line(&self.front, |l| {
                for (i, k) in keys.iter().enumerate() {
                    present[i] |= *k == l.key;
                }
            });
            return keys
                .iter()
                .zip(present)
                .filter_map(|(k, p)| p.then_some(*k))
                .collect();
        }
        let full = self.full();
        keys.iter()
            .copied()
            .filter(|k| full.contains_key(*k))
            .collect()
    }

    /// Whether the frontmatter has this key (with any value, null too).
    pub fn has_key(&self, key: &str) -> bool {
        if self.simple {
            return self.find(key).is_some();
        }
        self.full().contains_key(key)
    }

    /// A single value read as text, the way the typed fields are: strings as they are,
    /// numbers and booleans by their spelling.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// When the claim was taken, as written.
    pub fn claimed_at(&self) -> Option<String> {
        self.text("claimed_at")
    }

    /// Why the task is blocked, failed or cancelled, as written.
    pub fn reason(&self) -> Option<String> {
        self.text("reason")
    }

    /// A string value of any key, as written.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        if self.simple {
            return fast::str_value(self.find(key)?).flatten();
        }
        // A task that is not simple always has its `extra`, so the mapping is borrowed.
        let extra = self.extra.as_ref()?;
        extra
            .full
            .get_or_init(|| parse_mapping(&self.front).unwrap_or_default())
            .get(key)
            .and_then(Value::as_str)
    }
}

/// A value not read yet: its text in a simple frontmatter, or parsed by the full parser.
enum Raw<'a> {
    /// A string value, as written in the frontmatter.
    Str(&'a str),
    /// Any other value's text in a simple frontmatter.
    Text(&'a str),
    /// The inside of a one-line list whose items are strings as written.
    Flow(&'a str),
    /// A one-line list, read as a list field reads it.
    List(Box<[String]>),
    /// A value the full parser read (boxed: this is the rare case, and a slot stays small).
    Value(Box<Value>),
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
    front: &'a str,
    /// The typed strings that are not ranges of the frontmatter.
    own: String,
    /// The value of each typed key, by [`slot`].
    slots: [Option<Raw<'a>>; TYPED_KEYS],
    line_of: &'a dyn Fn(&str) -> usize,
}

/// The keys seen so far that are not typed, to find one written twice: most frontmatters
/// have only a few, kept without allocating.
#[derive(Default)]
struct Keys<'a> {
    few: [&'a str; 8],
    count: usize,
    more: Vec<&'a str>,
}

impl<'a> Keys<'a> {
    /// Adds a key; `false` when it was there already.
    fn insert(&mut self, key: &'a str) -> bool {
        let few = &self.few[..self.count.min(self.few.len())];
        if few.contains(&key) || self.more.contains(&key) {
            return false;
        }
        if self.count < self.few.len() {
            self.few[self.count] = key;
        } else {
            self.more.push(key);
        }
        self.count += 1;
        true
    }
}

const LABELS: usize = 7;
const DEPENDS_ON: usize = 8;
const FAILED_AGENTS: usize = 13;

/// How many keys `Task` reads into types.
const TYPED_KEYS: usize = 17;

/// Where a typed key's value is kept while a task is parsed (`None` for other keys).
#[inline(always)]
fn slot(key: &str) -> Option<usize> {
    Some(match key {
        "id" => 0,
        "title" => 1,
        "status" => 2,
        "priority" => 3,
        "type" => 4,
        "owner" => 5,
        "assignee" => 6,
        "labels" => LABELS,
        "depends_on" => DEPENDS_ON,
        "claimed_by" => 9,
        "claimed_at" => 10,
        "attempts" => 11,
        "max_attempts" => 12,
        "failed_agents" => FAILED_AGENTS,
        "outcome" => 14,
        "reason" => 15,
        "created_at" => 16,
        _ => return None,
    })
}

impl<'a> Fields<'a> {
    fn error(&self, key: &str, message: String) -> ParseError {
        ParseError {
            line: (self.line_of)(key),
            message,
        }
    }

    /// Takes a key's value out (each typed key is read once).
    #[inline(always)]
    fn take(&mut self, key: &str) -> Option<Value> {
        let raw = self.slots[slot(key)?].take()?;
        match raw {
            Raw::Str(s) => Some(Value::String(s.to_string())),
            Raw::Flow(inner) => Some(Value::Sequence(
                fast::flow_items(inner)
                    .map(|item| Value::String(item.to_string()))
                    .collect(),
            )),
            Raw::Text(text) => fast::value(text),
            Raw::List(items) => Some(Value::Sequence(
                items.into_iter().map(Value::String).collect(),
            )),
            Raw::Value(v) => Some(*v),
        }
    }

    /// [`Fields::string`], kept as a range of the frontmatter when it is written there as is,
    /// else of the task's own text.
    #[inline(always)]
    fn text(&mut self, key: &str) -> Result<Text, ParseError> {
        let written = match slot(key).and_then(|i| self.slots[i].as_ref()) {
            Some(Raw::Str(s)) => Some(*s),
            _ => None,
        };
        if let Some(s) = written {
            let start = s.as_ptr() as usize - self.front.as_ptr() as usize;
            // Frontmatters are capped far below these bounds; the test is for safety only.
            if start < Text::OWN as usize && s.len() < u32::MAX as usize {
                return Ok(Text {
                    start: start as u32,
                    len: s.len() as u32,
                });
            }
        }
        let Some(s) = self.string(key)? else {
            return Ok(Text::NONE);
        };
        let start = self.own.len();
        self.own.push_str(&s);
        if start >= Text::OWN as usize || s.len() >= u32::MAX as usize {
            return Err(self.error(key, format!("`{key}` is too long")));
        }
        Ok(Text {
            start: start as u32 | Text::OWN,
            len: s.len() as u32,
        })
    }

    /// [`Fields::string`], borrowed from the frontmatter when it is written there as is.
    #[inline(always)]
    fn str(&mut self, key: &str) -> Result<Option<Cow<'a, str>>, ParseError> {
        if let Some(i) = slot(key)
            && let Some(Raw::Str(s)) = self.slots[i]
        {
            self.slots[i] = None;
            return Ok(Some(Cow::Borrowed(s)));
        }
        Ok(self.string(key)?.map(Cow::Owned))
    }

    /// A scalar read as text: strings as they are, numbers and booleans by their spelling.
    #[inline(always)]
    fn string(&mut self, key: &str) -> Result<Option<String>, ParseError> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(self.error(
                key,
                format!("`{key}` must be a single value, not a list or mapping"),
            )),
        }
    }

    #[inline(always)]
    fn int(&mut self, key: &str) -> Result<Option<i64>, ParseError> {
        if let Some(i) = slot(key)
            && let Some(Raw::Text(text)) = self.slots[i]
            && let Some(n) = fast::plain_int(text).and_then(|n| i64::try_from(n).ok())
        {
            self.slots[i] = None;
            return Ok(Some(n));
        }
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().ok()),
            Some(other) => Err(self.error(
                key,
                format!(
                    "`{key}` must be a whole number, not `{}`",
                    super::yaml::render(&other)
                ),
            )),
        }
    }

    /// A list field, as a task keeps it: the range of the frontmatter that holds its items
    /// when they are written there as they read (the usual case: no copy), else the items
    /// (with [`Text::LIST_IN_EXTRA`]).
    #[inline(always)]
    fn list_text(&mut self, key: &str) -> Result<(Text, Box<[String]>), ParseError> {
        if let Some(i) = slot(key)
            && let Some(Raw::Flow(inner)) = self.slots[i]
        {
            self.slots[i] = None;
            let start = inner.as_ptr() as usize - self.front.as_ptr() as usize;
            // Frontmatters are capped far below these bounds; the test is for safety only.
            if start < Text::OWN as usize && inner.len() < Text::LIST_IN_EXTRA.len as usize {
                let text = Text {
                    start: start as u32,
                    len: inner.len() as u32,
                };
                return Ok((text, Box::default()));
            }
            let items: Box<[String]> = fast::flow_items(inner).map(str::to_string).collect();
            return Ok((Text::LIST_IN_EXTRA, items));
        }
        let items = self.list(key)?;
        let text = if items.is_empty() {
            Text::NONE
        } else {
            Text::LIST_IN_EXTRA
        };
        Ok((text, items))
    }

    /// A list of strings; a single scalar reads as a one-item list.
    #[inline(always)]
    fn list(&mut self, key: &str) -> Result<Box<[String]>, ParseError> {
        if let Some(i) = slot(key)
            && let Some(Raw::List(_)) = self.slots[i]
            && let Some(Raw::List(list)) = self.slots[i].take()
        {
            return Ok(list);
        }
        let scalar = |v: Value| match v {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        match self.take(key) {
            None | Some(Value::Null) => Ok(Box::default()),
            Some(Value::Sequence(items)) => {
                // A fresh, exact vector: collecting in place would keep the larger buffer
                // of the values for as long as the task lives.
                let mut out = Vec::with_capacity(items.len());
                for v in items {
                    out.push(scalar(v).ok_or_else(|| {
                        self.error(key, format!("`{key}` must be a list of plain values"))
                    })?);
                }
                Ok(out.into_boxed_slice())
            }
            Some(v) => scalar(v)
                .map(|s| vec![s].into_boxed_slice())
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

    /// Items of lists as they may be written: plain, quoted, escaped, numbers, booleans.
    const ITEM_POOL: [&str; 13] = [
        "T-3b9x",
        "pool",
        "a b",
        "'quoted'",
        "\"dq\"",
        "\"esc\\taped\"",
        "7",
        "true",
        "x.y_z",
        "07",
        "0x1F",
        "True",
        "+5",
    ];

    /// Typed keys, the other keys this tool reads and writes, and keys of its users.
    const KEY_POOL: [&str; 14] = [
        "title",
        "claimed_by",
        "claimed_at",
        "labels",
        "updated_at",
        "worktree",
        "branch",
        "verified",
        "commit",
        "notes",
        "x",
        "estimate",
        "worktre",
        "branches",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// However a list field is written (one line or a block, quoted, numbers, spaces,
        /// one scalar), the task's items are the ones the whole mapping holds, with numbers
        /// and booleans by their spelling there.
        #[test]
        fn list_fields_read_as_the_whole_mapping_says(
            items in proptest::collection::vec(0..ITEM_POOL.len(), 0..4),
            spaced in proptest::bool::ANY,
            shape in 0..3usize,
        ) {
            let items: Vec<&str> = items.iter().map(|&i| ITEM_POOL[i]).collect();
            let sep = if spaced { " ,  " } else { ", " };
            let list = match shape {
                0 => format!("[{}]", items.join(sep)),
                1 if !items.is_empty() => format!("\n  - {}", items.join("\n  - ")),
                _ => items.first().map_or("~".to_string(), |i| i.to_string()),
            };
            let front = format!("id: T-1\nlabels: {list}\ndepends_on: {list}\n");
            let Ok(task) = parse(&format!("---\n{front}---\n")) else {
                // Not a list of plain values: not this test's concern.
                return Ok(());
            };
            let whole = task.raw();
            let expected: Vec<String> = match whole.get("labels") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Sequence(items)) => items.iter().map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => crate::task::yaml::render(other),
                }).collect(),
                Some(Value::String(s)) => vec![s.clone()],
                Some(other) => vec![crate::task::yaml::render(other)],
            };
            proptest::prop_assert_eq!(task.labels().to_vec(), expected.clone(), "{}", front);
            proptest::prop_assert_eq!(task.depends_on().to_vec(), expected.clone(), "{}", front);
            proptest::prop_assert_eq!(task.labels().iter().count(), expected.len());
            proptest::prop_assert_eq!(task.labels().is_empty(), expected.is_empty());
            for item in &expected {
                proptest::prop_assert!(task.depends_on().contains(item));
            }
        }

        /// The summary of which keys a frontmatter has never hides one: every lookup answers
        /// as the whole mapping does, for keys it has and keys it lacks.
        #[test]
        fn key_lookups_agree_with_the_whole_mapping(
            picked in proptest::collection::vec((0..KEY_POOL.len(), 0..4usize), 0..8),
        ) {
            let values = ["v", "2026-11-20T10:00:00Z", "[a, b]", "3"];
            let mut front = String::from("id: T-1\n");
            for (k, v) in &picked {
                front.push_str(&format!("{}: {}\n", KEY_POOL[*k], values[*v]));
            }
            let Ok(task) = parse(&format!("---\n{front}---\n")) else {
                // A repeated key, or a list where a string must be: not this test's concern.
                return Ok(());
            };
            let whole = task.raw();
            for key in KEY_POOL {
                let expected = whole.get(key).cloned();
                proptest::prop_assert_eq!(task.has_key(key), expected.is_some(), "{}", front);
                proptest::prop_assert_eq!(task.get(key), expected.clone(), "{}", front);
                proptest::prop_assert_eq!(
                    task.get_str(key),
                    expected.as_ref().and_then(Value::as_str),
                    "{}", front
                );
            }
            let present = task.keys_present(&KEY_POOL);
            let expected: Vec<&str> =
                KEY_POOL.iter().copied().filter(|k| whole.contains_key(*k)).collect();
            proptest::prop_assert_eq!(present, expected);
            let each = task.get_each(&KEY_POOL);
            let expected: Vec<_> = KEY_POOL.iter().map(|k| whole.get(*k).cloned()).collect();
            proptest::prop_assert_eq!(each, expected);
        }
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
        assert_eq!(t.labels().to_vec(), ["pool", "concurrency"]);
        assert_eq!(t.depends_on().to_vec(), ["T-3b9x"]);
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
