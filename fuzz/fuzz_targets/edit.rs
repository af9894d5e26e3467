//! The minimal-diff editor on any task file and any one change.
//!
//! The input is a command line, then the file: `KEY=VALUE` (VALUE read as YAML, else as
//! text) sets a key, `-KEY` removes one, `+TEXT` appends a note. When the editor accepts the
//! change, the result must parse, hold the new value (or lose the key), keep every other key
//! and every other frontmatter line as it was, and keep the body byte for byte (a note only
//! adds lines to it). Refusing is always allowed; panicking never is.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_norway::{Mapping, Value};
use tasks::task::edit::{self, Edit, key_spans, parse_mapping};
use tasks::task::split::{LinesWithEnds, split};
use tasks::task::{Task, yaml};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Some((command, text)) = input.split_once('\n') else {
        return;
    };
    let mut change = Edit::default();
    let key = if let Some(key) = command.strip_prefix('-') {
        change.remove(key);
        Some(key)
    } else if let Some(note) = command.strip_prefix('+') {
        change.note = Some(note.to_string());
        None
    } else if let Some((key, value)) = command.split_once('=') {
        let value = yaml::parse(value).unwrap_or_else(|_| Value::String(value.to_string()));
        change.set(key, value);
        Some(key)
    } else {
        return;
    };

    let Ok(out) = edit::apply(text, &change) else {
        return;
    };
    let before = split(text).expect("the editor accepted a file that does not split");
    let after = split(&out).expect("the edited file does not split");
    let old = parse_mapping(before.frontmatter).expect("the editor accepted bad YAML");
    let new = parse_mapping(after.frontmatter).expect("the edited frontmatter does not parse");
    assert_eq!(before.bom, after.bom);
    assert_eq!(before.open, after.open);

    let Some(key) = key else {
        // A note: the frontmatter is untouched, the body keeps every line and gains the note.
        assert_eq!(before.frontmatter, after.frontmatter);
        let note = change.note.as_deref().unwrap_or_default();
        assert!(
            note.lines().all(|l| after.body.contains(l)),
            "the note is in the body"
        );
        assert!(
            only_inserts(before.body, after.body),
            "the old body is kept byte for byte around what was added"
        );
        return;
    };

    let mut expected: Mapping = old.clone();
    match &change.changes[0] {
        edit::Change::Set(_, value) => {
            expected.insert(Value::String(key.to_string()), value.clone());
        }
        edit::Change::Remove(_) => {
            expected.remove(key);
        }
    }
    assert_eq!(new, expected, "exactly the one key changed");
    assert_eq!(before.body, after.body, "the body is byte-identical");
    // Every frontmatter line outside the edited key is kept, in order.
    assert_eq!(
        other_lines(before.frontmatter, key),
        other_lines(after.frontmatter, key),
        "only the edited key's lines differ"
    );
    // The parser copes with whatever the editor wrote.
    let _ = Task::parse(&after);
});

/// The frontmatter's lines outside the spans of `key`, line endings dropped (a last line
/// without one gains one when a key is appended after it).
fn other_lines<'a>(frontmatter: &'a str, key: &str) -> Vec<&'a str> {
    let spans: Vec<(usize, usize)> = key_spans(frontmatter)
        .into_iter()
        .filter(|s| s.key == key)
        .map(|s| (s.start, s.end))
        .collect();
    let mut pos = 0;
    let mut out = Vec::new();
    for line in LinesWithEnds::new(frontmatter) {
        let inside = spans.iter().any(|&(start, end)| pos >= start && pos < end);
        if !inside {
            out.push(line.trim_end_matches(['\n', '\r']));
        }
        pos += line.len();
    }
    out
}

/// Is `new` the bytes of `old` with something inserted at one place?
fn only_inserts(old: &str, new: &str) -> bool {
    let (old, new) = (old.as_bytes(), new.as_bytes());
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    new.len() > old.len() && prefix + suffix == old.len()
}
