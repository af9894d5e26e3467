//! The minimal-diff editor: change frontmatter keys and append notes while every other byte of
//! the file stays as it was.
//!
//! A key written on one line is rewritten in place, keeping its padding and inline comment.
//! A key whose value spans several lines (a block list, a block scalar) is re-rendered on one
//! line. New keys go at the end of the frontmatter. Each edit is re-parsed and checked to have
//! changed exactly what was asked; if not, nothing is returned to be written.

use serde_norway::{Mapping, Value};
use thiserror::Error;

use super::split::{LinesWithEnds, split, strip_eol};
use super::yaml;

/// One change to a frontmatter key.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Set(String, Value),
    Remove(String),
}

/// Everything one write does to a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edit {
    pub changes: Vec<Change>,
    /// A line of text (without line ending) to append under the body's `## Notes` heading.
    pub note: Option<String>,
    /// A whole new body (a three-way merge's result), replacing the old one. Not combined
    /// with `note`.
    pub body: Option<String>,
}

impl Edit {
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.changes
            .push(Change::Set(key.to_string(), value.into()));
        self
    }

    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.changes.push(Change::Remove(key.to_string()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.note.is_none() && self.body.is_none()
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum EditError {
    #[error("the file cannot be split: {0}")]
    Split(#[from] super::split::SplitError),
    #[error("the frontmatter is not a YAML mapping")]
    NotAMapping,
    #[error("the frontmatter does not parse: {0}")]
    Yaml(String),
    #[error("the edit could not be verified ({0}); the file was left untouched")]
    Unverified(String),
}

/// Where one top-level key sits in the frontmatter text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpan {
    pub key: String,
    /// Byte range of the key's lines (including continuation lines) within the frontmatter.
    pub start: usize,
    pub end: usize,
    /// 0-based index of the key's line within the frontmatter.
    pub line: usize,
    /// Byte offset of the key's `:` within its line.
    pub colon: usize,
}

/// Finds the top-level `key:` lines of a frontmatter block and the lines that belong to each.
///
/// Continuation lines (indented, `- item`, blank or comment lines) belong to the key above;
/// trailing blank and comment lines are left out of a span so deleting or re-rendering a key
/// never eats a comment that introduces the next one.
pub fn key_spans(frontmatter: &str) -> Vec<KeySpan> {
    let mut spans: Vec<KeySpan> = Vec::new();
    // End of the last line that was real content of the current key.
    let mut content_end = 0;
    // Inside a `|` or `>` scalar an indented `#` line is text, not a comment.
    let mut block_scalar = false;
    let mut pos = 0;
    for (index, line) in LinesWithEnds::new(frontmatter).enumerate() {
        let bare = strip_eol(line);
        if let Some((key, colon)) = key_line(bare) {
            if let Some(last) = spans.last_mut() {
                last.end = content_end;
            }
            let value = bare[colon + 1..].trim_start();
            block_scalar = value.starts_with(['|', '>']);
            spans.push(KeySpan {
                key,
                start: pos,
                end: pos + line.len(),
                line: index,
                colon,
            });
            content_end = pos + line.len();
        } else {
            let trimmed = bare.trim_start();
            let comment = trimmed.starts_with('#') && (bare.starts_with('#') || !block_scalar);
            let is_filler = trimmed.is_empty() || comment || bare.trim_end() == "...";
            if !is_filler {
                content_end = pos + line.len();
            }
        }
        pos += line.len();
    }
    if let Some(last) = spans.last_mut() {
        last.end = content_end;
    }
    spans
}

/// If this line starts a top-level mapping entry, its key (unquoted) and the byte offset of
/// the `:` that ends the key.
fn key_line(line: &str) -> Option<(String, usize)> {
    let first = line.chars().next()?;
    let second = line[first.len_utf8()..].chars().next();
    let blank_or_end = |c: Option<char>| c.is_none_or(|c| c == ' ' || c == '\t');
    if first.is_whitespace() || first == '#' {
        return None;
    }
    // `- item`, `? key` and `: value` are indicators; `-x` is an ordinary key.
    if matches!(first, '-' | '?' | ':') && blank_or_end(second) {
        return None;
    }
    if first == '"' || first == '\'' {
        let close = if first == '"' {
            closing_double_quote(line)?
        } else {
            closing_single_quote(line)?
        };
        let after = &line[close + 1..];
        let colon = close + 1 + (after.len() - after.trim_start_matches([' ', '\t']).len());
        let rest = &line[colon..];
        if !rest.starts_with(':') || !blank_or_end(rest[1..].chars().next()) {
            return None;
        }
        let key = match yaml::parse(&line[..=close]) {
            Ok(Value::String(k)) => k,
            _ => return None,
        };
        return Some((key, colon));
    }
    if "[]{},&*!|>%@`".contains(first) {
        return None;
    }
    let bytes = line.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b':' && (i + 1 == bytes.len() || matches!(bytes[i + 1], b' ' | b'\t')) {
            return Some((line[..i].trim_end().to_string(), i));
        }
        if bytes[i] == b'#' && i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
            return None;
        }
    }
    None
}

/// Splits the text after `key:` into leading blanks, the value, and the rest (padding and an
/// inline comment). Returns `None` when the value cannot be delimited on this line.
fn split_value(after_colon: &str) -> Option<(&str, &str, &str)> {
    let lead_len = after_colon.len() - after_colon.trim_start_matches([' ', '\t']).len();
    let (lead, rest) = after_colon.split_at(lead_len);
    let value_len = match rest.chars().next() {
        None | Some('#') => 0,
        Some('"') => closing_double_quote(rest)? + 1,
        Some('\'') => closing_single_quote(rest)? + 1,
        Some('[') | Some('{') => closing_bracket(rest)? + 1,
        Some(_) => {
            let comment = rest
                .char_indices()
                .find(|&(i, c)| c == '#' && i > 0 && rest[..i].ends_with([' ', '\t']))
                .map_or(rest.len(), |(i, _)| i);
            rest[..comment].trim_end_matches([' ', '\t']).len()
        }
    };
    let (value, tail) = rest.split_at(value_len);
    // After a quoted or bracketed value only blanks and a comment may follow on this line.
    let after = tail.trim_start_matches([' ', '\t']);
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    Some((lead, value, tail))
}

fn closing_double_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn closing_single_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

fn closing_bracket(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            '"' => {
                let close = closing_double_quote(&s[i..])?;
                let target = i + close;
                for (j, _) in chars.by_ref() {
                    if j == target {
                        break;
                    }
                }
            }
            '\'' => {
                let close = closing_single_quote(&s[i..])?;
                let target = i + close;
                for (j, _) in chars.by_ref() {
                    if j == target {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// Parses a frontmatter block into its top-level mapping (an empty block is an empty mapping).
pub fn parse_mapping(frontmatter: &str) -> Result<Mapping, EditError> {
    if let Some(map) = super::fast::mapping(frontmatter) {
        return Ok(map);
    }
    match yaml::parse(frontmatter) {
        Ok(Value::Mapping(m)) => Ok(m),
        Ok(Value::Null) => Ok(Mapping::new()),
        Ok(_) => Err(EditError::NotAMapping),
        Err(e) => Err(EditError::Yaml(e.to_string())),
    }
}

/// Applies an edit to a whole file's text and returns the new text, verified.
pub fn apply(text: &str, edit: &Edit) -> Result<String, EditError> {
    let parts = split(text)?;
    let eol = parts.eol();
    let before = parse_mapping(parts.frontmatter)?;

    let mut frontmatter = parts.frontmatter.to_string();
    for change in &edit.changes {
        frontmatter = apply_change(&frontmatter, change, eol);
    }

    let mut close = parts.close.to_string();
    let mut body = parts.body.to_string();
    if let Some(note) = &edit.note {
        if !close.ends_with('\n') {
            close.push_str(eol);
        }
        body = append_note(parts.body, note, eol);
    } else if let Some(new) = &edit.body {
        if !close.ends_with('\n') && !new.is_empty() {
            close.push_str(eol);
        }
        body = new.clone();
    }

    let out = [parts.bom, parts.open, &frontmatter, &close, &body].concat();
    verify(&before, parts.body, edit, &out)?;
    Ok(out)
}

fn apply_change(frontmatter: &str, change: &Change, eol: &str) -> String {
    let key = match change {
        Change::Set(key, _) | Change::Remove(key) => key,
    };
    let span = key_spans(frontmatter).into_iter().find(|s| &s.key == key);
    match (change, span) {
        (Change::Remove(_), None) => frontmatter.to_string(),
        (Change::Remove(_), Some(span)) => {
            [&frontmatter[..span.start], &frontmatter[span.end..]].concat()
        }
        (Change::Set(key, value), None) => {
            let mut out = frontmatter.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(eol);
            }
            out.push_str(&format!(
                "{}: {}{}",
                yaml::render_string(key, true),
                yaml::render(value),
                eol
            ));
            out
        }
        (Change::Set(_, value), Some(span)) => {
            let old = &frontmatter[span.start..span.end];
            let first = LinesWithEnds::new(old).next().unwrap_or("");
            let line_eol = if first.ends_with("\r\n") {
                "\r\n"
            } else if first.ends_with('\n') {
                "\n"
            } else {
                eol
            };
            let bare = strip_eol(first);
            let colon = span.colon;
            let (key_part, after_colon) = bare.split_at(colon + 1);
            let single_line = old.len() == first.len();
            let rendered = yaml::render(value);
            let line = match split_value(after_colon) {
                Some((lead, old_value, tail))
                    if single_line && !old_value.is_empty() && !is_block_indicator(old_value) =>
                {
                    format!("{key_part}{lead}{rendered}{tail}")
                }
                Some((_, _, tail)) => {
                    // A block value or an empty one: render on the key's line, keep the comment.
                    let comment = tail.trim_start_matches([' ', '\t']);
                    if comment.is_empty() {
                        format!("{key_part} {rendered}")
                    } else {
                        format!("{key_part} {rendered} {comment}")
                    }
                }
                None => format!("{key_part} {rendered}"),
            };
            [
                &frontmatter[..span.start],
                &line,
                line_eol,
                &frontmatter[span.end..],
            ]
            .concat()
        }
    }
}

fn is_block_indicator(value: &str) -> bool {
    value.starts_with(['|', '>', '&', '*', '!'])
}

/// Appends `note` as the last line of the `## Notes` section, creating the section at the end
/// of the body when there is none.
pub fn append_note(body: &str, note: &str, eol: &str) -> String {
    // A note may span lines; they take the file's line ending like every other line.
    let note = note.replace("\r\n", "\n").replace('\n', eol);
    let note = note.as_str();
    let lines: Vec<&str> = LinesWithEnds::new(body).collect();
    let heading = lines
        .iter()
        .position(|l| strip_eol(l).trim_end() == "## Notes");
    let Some(heading) = heading else {
        let mut out = body.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        if !out.is_empty() && !out.ends_with(&format!("{eol}{eol}")) {
            out.push_str(eol);
        }
        out.push_str(&format!("## Notes{eol}{note}{eol}"));
        return out;
    };
    // The section runs to the next heading of level one or two, or the end of the body.
    let section_end = lines[heading + 1..]
        .iter()
        .position(|l| l.starts_with("# ") || l.starts_with("## "))
        .map_or(lines.len(), |i| heading + 1 + i);
    let mut insert_at = section_end;
    while insert_at > heading + 1 && strip_eol(lines[insert_at - 1]).trim().is_empty() {
        insert_at -= 1;
    }
    let offset: usize = lines[..insert_at].iter().map(|l| l.len()).sum();
    let mut out = String::with_capacity(body.len() + note.len() + 4);
    out.push_str(&body[..offset]);
    if !out.ends_with('\n') {
        out.push_str(eol);
    }
    out.push_str(note);
    out.push_str(eol);
    out.push_str(&body[offset..]);
    out
}

fn verify(before: &Mapping, old_body: &str, edit: &Edit, out: &str) -> Result<(), EditError> {
    let parts =
        split(out).map_err(|e| EditError::Unverified(format!("result does not split: {e}")))?;
    let after = parse_mapping(parts.frontmatter)
        .map_err(|e| EditError::Unverified(format!("result does not parse: {e}")))?;
    let mut expected = before.clone();
    for change in &edit.changes {
        match change {
            Change::Set(key, value) => {
                expected.insert(Value::String(key.clone()), value.clone());
            }
            Change::Remove(key) => {
                expected.remove(key.as_str());
            }
        }
    }
    if after != expected {
        let changed: Vec<String> = expected
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(*v))
            .chain(after.iter().filter(|(k, _)| !expected.contains_key(*k)))
            .map(|(k, _)| yaml::render(k))
            .collect();
        return Err(EditError::Unverified(format!(
            "unexpected values for {}",
            changed.join(", ")
        )));
    }
    if let Some(new) = edit.body.as_ref().filter(|_| edit.note.is_none()) {
        if parts.body != new {
            return Err(EditError::Unverified(
                "the body is not the one asked for".into(),
            ));
        }
        return Ok(());
    }
    if edit.note.is_none() && parts.body != old_body {
        return Err(EditError::Unverified("the body changed".into()));
    }
    if edit.note.is_some() && parts.body.len() <= old_body.len() {
        return Err(EditError::Unverified("the note was not added".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, key: &str, value: Value) -> String {
        let mut edit = Edit::default();
        edit.set(key, value);
        apply(text, &edit).unwrap()
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn rewrites_only_the_line_keeping_padding_and_comment() {
        let text = "---\nid: a\nstatus:   open   # set by tool\ntitle: 'x'\n---\nbody\n";
        let out = set(text, "status", s("in_progress"));
        assert_eq!(
            out,
            "---\nid: a\nstatus:   in_progress   # set by tool\ntitle: 'x'\n---\nbody\n"
        );
    }

    #[test]
    fn quoted_and_flow_values_are_delimited_before_comments() {
        let text = "---\nid: a\ntitle: \"a # b\" # c\nlabels: [x, \"y]\"] # d\n---\n";
        let out = set(text, "title", s("new"));
        assert_eq!(
            out,
            "---\nid: a\ntitle: new # c\nlabels: [x, \"y]\"] # d\n---\n"
        );
        let out = set(text, "labels", Value::Sequence(vec![s("z")]));
        assert_eq!(
            out,
            "---\nid: a\ntitle: \"a # b\" # c\nlabels: [z] # d\n---\n"
        );
    }

    #[test]
    fn new_keys_are_appended_with_the_files_line_ending() {
        let text = "---\r\nid: a\r\n# trailing comment\r\n---\r\nbody\r\n";
        let out = set(text, "owner", s("alice"));
        assert_eq!(
            out,
            "---\r\nid: a\r\n# trailing comment\r\nowner: alice\r\n---\r\nbody\r\n"
        );
    }

    #[test]
    fn block_values_are_rerendered_alone() {
        let text = "---\nid: a\nlabels:\n  - x\n  - y\n# about owner\nowner: bob\n---\n";
        let out = set(text, "labels", Value::Sequence(vec![s("x"), s("z")]));
        assert_eq!(
            out,
            "---\nid: a\nlabels: [x, z]\n# about owner\nowner: bob\n---\n"
        );
        let text = "---\nid: a\ndesc: |\n  one\n  two\nowner: bob\n---\n";
        let out = set(text, "desc", s("short"));
        assert_eq!(out, "---\nid: a\ndesc: short\nowner: bob\n---\n");
    }

    #[test]
    fn empty_value_gets_a_space() {
        let text = "---\nid: a\nowner:\nx: 1\n---\n";
        assert_eq!(
            set(text, "owner", s("bob")),
            "---\nid: a\nowner: bob\nx: 1\n---\n"
        );
    }

    #[test]
    fn remove_takes_continuation_lines_but_not_the_next_comment() {
        let text = "---\nid: a\nclaimed_by: bob\nlabels:\n- x\n- y\n\n# keep me\nz: 1\n---\n";
        let mut edit = Edit::default();
        edit.remove("labels").remove("claimed_by").remove("missing");
        assert_eq!(
            apply(text, &edit).unwrap(),
            "---\nid: a\n\n# keep me\nz: 1\n---\n"
        );
    }

    #[test]
    fn values_needing_quotes_are_quoted() {
        let text = "---\nid: a\n---\n";
        assert_eq!(
            set(text, "title", s("yes")),
            "---\nid: a\ntitle: \"yes\"\n---\n"
        );
        assert_eq!(
            set(text, "title", s("a: b")),
            "---\nid: a\ntitle: \"a: b\"\n---\n"
        );
    }

    #[test]
    fn notes_go_under_the_notes_heading() {
        let text = "---\nid: a\n---\nIntro\n\n## Notes\n- one\n\n## Later\ntext\n";
        let mut edit = Edit {
            note: Some("- two".into()),
            ..Edit::default()
        };
        assert_eq!(
            apply(text, &edit).unwrap(),
            "---\nid: a\n---\nIntro\n\n## Notes\n- one\n- two\n\n## Later\ntext\n"
        );
        let text = "---\nid: a\n---\nIntro";
        assert_eq!(
            apply(text, &edit).unwrap(),
            "---\nid: a\n---\nIntro\n\n## Notes\n- two\n"
        );
        let text = "---\r\nid: a\r\n---";
        edit.note = Some("- x".into());
        assert_eq!(
            apply(text, &edit).unwrap(),
            "---\r\nid: a\r\n---\r\n## Notes\r\n- x\r\n"
        );
    }

    #[test]
    fn a_note_after_a_lone_carriage_return_keeps_every_old_byte() {
        // Found by the `edit` fuzz target: a body whose last line ends in `\r` alone, with a
        // `## Notes` that is not at the start of a line. The old bytes stay; the note and its
        // heading are added after them.
        let text = "---\nid: a\n---\nx\u{7}\u{0}## Notes\n- old\r";
        let edit = Edit {
            note: Some("- new".into()),
            ..Edit::default()
        };
        assert_eq!(
            apply(text, &edit).unwrap(),
            "---\nid: a\n---\nx\u{7}\u{0}## Notes\n- old\r\n\n## Notes\n- new\n"
        );
    }

    #[test]
    fn unverifiable_edits_are_refused() {
        // A flow-mapping frontmatter has no key lines: appending would duplicate the key.
        let text = "---\n{id: a, title: b}\n---\n";
        let mut edit = Edit::default();
        edit.set("title", s("c"));
        assert!(apply(text, &edit).is_err());
    }

    #[test]
    fn spans_see_keys_and_skip_comments() {
        let spans = key_spans("# head\nid: a\nlabels:\n  - x\n\n# c\nt: 'a: b' # x\n");
        let keys: Vec<&str> = spans.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["id", "labels", "t"]);
        assert_eq!(spans[1].line, 2);
    }
}
