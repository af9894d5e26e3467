//! Property tests of the minimal-diff editor (`tasks::task::edit::apply`), DESIGN §3.
//!
//! Task files are generated from a model that remembers the exact text of every line: a
//! random subset and order of known and unknown keys, values in every common YAML spelling
//! (plain, quoted, flow, block lists, nested mappings, block scalars, continued scalars),
//! padding, inline comments, full-line comments and blank lines between keys, LF or CRLF,
//! an optional BOM, odd delimiters, and a body with `---` lines, headings, `## Notes`, and
//! maybe no final newline. Each edit is checked against the model: the parsed mapping changed
//! by exactly the edit, every other line and every byte of the body kept verbatim, and every
//! line ending in the file's style.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_norway::{Mapping, Value};
use tasks::task::Task;
use tasks::task::edit::{self, Change, Edit};
use tasks::task::split::split;

/// Cases per property; `PROPTEST_CASES` raises it for a longer hunt.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

// ---------------------------------------------------------------------------------------------
// The model of a generated file.

/// One value as written after `key:`: the rest of the key's line and any continuation lines.
#[derive(Debug, Clone)]
struct Form {
    /// Text right after the colon's padding on the key line (may be empty).
    head: &'static str,
    /// Continuation lines, without line endings.
    more: &'static [&'static str],
    /// Whether an inline comment may follow `head` on the key line.
    commentable: bool,
}

const fn one(head: &'static str) -> Form {
    Form {
        head,
        more: &[],
        commentable: true,
    }
}

/// Values in the spellings people and tools write them.
const FORMS: &[Form] = &[
    one("open"),
    one("role:backend"),
    one("Fix the queue race in pool acquire"),
    one("2026-11-20T10:00:00Z"),
    one("café ünïcödé 😀"),
    one("a#b"),
    one("https://example.com/x?a=1&b=2#frag"),
    one("3"),
    one("-7"),
    one("3.25"),
    one("true"),
    one("~"),
    one("null"),
    one("'yes'"),
    one("'a: b'"),
    one("'it''s'"),
    one("'#x'"),
    one("''"),
    one("'1'"),
    one("\"1\""),
    one("\"yes\""),
    one("\"a # b\""),
    one("\"esc \\\" \\\\ \\t\""),
    one("\"ünï 😀\""),
    one("\"\""),
    one("[a, b]"),
    one("[]"),
    one("[\"a, b\", 'c', 3]"),
    one("[pool, concurrency]"),
    one("{k: v, n: 1}"),
    one("{}"),
    one("{at: \"2026-11-20T10:00:00Z\", checks: [cargo test]}"),
    // An empty value: null.
    one(""),
    // A block list, indented and not.
    Form {
        head: "",
        more: &["  - a", "  - b"],
        commentable: true,
    },
    Form {
        head: "",
        more: &["- x", "- 'y: z'", "- 3"],
        commentable: true,
    },
    // A nested block mapping.
    Form {
        head: "",
        more: &[
            "  nested: 1",
            "  deep:",
            "    - x",
            "    - \"y\"",
            "  s: 'q'",
        ],
        commentable: true,
    },
    // Block scalars.
    Form {
        head: "|",
        more: &["  line one", "  # not a comment", "  line three"],
        commentable: true,
    },
    Form {
        head: ">-",
        more: &["  folded", "  text"],
        commentable: true,
    },
    // A flow list and a plain scalar continued on the next line.
    Form {
        head: "[a,",
        more: &["  b]"],
        commentable: false,
    },
    Form {
        head: "first part",
        more: &["  continued"],
        commentable: false,
    },
];

const KNOWN_KEYS: &[&str] = &[
    "id",
    "title",
    "status",
    "priority",
    "type",
    "owner",
    "assignee",
    "labels",
    "depends_on",
    "files",
    "claimed_by",
    "claimed_at",
    "attempts",
    "outcome",
    "created_at",
    "updated_at",
];

/// The keys `Task::parse` reads into typed fields.
const TYPED_KEYS: &[&str] = &[
    "id",
    "title",
    "status",
    "priority",
    "type",
    "owner",
    "assignee",
    "labels",
    "depends_on",
    "claimed_by",
    "claimed_at",
    "attempts",
    "max_attempts",
    "failed_agents",
    "outcome",
    "reason",
    "created_at",
];

const UNKNOWN_KEYS: &[&str] = &[
    "custom",
    "x-extra",
    "my_key",
    "nested.key",
    "Key2",
    "ünï",
    "with space",
    "estimate",
];

/// Keys an edit may add that no generated file holds, some of which need quoting.
const NEW_KEYS: &[&str] = &[
    "brand_new",
    "reason",
    "pr_url",
    "on",
    "yes",
    "1",
    "#hash",
    "a: b",
    "",
    "ключ",
];

const COMMENTS: &[&str] = &[
    "# comment",
    "#",
    "#---",
    "# key: value",
    "## heading-like",
    "# ünï 😀 [x] {y}",
    "#   - yes",
];

const INLINE_COMMENTS: &[&str] = &["# note", "#", "# ünï: [x]", "#  - yes", "#x"];

#[derive(Debug, Clone)]
enum Item {
    Key {
        key: &'static str,
        form: Form,
        /// Blanks between the colon and the value.
        lead: &'static str,
        /// Blanks and an inline comment after the value.
        tail: String,
    },
    Comment(&'static str),
    Blank(&'static str),
}

impl Item {
    fn lines(&self) -> Vec<String> {
        match self {
            Item::Key {
                key,
                form,
                lead,
                tail,
            } => {
                let lead = if form.head.is_empty() && tail.is_empty() {
                    ""
                } else {
                    lead
                };
                let mut lines = vec![format!("{key}:{lead}{}{tail}", form.head)];
                lines.extend(form.more.iter().map(|l| l.to_string()));
                lines
            }
            Item::Comment(c) => vec![c.to_string()],
            Item::Blank(b) => vec![b.to_string()],
        }
    }

    fn key(&self) -> Option<&'static str> {
        match self {
            Item::Key { key, .. } => Some(key),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct File {
    bom: bool,
    eol: &'static str,
    open: &'static str,
    items: Vec<Item>,
    close: &'static str,
    /// Body lines; when empty, `final_eol` says whether the closing line is ended.
    body: Vec<&'static str>,
    final_eol: bool,
}

impl File {
    fn join(&self, lines: &[String]) -> String {
        lines.iter().map(|l| format!("{l}{}", self.eol)).collect()
    }

    fn item_text(&self, item: &Item) -> String {
        self.join(&item.lines())
    }

    fn frontmatter(&self) -> String {
        self.items.iter().map(|i| self.item_text(i)).collect()
    }

    fn body_text(&self) -> String {
        let mut body = self.body.join(self.eol);
        if !self.body.is_empty() && self.final_eol {
            body.push_str(self.eol);
        }
        body
    }

    fn close_line(&self) -> String {
        if self.body.is_empty() && !self.final_eol {
            self.close.to_string()
        } else {
            format!("{}{}", self.close, self.eol)
        }
    }

    fn text(&self) -> String {
        [
            if self.bom { "\u{feff}" } else { "" },
            self.open,
            self.eol,
            &self.frontmatter(),
            &self.close_line(),
            &self.body_text(),
        ]
        .concat()
    }

    fn keys(&self) -> Vec<&'static str> {
        self.items.iter().filter_map(Item::key).collect()
    }

    fn index_of(&self, key: &str) -> Option<usize> {
        self.items.iter().position(|i| i.key() == Some(key))
    }

    /// The frontmatter text of the items before and after item `i`.
    fn around(&self, i: usize) -> (String, String) {
        let before = self.items[..i].iter().map(|x| self.item_text(x)).collect();
        let after = self.items[i + 1..]
            .iter()
            .map(|x| self.item_text(x))
            .collect();
        (before, after)
    }
}

fn key_item() -> impl Strategy<Value = (Form, &'static str, String)> {
    (
        prop::sample::select(FORMS),
        prop::sample::select(&[" ", " ", " ", "   ", "\t"][..]),
        prop::option::weighted(0.4, prop::sample::select(INLINE_COMMENTS)),
        prop::sample::select(&[" ", "   ", "\t"][..]),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(form, lead, comment, pad, trailing_blanks)| {
            let tail = match comment {
                Some(c) if form.commentable => format!("{pad}{c}"),
                _ if trailing_blanks && form.more.is_empty() && !form.head.is_empty() => {
                    "  ".to_string()
                }
                _ => String::new(),
            };
            (form, lead, tail)
        })
}

fn filler() -> impl Strategy<Value = Option<Item>> {
    prop_oneof![
        6 => Just(None),
        2 => prop::sample::select(COMMENTS).prop_map(|c| Some(Item::Comment(c))),
        // A blank line with more spaces than a block scalar's indent would be content of that
        // scalar once the key between them is removed: see `a_deeper_blank_line_after_a_block_scalar`.
        1 => prop::sample::select(&["", " "][..]).prop_map(|b| Some(Item::Blank(b))),
    ]
}

const BODY_LINES: &[&str] = &[
    "Free markdown. What, why, acceptance.",
    "---",
    "---  ",
    "## Notes",
    "- 2026-11-19T09:30:00Z bob: an earlier note",
    "## Later",
    "# Title",
    "### Sub",
    "",
    "  indented",
    "ünï 😀 text",
    "id: looks like a key",
    "```",
    "...",
    "\t",
    "## Notes ",
];

fn file() -> impl Strategy<Value = File> {
    let all_keys: Vec<&'static str> = KNOWN_KEYS.iter().chain(UNKNOWN_KEYS).copied().collect();
    let n = all_keys.len();
    (
        prop::sample::subsequence(all_keys, 0..=n).prop_shuffle(),
        prop::collection::vec((key_item(), filler()), n),
        filler(),
        any::<bool>(),
        prop::sample::select(&["\n", "\r\n"][..]),
        prop::sample::select(&["---", "---", "--- "][..]),
        prop::sample::select(&["---", "---", "---\t "][..]),
        prop::collection::vec(prop::sample::select(BODY_LINES), 0..8),
        any::<bool>(),
    )
        .prop_map(
            |(keys, shapes, first, bom, eol, open, close, body, final_eol)| {
                let mut items: Vec<Item> = first.into_iter().collect();
                for (key, ((form, lead, tail), after)) in keys.into_iter().zip(shapes) {
                    items.push(Item::Key {
                        key,
                        form,
                        lead,
                        tail,
                    });
                    items.extend(after);
                }
                File {
                    bom,
                    eol,
                    open,
                    items,
                    close,
                    body,
                    final_eol,
                }
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Values to set.

const TRICKY: &[&str] = &[
    "yes",
    "no",
    "on",
    "y",
    "1",
    "0x1f",
    "1.5",
    "1e3",
    "",
    " lead",
    "trail ",
    "a: b",
    "a #b",
    "#x",
    "- x",
    "[x]",
    "{x}",
    "*x",
    "&x",
    "!x",
    "|",
    ">",
    "'q'",
    "\"q\"",
    "line\nbreak",
    "cr\rlf\r\n",
    "tab\there",
    "@at",
    "`tick`",
    "%p",
    "ends:",
    "ünï",
    "😀",
    "role:backend",
    "2026-11-20T10:00:00Z",
    "null",
    "~",
    "true",
    "a,b",
    "a]b",
    "---",
    "...",
    "\u{85}",
    "\u{feff}x",
    "back\\slash",
    "?",
    "a ? b",
    "-",
    "<<",
    "=",
    ".inf",
    "NaN",
];

/// Any character at all: a YAML writer must cope with every one.
fn any_char() -> impl Strategy<Value = char> {
    any::<char>()
}

fn string() -> impl Strategy<Value = String> {
    let any = prop_oneof![
        2 => prop::sample::select(TRICKY).prop_map(str::to_string),
        1 => prop::collection::vec(any_char(), 0..12).prop_map(|c| c.into_iter().collect()),
        1 => prop::collection::vec(
            prop::sample::select(&["a", " ", ":", "#", "-", "'", "\"", ",", "[", "]", "é", "1", "\\", "\n", "{", "}"][..]),
            0..8
        )
        .prop_map(|parts| parts.concat()),
    ];
    any
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => string().prop_map(Value::String),
        1 => any::<i64>().prop_map(|n| Value::Number(n.into())),
        1 => any::<u64>().prop_map(|n| Value::Number(n.into())),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Value::Number(f.into())),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Sequence),
            prop::collection::vec((string(), inner), 0..3).prop_map(|pairs| {
                Value::Mapping(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (Value::String(k), v))
                        .collect(),
                )
            }),
        ]
    })
}

/// A key to edit: one of the file's own keys, or one it does not have.
fn target(file: &File, pick: Index) -> &'static str {
    let keys = file.keys();
    let candidates: Vec<&'static str> = keys
        .iter()
        .copied()
        .chain(NEW_KEYS.iter().copied())
        .chain(KNOWN_KEYS.iter().copied().filter(|k| !keys.contains(k)))
        .collect();
    candidates[pick.index(candidates.len())]
}

// ---------------------------------------------------------------------------------------------
// Checks shared by the properties.

fn mapping_of(frontmatter: &str) -> Mapping {
    match serde_norway::from_str::<Value>(frontmatter) {
        Ok(Value::Mapping(m)) => m,
        Ok(Value::Null) => Mapping::new(),
        other => panic!("frontmatter is not a mapping: {other:?}\n{frontmatter}"),
    }
}

fn keys_in_order(m: &Mapping) -> Vec<Value> {
    m.keys().cloned().collect()
}

/// Every line ends in the file's style; no stray `\r`.
fn check_eol(out: &str, eol: &str) -> Result<(), TestCaseError> {
    let bytes = out.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        let crlf_here = i > 0 && bytes[i - 1] == b'\r';
        match (b, eol) {
            (b'\n', "\n") => prop_assert!(!crlf_here, "CRLF at byte {i} in an LF file"),
            (b'\n', _) => prop_assert!(crlf_here, "bare LF at byte {i} in a CRLF file"),
            (b'\r', _) => prop_assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {}", i),
            _ => {}
        }
    }
    Ok(())
}

struct Parts {
    bom: String,
    open: String,
    frontmatter: String,
    close: String,
    body: String,
}

fn parts(text: &str) -> Parts {
    let s = split(text).unwrap_or_else(|e| panic!("does not split: {e}\n{text:?}"));
    Parts {
        bom: s.bom.into(),
        open: s.open.into(),
        frontmatter: s.frontmatter.into(),
        close: s.close.into(),
        body: s.body.into(),
    }
}

/// The exact one-line text a key got: between the untouched text before and after it.
fn the_new_line<'a>(
    out_fm: &'a str,
    before: &str,
    after: &str,
    eol: &str,
) -> Result<&'a str, TestCaseError> {
    prop_assert!(
        out_fm.starts_with(before),
        "text before the key changed:\n{out_fm:?}\nexpected to start with\n{before:?}"
    );
    prop_assert!(
        out_fm.len() >= before.len() + after.len() && out_fm.ends_with(after),
        "text after the key changed:\n{out_fm:?}\nexpected to end with\n{after:?}"
    );
    let line = &out_fm[before.len()..out_fm.len() - after.len()];
    prop_assert!(line.ends_with(eol), "not one whole line: {line:?}");
    prop_assert_eq!(
        line.matches('\n').count(),
        1,
        "the key took more than one line: {:?}",
        line
    );
    Ok(line)
}

/// The line alone parses to `{key: value}`.
fn check_line_means(line: &str, key: &str, value: &Value) -> Result<(), TestCaseError> {
    let alone = mapping_of(line);
    prop_assert_eq!(alone.len(), 1, "{:?}", line);
    prop_assert_eq!(alone.get(key), Some(value), "{:?}", line);
    Ok(())
}

/// The fields a task reads into types (its frontmatter text aside).
fn typed(task: Task) -> String {
    let text = format!("{task:?}");
    text[..text.find("front:").unwrap_or(text.len())].to_string()
}

// ---------------------------------------------------------------------------------------------
// The properties.

fn check_set(file: &File, key: &str, value: &Value) -> Result<(), TestCaseError> {
    let text = file.text();
    let old = parts(&text);
    let before = mapping_of(&old.frontmatter);
    let mut edit = Edit::default();
    edit.changes
        .push(Change::Set(key.to_string(), value.clone()));
    let out = edit::apply(&text, &edit)
        .map_err(|e| TestCaseError::fail(format!("refused: {e}\n{text:?}")))?;

    // (a) it re-parses, (b) as the old mapping with only this key changed, in the same order
    // with a new key last.
    let new = parts(&out);
    let after = mapping_of(&new.frontmatter);
    let mut expected = before.clone();
    expected.insert(Value::String(key.to_string()), value.clone());
    prop_assert_eq!(&after, &expected);
    prop_assert_eq!(keys_in_order(&after), keys_in_order(&expected));

    // (c) the body and everything around the frontmatter is byte-identical.
    prop_assert_eq!(&new.bom, &old.bom);
    prop_assert_eq!(&new.open, &old.open);
    prop_assert_eq!(&new.close, &old.close);
    prop_assert_eq!(&new.body, &old.body);

    // (d) every other line verbatim: comments, blanks, untouched keys; the key's line keeps its
    // padding and inline comment when it was one line.
    let line = match file.index_of(key) {
        Some(i) => {
            let (pre, post) = file.around(i);
            let line = the_new_line(&new.frontmatter, &pre, &post, file.eol)?;
            let Item::Key {
                form, lead, tail, ..
            } = &file.items[i]
            else {
                unreachable!()
            };
            let comment = tail.trim_start_matches([' ', '\t']);
            if form.more.is_empty() && !form.head.is_empty() {
                let start = format!("{key}:{lead}");
                let end = format!("{tail}{}", file.eol);
                prop_assert!(line.starts_with(&start), "{line:?} lost {start:?}");
                prop_assert!(line.ends_with(&end), "{line:?} lost {end:?}");
            } else if !comment.is_empty() {
                let end = format!(" {comment}{}", file.eol);
                prop_assert!(line.ends_with(&end), "{line:?} lost {end:?}");
            }
            line
        }
        None => the_new_line(&new.frontmatter, &old.frontmatter, "", file.eol)?,
    };
    check_line_means(line, key, value)?;

    // (e) line endings.
    check_eol(&out, file.eol)?;

    // A valid task stays the same task when a key it does not read changes.
    if let Ok(task) = Task::parse(&split(&text).unwrap())
        && !TYPED_KEYS.contains(&key)
    {
        let again = Task::parse(&split(&out).unwrap())
            .map_err(|e| TestCaseError::fail(format!("no longer a task: {e}")))?;
        prop_assert_eq!(typed(again), typed(task));
    }
    Ok(())
}

fn check_remove(file: &File, key: &str) -> Result<(), TestCaseError> {
    let text = file.text();
    let old = parts(&text);
    let before = mapping_of(&old.frontmatter);
    let mut edit = Edit::default();
    edit.remove(key);
    let out = edit::apply(&text, &edit)
        .map_err(|e| TestCaseError::fail(format!("refused: {e}\n{text:?}")))?;
    let new = parts(&out);
    let after = mapping_of(&new.frontmatter);
    let mut expected = before;
    expected.shift_remove(key);
    prop_assert_eq!(&after, &expected);
    prop_assert_eq!(keys_in_order(&after), keys_in_order(&expected));
    match file.index_of(key) {
        Some(i) => {
            // Exactly the key's lines are gone.
            let (pre, post) = file.around(i);
            prop_assert_eq!(&new.frontmatter, &format!("{pre}{post}"));
            prop_assert_eq!(&new.bom, &old.bom);
            prop_assert_eq!(&new.open, &old.open);
            prop_assert_eq!(&new.close, &old.close);
            prop_assert_eq!(&new.body, &old.body);
        }
        // Removing a key that is not there changes nothing at all.
        None => prop_assert_eq!(&out, &text),
    }
    check_eol(&out, file.eol)
}

fn check_note(file: &File, note: &str) -> Result<(), TestCaseError> {
    let text = file.text();
    let old = parts(&text);
    let edit = Edit {
        changes: vec![],
        note: Some(note.to_string()),
        body: None,
    };
    let out = edit::apply(&text, &edit)
        .map_err(|e| TestCaseError::fail(format!("refused: {e}\n{text:?}")))?;
    let new = parts(&out);
    let eol = file.eol;

    // The frontmatter is byte-identical; the closing line only gains an ending if it had none.
    prop_assert_eq!(&new.bom, &old.bom);
    prop_assert_eq!(&new.open, &old.open);
    prop_assert_eq!(&new.frontmatter, &old.frontmatter);
    if old.close.ends_with('\n') {
        prop_assert_eq!(&new.close, &old.close);
    } else {
        prop_assert_eq!(&new.close, &format!("{}{eol}", old.close));
    }
    prop_assert_eq!(mapping_of(&new.frontmatter), mapping_of(&old.frontmatter));

    // The body only grows by the note line (and an ending for an unterminated last line).
    let note_line = format!("{note}{eol}");
    let lines: Vec<&str> = old.body.split_inclusive('\n').collect();
    let is_heading = |l: &str| l.trim_end_matches(['\r', '\n']).trim_end() == "## Notes";
    match lines.iter().position(|l| is_heading(l)) {
        Some(h) => {
            // Appended at the end of the first Notes section: after its last non-blank line,
            // before the next `#`/`##` heading.
            let end = lines[h + 1..]
                .iter()
                .position(|l| l.starts_with("# ") || l.starts_with("## "))
                .map_or(lines.len(), |i| h + 1 + i);
            let mut at = end;
            while at > h + 1 && lines[at - 1].trim().is_empty() {
                at -= 1;
            }
            let offset: usize = lines[..at].iter().map(|l| l.len()).sum();
            let head = &old.body[..offset];
            let glue = if head.ends_with('\n') { "" } else { eol };
            let expected = format!("{head}{glue}{note_line}{}", &old.body[offset..]);
            prop_assert_eq!(&new.body, &expected);
        }
        None => {
            prop_assert!(new.body.starts_with(&old.body), "the body was changed");
            let added = &new.body[old.body.len()..];
            let section = format!("## Notes{eol}{note_line}");
            prop_assert!(added.ends_with(&section), "{added:?}");
            let glue = &added[..added.len() - section.len()];
            // Ends the last line if needed, and leaves one blank line before the heading.
            let want = match (old.body.is_empty(), old.body.ends_with('\n')) {
                (true, _) => String::new(),
                (false, false) => format!("{eol}{eol}"),
                (false, true) if old.body.ends_with(&format!("{eol}{eol}")) => String::new(),
                (false, true) => eol.to_string(),
            };
            prop_assert_eq!(glue, want.as_str());
        }
    }
    check_eol(&out, eol)
}

#[derive(Debug, Clone)]
enum Op {
    Set(Index, Value),
    Remove(Index),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<Index>(), value()).prop_map(|(i, v)| Op::Set(i, v)),
        1 => any::<Index>().prop_map(Op::Remove),
    ]
}

fn check_many(file: &File, ops: &[Op], note: Option<&str>) -> Result<(), TestCaseError> {
    let text = file.text();
    let old = parts(&text);
    let mut expected = mapping_of(&old.frontmatter);
    let mut edit = Edit {
        changes: vec![],
        note: note.map(str::to_string),
        body: None,
    };
    let mut touched = Vec::new();
    for op in ops {
        let change = match op {
            Op::Set(i, v) => {
                let key = target(file, *i);
                expected.insert(Value::String(key.to_string()), v.clone());
                touched.push(key);
                Change::Set(key.to_string(), v.clone())
            }
            Op::Remove(i) => {
                let key = target(file, *i);
                expected.shift_remove(key);
                touched.push(key);
                Change::Remove(key.to_string())
            }
        };
        edit.changes.push(change);
    }
    let out = edit::apply(&text, &edit)
        .map_err(|e| TestCaseError::fail(format!("refused: {e}\n{text:?}\n{edit:?}")))?;
    let new = parts(&out);
    let after = mapping_of(&new.frontmatter);
    prop_assert_eq!(&after, &expected);
    prop_assert_eq!(keys_in_order(&after), keys_in_order(&expected));
    if note.is_none() {
        prop_assert_eq!(&new.body, &old.body);
    } else {
        prop_assert!(new.body.len() > old.body.len());
    }

    // Comments, blanks and untouched keys survive verbatim and in order.
    let mut rest = new.frontmatter.as_str();
    for item in &file.items {
        if item.key().is_some_and(|k| touched.contains(&k)) {
            continue;
        }
        let piece = file.item_text(item);
        match rest.find(&piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => prop_assert!(false, "{piece:?} lost or moved in\n{}", new.frontmatter),
        }
    }
    check_eol(&out, file.eol)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Minimal failures are kept as plain tests below, not in a regressions file.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_files_split_and_parse(file in file()) {
        let text = file.text();
        let p = parts(&text);
        prop_assert_eq!(&p.frontmatter, &file.frontmatter());
        prop_assert_eq!(&p.body, &file.body_text());
        let m = mapping_of(&p.frontmatter);
        prop_assert_eq!(m.len(), file.keys().len());
    }

    #[test]
    fn set_changes_exactly_one_key(file in file(), pick in any::<Index>(), value in value()) {
        let key = target(&file, pick);
        check_set(&file, key, &value)?;
    }

    #[test]
    fn set_an_existing_key(file in file(), pick in any::<Index>(), value in value()) {
        let keys = file.keys();
        prop_assume!(!keys.is_empty());
        check_set(&file, keys[pick.index(keys.len())], &value)?;
    }

    #[test]
    fn remove_takes_exactly_the_keys_lines(file in file(), pick in any::<Index>()) {
        let key = target(&file, pick);
        check_remove(&file, key)?;
    }

    #[test]
    fn a_note_only_adds_its_line(
        file in file(),
        text in prop::collection::vec(any::<char>().prop_filter("one line", |c| *c != '\n' && *c != '\r'), 0..24),
    ) {
        let note = format!("- 2026-11-20T10:00:00Z agent: {}", text.into_iter().collect::<String>());
        check_note(&file, &note)?;
    }

    #[test]
    fn several_changes_and_a_note_at_once(
        file in file(),
        ops in prop::collection::vec(op(), 1..5),
        note in prop::option::of(Just("- 2026-11-20T10:00:00Z agent: done")),
    ) {
        check_many(&file, &ops, note)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Minimal inputs for the editor bugs found here, asserting the correct behaviour.

fn set(text: &str, key: &str, value: Value) -> Result<String, edit::EditError> {
    let mut edit = Edit::default();
    edit.changes.push(Change::Set(key.into(), value));
    edit::apply(text, &edit)
}

#[test]
fn line_and_paragraph_separators_are_escaped() {
    for s in ["a\u{2028}b", "a\u{2029}b"] {
        let out = set("---\nid: a\n---\n", "title", Value::String(s.into()))
            .unwrap_or_else(|e| panic!("{s:?}: {e}"));
        assert_eq!(
            mapping_of(&parts(&out).frontmatter).get("title"),
            Some(&Value::String(s.into()))
        );
    }
}

#[test]
fn non_printable_characters_are_escaped() {
    for s in ["\u{fffe}", "x\u{ffff}"] {
        let out = set("---\nid: a\n---\n", "title", Value::String(s.into()))
            .unwrap_or_else(|e| panic!("{s:?}: {e}"));
        assert_eq!(
            mapping_of(&parts(&out).frontmatter).get("title"),
            Some(&Value::String(s.into()))
        );
    }
}

#[test]
fn a_quoted_key_is_a_key_of_its_own() {
    let text = "---\nid: a\nstatus: open\n\"on\": push\n'x y': 1\n---\n";
    assert_eq!(
        set(text, "status", Value::String("done".into())).unwrap(),
        "---\nid: a\nstatus: done\n\"on\": push\n'x y': 1\n---\n"
    );
    let mut edit = Edit::default();
    edit.remove("status");
    assert_eq!(
        edit::apply(text, &edit).unwrap(),
        "---\nid: a\n\"on\": push\n'x y': 1\n---\n"
    );
    // A plain key YAML allows to start with `-` is a key too.
    let text = "---\nid: a\nstatus: open\n-weird: 1\n---\n";
    assert_eq!(
        set(text, "status", Value::String("done".into())).unwrap(),
        "---\nid: a\nstatus: done\n-weird: 1\n---\n"
    );
    // And a key the editor itself had to quote can be edited again.
    let text = "---\nid: a\nstatus: open\n\"on\": push\n'x y': 1\n---\n";
    assert_eq!(
        set(text, "on", Value::String("pull".into())).unwrap(),
        "---\nid: a\nstatus: open\n\"on\": pull\n'x y': 1\n---\n"
    );
}

#[test]
fn an_indented_comment_line_survives() {
    let text = "---\nid: a\nstatus: open\n  # lifecycle commands only\nx: 1\n---\n";
    assert_eq!(
        set(text, "status", Value::String("done".into())).unwrap(),
        "---\nid: a\nstatus: done\n  # lifecycle commands only\nx: 1\n---\n"
    );
}

#[test]
fn a_new_quoted_key_and_the_key_above_in_one_edit() {
    // What `tasks set ID on=push` does to a file whose last key is updated_at.
    let text = "---\nid: a\nupdated_at: x\n---\n";
    let mut edit = Edit::default();
    edit.set("on", "push").set("updated_at", "later");
    assert_eq!(
        edit::apply(text, &edit).unwrap(),
        "---\nid: a\nupdated_at: later\n\"on\": push\n---\n"
    );
}

#[test]
fn colon_question_mark_in_a_flow_list() {
    for value in [
        Value::Sequence(vec![Value::String("a:?".into())]),
        Value::Mapping(
            [(Value::String("a:?b".into()), Value::Null)]
                .into_iter()
                .collect(),
        ),
    ] {
        let out = set("---\nid: a\n---\n", "t", value.clone())
            .unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(mapping_of(&parts(&out).frontmatter).get("t"), Some(&value));
    }
}

#[test]
fn a_deeper_blank_line_after_a_block_scalar() {
    // Removing `b` would make the three-space line part of `a`'s block scalar. The editor may
    // refuse that (it cannot keep both the line and the value), but must never write it.
    let text = "---\na: |\n  one\nb: 1\n   \n---\n";
    let mut edit = Edit::default();
    edit.remove("b");
    match edit::apply(text, &edit) {
        Err(edit::EditError::Unverified(_)) => {}
        Ok(out) => assert_eq!(
            mapping_of(&parts(&out).frontmatter),
            mapping_of("a: |\n  one\n"),
            "{out:?}"
        ),
        Err(other) => panic!("{other}"),
    }
}
