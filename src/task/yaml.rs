//! Rendering YAML values the way a person would write them, quoting only where YAML needs it.
//!
//! Every plain rendering is checked by parsing it back: if YAML would read `yes`, `1`, `null`
//! or `#x` as anything but the string we meant, the string is double-quoted instead.

use serde_norway::Value;

/// Parses one YAML document (a frontmatter block or a scalar).
pub fn parse(text: &str) -> Result<Value, serde_norway::Error> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    if let Some(line) = flow_too_deep(text) {
        return Err(serde::de::Error::custom(too_deep_message(line)));
    }
    serde_norway::from_str(text)
}

/// The deepest nesting of flow collections (`[…]`, `{…}`) accepted. The YAML scanner takes
/// time quadratic in this depth before its own recursion limit stops it (a 64 KiB line of
/// `[` takes many seconds), so deeper text is refused before it is parsed.
pub const MAX_FLOW_DEPTH: usize = 64;

/// The message for text that nests too deep, naming the 1-based line within that text.
pub fn too_deep_message(line: usize) -> String {
    format!("lists or mappings nested more than {MAX_FLOW_DEPTH} deep (line {line})")
}

/// The 1-based line of `text` where flow collections first nest deeper than
/// `MAX_FLOW_DEPTH`, if they do. A linear pre-scan that follows YAML closely enough: brackets
/// count only where a node may start or inside a flow collection, never inside quoted
/// scalars, comments or block scalars. It may over-count in odd corners (so refuse absurd
/// text that YAML might accept), never under-count text YAML would nest.
pub fn flow_too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    // Inside a quoted scalar (which may span lines): its quote character.
    let mut quote: Option<u8> = None;
    // Inside a block scalar (`|`, `>`): the indentation of the line that opened it.
    let mut block_scalar: Option<usize> = None;
    for (index, line) in text.split('\n').enumerate() {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|b| **b == b' ').count();
        if let Some(opened_at) = block_scalar {
            if line.trim().is_empty() || indent > opened_at {
                continue;
            }
            block_scalar = None;
        }
        // At the start of a line a node may start (a key, an item, a flow collection).
        let mut node_start = true;
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if let Some(q) = quote {
                match c {
                    b'\\' if q == b'"' => i += 1,
                    b'\'' if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
                    _ if c == q => quote = None,
                    _ => {}
                }
                i += 1;
                continue;
            }
            let blank_before = i == 0 || matches!(bytes[i - 1], b' ' | b'\t');
            let blank_after = matches!(bytes.get(i + 1), None | Some(b' ' | b'\t' | b'\r'));
            match c {
                b' ' | b'\t' | b'\r' => {}
                b'#' if blank_before => break,
                b'[' | b'{' if node_start || depth > 0 => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some(index + 1);
                    }
                    node_start = true;
                }
                b']' | b'}' if depth > 0 => {
                    depth -= 1;
                    node_start = false;
                }
                b',' if depth > 0 => node_start = true,
                b'"' | b'\'' if node_start => quote = Some(c),
                b':' if blank_after || depth > 0 => node_start = true,
                b'-' | b'?' if node_start && blank_after => {}
                b'|' | b'>' if node_start && depth == 0 => {
                    block_scalar = Some(indent);
                    break;
                }
                // Anchors and tags come before the node they name.
                b'&' | b'!' if node_start => {
                    while i + 1 < bytes.len() && !b" \t,[]{}".contains(&bytes[i + 1]) {
                        i += 1;
                    }
                }
                _ => node_start = false,
            }
            i += 1;
        }
    }
    None
}

/// Renders a value in flow style, on one line.
pub fn render(value: &Value) -> String {
    render_in(value, false)
}

fn render_in(value: &Value, in_flow: bool) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => render_string(s, in_flow),
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().map(|v| render_in(v, true)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Mapping(map) => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", render_in(k, true), render_in(v, true)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
        Value::Tagged(tagged) => format!("{} {}", tagged.tag, render_in(&tagged.value, in_flow)),
    }
}

/// A string as a plain scalar when that reads back as the same string, else double-quoted.
pub fn render_string(s: &str, in_flow: bool) -> String {
    if plain_is_safe(s, in_flow) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

fn plain_is_safe(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if first.is_whitespace() || s.ends_with(char::is_whitespace) {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if s.chars().any(needs_escape) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if in_flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    // YAML 1.1 readers (PyYAML, many editors) take these for booleans; quote them for all.
    const YAML11_BOOLS: [&str; 8] = ["y", "n", "yes", "no", "on", "off", "true", "false"];
    if YAML11_BOOLS.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    // The final word: does YAML read it back as this very string (not a bool, number, null)?
    if in_flow {
        let item = format!("[{s}]");
        return matches!(parse(&item), Ok(Value::Sequence(items)) if items == [Value::String(s.to_string())]);
    }
    matches!(parse(s), Ok(Value::String(back)) if back == s)
}

/// Characters YAML cannot carry raw: controls, line separators it treats as breaks, the
/// byte-order mark, and the non-characters outside its printable set.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// A YAML double-quoted scalar.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if needs_escape(c) => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    #[test]
    fn plain_where_possible() {
        assert_eq!(render(&s("Fix queue race")), "Fix queue race");
        assert_eq!(render(&s("2026-11-20T10:00:00Z")), "2026-11-20T10:00:00Z");
        assert_eq!(render(&s("role:backend")), "role:backend");
        assert_eq!(render(&s("in_progress")), "in_progress");
    }

    #[test]
    fn quoted_where_needed() {
        for tricky in [
            "yes",
            "true",
            "null",
            "~",
            "1",
            "0x1f",
            "1.5",
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
            "tab\there",
            "@at",
            "`tick`",
            "%p",
            "ends:",
            "a\u{2028}b",
            "\u{fffe}",
        ] {
            let rendered = render(&s(tricky));
            assert!(
                rendered.starts_with('"'),
                "{tricky:?} rendered as {rendered}"
            );
            assert_eq!(
                parse(&rendered).unwrap(),
                s(tricky),
                "{tricky:?} did not round-trip"
            );
        }
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        let deep = |n: usize| format!("x: {}{}\n", "[".repeat(n), "]".repeat(n));
        assert_eq!(flow_too_deep(&deep(MAX_FLOW_DEPTH)), None);
        assert!(parse(&deep(MAX_FLOW_DEPTH)).is_ok());
        assert_eq!(flow_too_deep(&deep(MAX_FLOW_DEPTH + 1)), Some(1));
        let started = std::time::Instant::now();
        let err = parse(&deep(60_000)).unwrap_err().to_string();
        assert!(err.contains("nested more than 64 deep"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Across lines, with items, mappings, anchors and tags.
        let spread = format!("a: 1\nb: &x !t\n{}", "  - {k: [v, \n".repeat(40));
        assert_eq!(flow_too_deep(&spread), Some(35));
        // Brackets that are text: quoted, commented, in plain and block scalars.
        let text = "t: a [[[[\nq: \"[[[[\n [[[[\"\ns: '[[ '' [['\nc: x # [[[[\nb: |\n  [[[[\n  [[[[\nd: ok\n";
        let text = text.replace("[[[[", &"[".repeat(100));
        assert_eq!(flow_too_deep(&text), None);
        assert!(parse(&text).is_ok());
        // After the block scalar ends, brackets count again.
        let after = format!("{text}e: {}", "[".repeat(100));
        assert_eq!(flow_too_deep(&after), Some(10));
    }

    #[test]
    fn lists_and_maps() {
        let v: Value = parse("[a, 'b, c', 3]").unwrap();
        assert_eq!(render(&v), "[a, \"b, c\", 3]");
        let v: Value = parse("{at: x, count: 2}").unwrap();
        assert_eq!(render(&v), "{at: x, count: 2}");
        assert_eq!(render(&Value::Sequence(vec![])), "[]");
    }
}
