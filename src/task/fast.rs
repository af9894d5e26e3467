//! A fast reader for the frontmatter people and this tool actually write: one `key: value`
//! per line, values plain, simply quoted, or flow lists of plain values.
//!
//! Anything outside that subset (nesting, block scalars, anchors, tags, escapes, comments
//! after a value, numbers in unusual notations, ...) makes it answer `None`, and the caller
//! falls back to the full YAML parser. Where it answers, it gives exactly what the full
//! parser gives: the scalar rules below are serde_norway's, and a differential test checks
//! the two against each other.

use serde_norway::{Mapping, Number, Value};

/// A top-level entry: the key and its value's text as written (comments and the
/// surrounding spaces removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub key: &'a str,
    pub value: &'a str,
}

/// Every entry of a frontmatter in the simple subset, in file order; `None` when the
/// frontmatter needs the full parser (including when a key repeats, so that parser reports
/// it).
pub fn lines(front: &str) -> Option<Vec<Line<'_>>> {
    let mut out: Vec<Line<'_>> = Vec::with_capacity(16);
    let mut repeated = false;
    let simple = each_line(front, |line| {
        repeated |= out.iter().any(|l| l.key == line.key);
        out.push(line);
    });
    (simple && !repeated).then_some(out)
}

/// The value text of `key` in a frontmatter already known to be in the simple subset, with no
/// key twice (a task's, once parsed), found without collecting the lines.
pub fn find<'a>(front: &'a str, key: &str) -> Option<&'a str> {
    let mut value = None;
    each_line(front, |l| {
        if value.is_none() && l.key == key {
            value = Some(l.value);
        }
    });
    value
}

/// Hands each entry of a frontmatter to `found`, in file order, and says whether every line
/// is in the simple subset (when it is not, some entries may have been handed over already).
/// A repeated key is not looked for.
pub fn each_line<'a>(front: &'a str, mut found: impl FnMut(Line<'a>)) -> bool {
    let mut rest = front;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = next;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let bytes = line.as_bytes();
        let Some(&first) = bytes.first() else {
            continue;
        };
        if first == b' ' {
            // A blank or comment line is fine; anything else indented is nesting or a
            // continued scalar.
            match bytes.iter().find(|&&b| b != b' ') {
                None | Some(b'#') => continue,
                Some(_) => return false,
            }
        }
        if first == b'#' {
            continue;
        }
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return false;
        }
        let Some(end) = bytes
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        else {
            return false;
        };
        if bytes[end] != b':' {
            return false;
        }
        let key = &line[..end];
        let value = &line[end + 1..];
        if !value.is_empty() && !value.starts_with(' ') {
            return false;
        }
        // Only these words among keys of this shape are not strings.
        if (key.len() == 4 || key.len() == 5) && classify(key) != Some(Plain::Str) {
            return false;
        }
        found(Line {
            key,
            value: trim_spaces(value),
        });
    }
    true
}

/// The whole frontmatter as a mapping, when it is in the simple subset.
pub fn mapping(front: &str) -> Option<Mapping> {
    let lines = lines(front)?;
    let mut map = Mapping::with_capacity(lines.len());
    for line in lines {
        map.insert(Value::String(line.key.to_string()), value(line.value)?);
    }
    Some(map)
}

/// A value's text (as in [`Line::value`]) read as YAML.
pub fn value(text: &str) -> Option<Value> {
    if needs_full_parser_in(text) {
        return None;
    }
    if let Some(inner) = text.strip_prefix('[') {
        let inner = trim_spaces(inner.strip_suffix(']')?);
        if inner.is_empty() {
            return Some(Value::Sequence(Vec::new()));
        }
        let items = inner
            .split(',')
            .map(|item| flow_item(trim_spaces(item)))
            .collect::<Option<Vec<Value>>>()?;
        return Some(Value::Sequence(items));
    }
    Some(match quoted(text)? {
        Scalar::Quoted(s) => Value::String(s.to_string()),
        Scalar::SingleQuoted(s) => Value::String(s.replace("''", "'")),
        Scalar::Plain(s) => plain(s)?,
    })
}

/// A value's text read as a string, borrowed from the text: `Some(None)` when the value is
/// not a string (null, a number, a list, ...), `None` when only the full parser can tell or
/// the string needs unescaping.
pub fn str_value(text: &str) -> Option<Option<&str>> {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b'[') => {
            if needs_full_parser_in(text) {
                return None;
            }
            // A list is not a string; it only has to be one `value` reads.
            let inner = trim_spaces(text[1..].strip_suffix(']')?);
            let fine = inner.is_empty()
                || inner
                    .split(',')
                    .all(|item| flow_item_kind(trim_spaces(item)).is_some());
            return fine.then_some(None);
        }
        Some(b'"' | b'\'') => {
            if needs_full_parser_in(text) {
                return None;
            }
            return match quoted(text)? {
                Scalar::Quoted(s) => Some(Some(s)),
                Scalar::SingleQuoted(s) if !s.contains('\'') => Some(Some(s)),
                Scalar::SingleQuoted(_) => None,
                Scalar::Plain(s) => plain_str(s),
            };
        }
        Some(&b) if indicator(b) => return None,
        _ => {}
    }
    // A plain scalar: no control characters, no `: ` (a mapping), no ` #` (a comment), no
    // final `:` (a key).
    if bytes
        .iter()
        .fold(false, |bad, &b| bad | (b < 0x20) | (b == 0x7f))
    {
        return None;
    }
    for at in memchr::memchr2_iter(b':', b'#', bytes) {
        let after = bytes.get(at + 1);
        let mapping = bytes[at] == b':' && matches!(after, None | Some(b' '));
        let comment = bytes[at] == b'#' && at > 0 && bytes[at - 1] == b' ';
        if mapping || comment {
            return None;
        }
    }
    if !text.is_ascii() && text.chars().any(needs_full_parser) {
        return None;
    }
    plain_str(text)
}

/// A plain scalar as [`str_value`] answers it.
fn plain_str(s: &str) -> Option<Option<&str>> {
    match classify(s)? {
        Plain::Str => Some(Some(s)),
        _ => Some(None),
    }
}

/// Characters that cannot start a plain scalar (or that start one this reader leaves alone).
fn indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b'.'
    )
}

enum Scalar<'a> {
    /// The inside of `"..."` with no escapes in it.
    Quoted(&'a str),
    /// The inside of `'...'`, where `''` stands for `'`.
    SingleQuoted(&'a str),
    Plain(&'a str),
}

/// Classifies a scalar's text, or `None` when it is beyond the subset.
fn quoted(text: &str) -> Option<Scalar<'_>> {
    if text.len() >= 2 && text.starts_with('"') {
        let inner = text.strip_prefix('"')?.strip_suffix('"')?;
        return (!inner.contains(['"', '\\'])).then_some(Scalar::Quoted(inner));
    }
    if text.len() >= 2 && text.starts_with('\'') {
        let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
        // Every quote inside must be one of a doubled pair.
        return (!inner.replace("''", "").contains('\'')).then_some(Scalar::SingleQuoted(inner));
    }
    let bytes = text.as_bytes();
    if bytes.first().is_some_and(|&b| indicator(b)) {
        return None;
    }
    // `: ` would start a mapping, ` #` a comment; a final `:` is a key.
    if bytes.last() == Some(&b':')
        || bytes
            .windows(2)
            .any(|w| (w[0] == b':' && w[1] == b' ') || (w[0] == b' ' && w[1] == b'#'))
    {
        return None;
    }
    Some(Scalar::Plain(text))
}

/// A one-line flow list read the way a task's list fields read one: each item by its
/// spelling (`[a, 7, true]` gives `a`, `7`, `true`). `None` when the text is not such a list
/// or an item is null.
pub fn flow_list(text: &str) -> Option<Box<[String]>> {
    flow_items(flow_inside(text)?)
        .map(|item| match flow_item_kind(item)? {
            Plain::Str => Some(item.to_string()),
            Plain::Int(n) => Some(n.to_string()),
            Plain::Bool(b) => Some(b.to_string()),
            Plain::Null => None,
        })
        .collect()
}

/// Of a one-line flow list whose items are all strings as written (`[T-1, T-2]`: ids,
/// labels), the text between the brackets without the spaces around it, from which
/// [`flow_items`] reads the same items as [`flow_list`], with no copy. `None` for any other
/// value.
pub fn flow_list_as_written(text: &str) -> Option<&str> {
    let inner = flow_inside(text)?;
    flow_items(inner)
        .all(|item| matches!(flow_item_kind(item), Some(Plain::Str)))
        .then_some(inner)
}

/// The text between the brackets of a one-line flow list, without the spaces around it, when
/// nothing in it needs the full parser.
fn flow_inside(text: &str) -> Option<&str> {
    let inner = trim_spaces(text.strip_prefix('[')?.strip_suffix(']')?);
    (inner.is_empty() || !needs_full_parser_in(inner)).then_some(inner)
}

/// The items of the inside of a one-line flow list, as [`flow_inside`] finds it.
pub fn flow_items(inner: &str) -> impl Iterator<Item = &str> + Clone {
    let items = (!inner.is_empty()).then_some(inner);
    items
        .into_iter()
        .flat_map(|inner| inner.split(','))
        .map(trim_spaces)
}

/// A plain scalar that reads as a whole number from 0 up, or `None`.
pub fn plain_int(text: &str) -> Option<u64> {
    if needs_full_parser_in(text) {
        return None;
    }
    match quoted(text)? {
        Scalar::Plain(s) => match classify(s)? {
            Plain::Int(n) => Some(n),
            _ => None,
        },
        _ => None,
    }
}

/// One item of a one-line flow list: plain text with no flow indicators, quotes or colons.
fn flow_item(item: &str) -> Option<Value> {
    flow_item_kind(item)?;
    plain(item)
}

fn flow_item_kind(item: &str) -> Option<Plain> {
    let flow = |b: &u8| {
        matches!(
            b,
            b',' | b'[' | b']' | b'{' | b'}' | b'"' | b'\'' | b':' | b'#'
        )
    };
    if item.is_empty() || item.as_bytes().iter().any(flow) {
        return None;
    }
    match quoted(item)? {
        Scalar::Plain(s) => classify(s),
        _ => None,
    }
}

/// `text` without the spaces around it.
fn trim_spaces(text: &str) -> &str {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    &text[start..end]
}

/// Whether any character of `text` is one of [`needs_full_parser`]'s, checking ASCII text
/// byte by byte.
fn needs_full_parser_in(text: &str) -> bool {
    if text.is_ascii() {
        return text.bytes().any(|b| b < 0x20 || b == 0x7f);
    }
    text.chars().any(needs_full_parser)
}

/// Characters whose handling differs between YAML readers or needs escapes: tabs, controls,
/// line separators, the byte-order mark and non-characters.
fn needs_full_parser(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// What a plain scalar resolves to, the way serde_norway resolves it: null, boolean,
/// integer, float, else string. Only notations that cannot be mistaken are taken; anything
/// numeric-looking beyond a plain decimal integer goes to the full parser (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plain {
    Null,
    Bool(bool),
    Int(u64),
    Str,
}

fn classify(s: &str) -> Option<Plain> {
    let first = s.as_bytes().first().copied().unwrap_or(b'~');
    if first.is_ascii_alphabetic() && !matches!(first, b'n' | b'N' | b't' | b'T' | b'f' | b'F') {
        return Some(Plain::Str);
    }
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Plain::Null),
        "true" | "True" | "TRUE" => return Some(Plain::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Plain::Bool(false)),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first.is_ascii_digit() {
        if s.bytes().all(|b| b.is_ascii_digit()) {
            // Leading zeros make a string in YAML 1.2; too big for u64 goes to the full parser.
            if s.len() > 1 && first == b'0' {
                return Some(Plain::Str);
            }
            return s.parse::<u64>().ok().map(Plain::Int);
        }
        // Dates and times: a colon, or a date's dashes, are never part of a number.
        let is_date = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if s.contains(':') || is_date {
            return Some(Plain::Str);
        }
        return None;
    }
    if first == b'+' {
        return None;
    }
    // Words: `inf`, `nan` and the like are not finite, so they stay strings there too.
    Some(Plain::Str)
}

/// A plain scalar as a value.
fn plain(s: &str) -> Option<Value> {
    Some(match classify(s)? {
        Plain::Null => Value::Null,
        Plain::Bool(b) => Value::Bool(b),
        Plain::Int(n) => Value::Number(Number::from(n)),
        Plain::Str => Value::String(s.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn full(front: &str) -> Option<Mapping> {
        match serde_norway::from_str::<Value>(front) {
            Ok(Value::Mapping(m)) => Some(m),
            Ok(Value::Null) => Some(Mapping::new()),
            _ => None,
        }
    }

    #[test]
    fn reads_what_the_tool_writes() {
        let front = "id: T-7k2m\ntitle: Fix queue race [pool]\nstatus: in_progress\npriority: 1\n\
                     owner: role:backend\nlabels: [pool, concurrency]\ndepends_on: []\n\
                     claimed_at: 2026-11-20T10:05:00Z\ndue: 2026-12-01\nnote: \"a: b\"\n\
                     quip: 'it''s'\nempty:\n# a comment\n\n";
        let fast = mapping(front).expect("in the subset");
        assert_eq!(Some(fast), full(front));
    }

    #[test]
    fn leaves_the_rest_to_the_full_parser() {
        for front in [
            "a:\n  - x\n",
            "a: |\n  text\n",
            "a: &x 1\nb: *x\n",
            "a: !tag x\n",
            "a: x # comment\n",
            "a: \"esc\\n\"\n",
            "a: 0x1f\n",
            "a: 1.5\n",
            "a: -1\n",
            "a: 99999999999999999999999\n",
            "a: 1\na: 2\n",
            "true: x\n",
            "a: {b: c}\n",
            "a:\tb\n",
            "a: [x, [y]]\n",
            "a: [x,]\n",
            "- x\n",
            "---\n",
            "a b: c\n",
        ] {
            assert_eq!(mapping(front), None, "{front:?}");
        }
    }

    #[test]
    fn str_value_borrows_strings_only() {
        assert_eq!(str_value("x y"), Some(Some("x y")));
        assert_eq!(str_value("\"1\""), Some(Some("1")));
        assert_eq!(str_value("1"), Some(None));
        assert_eq!(str_value("null"), Some(None));
        assert_eq!(str_value("[a]"), Some(None));
        assert_eq!(str_value("'it''s'"), None);
    }

    /// Lines built from pieces that sit on the edges of the subset.
    fn line() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "id", "title", "a-b", "_x", "null", "True", "inf", "k1", "y", "on",
        ]);
        let atom = prop::sample::select(vec![
            "x",
            "role:backend",
            "a:b",
            "a: b",
            "a #b",
            "a#b",
            "1",
            "01",
            "0",
            "-1",
            "+1",
            "1.5",
            ".5",
            "1e3",
            "0x1f",
            "0o7",
            "2026-11-20",
            "2026-11-20T10:00:00Z",
            "2026-1-2",
            "~",
            "null",
            "NULL",
            "true",
            "False",
            "yes",
            "no",
            "inf",
            ".inf",
            "nan",
            "a,b",
            "[a]",
            "{a}",
            "x]",
            "it's",
            "\"q\"",
            "'q'",
            "'it''s'",
            "\"a\\\"b\"",
            "@at",
            "`t`",
            "%p",
            "&a",
            "*a",
            "!t",
            "|",
            ">",
            "?x",
            ":x",
            "-x",
            "- x",
            "a\tb",
            "T-1",
            "x:",
            "é ü",
            "a  b",
            "18446744073709551616",
            "",
            " ",
        ]);
        let value = prop_oneof![
            atom.clone().prop_map(str::to_string),
            prop::collection::vec(atom, 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        ];
        let comment = prop::sample::select(vec!["", "", " # c", "  #c"]);
        prop_oneof![
            4 => (key, value, comment).prop_map(|(k, v, c)| format!("{k}: {v}{c}")),
            1 => Just("# comment".to_string()),
            1 => Just(String::new()),
            1 => Just("  indented".to_string()),
            1 => Just("   ".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Wherever the fast reader answers, it answers what the full parser does.
        #[test]
        fn agrees_with_the_full_parser(lines in prop::collection::vec(line(), 0..8), crlf: bool) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let front: String = lines.iter().map(|l| format!("{l}{eol}")).collect();
            if let Some(fast) = mapping(&front) {
                prop_assert_eq!(Some(fast), full(&front), "{:?}", front);
            }
            if let Some(lines) = super::lines(&front) {
                for l in lines {
                    let read = value(l.value);
                    match str_value(l.value) {
                        Some(Some(s)) => {
                            prop_assert_eq!(&read, &Some(Value::String(s.to_string())));
                        }
                        Some(None) => prop_assert!(
                            matches!(&read, Some(v) if !v.is_string()),
                            "{:?} reads as {:?}", l.value, read
                        ),
                        // Only a string that needs unescaping is left to `value` alone.
                        None => prop_assert!(
                            read.is_none() || l.value.starts_with('\''),
                            "{:?} reads as {:?}", l.value, read
                        ),
                    }
                    if let Some(list) = flow_list(l.value) {
                        let items: Vec<Value> = list
                            .iter()
                            .map(|s| serde_norway::from_str::<Value>(s).unwrap())
                            .collect();
                        let expected = match &read {
                            Some(Value::Sequence(v)) => v.clone(),
                            other => panic!("{:?} reads as {:?}", l.value, other),
                        };
                        // Each item's spelling reads back as the item.
                        prop_assert_eq!(items.len(), expected.len());
                        for (got, want) in list.iter().zip(&expected) {
                            let want = match want {
                                Value::String(s) => s.clone(),
                                Value::Number(n) => n.to_string(),
                                Value::Bool(b) => b.to_string(),
                                other => panic!("{other:?}"),
                            };
                            prop_assert_eq!(got, &want);
                        }
                    }
                    if let Some(n) = plain_int(l.value) {
                        prop_assert_eq!(&read, &Some(Value::Number(n.into())));
                    }
                }
            }
        }
    }
}
