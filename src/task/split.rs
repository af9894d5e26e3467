//! Splitting a task file into exact byte slices: opening line, frontmatter, closing line, body.
//!
//! Nothing is normalised: joining the slices gives back the input byte for byte, so an edit
//! can replace one slice and leave every other byte alone (CRLF, BOM, a body full of `---`).

use thiserror::Error;

/// Why a file could not be split. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SplitError {
    #[error("the file is empty; a task file starts with a `---` line")]
    Empty,
    #[error("not valid UTF-8 (first bad byte on this line)")]
    NotUtf8 { line: usize },
    #[error("no frontmatter: the first line must be `---`")]
    NoFrontmatter,
    #[error("the frontmatter opened on line 1 is never closed by a `---` line")]
    Unterminated { lines: usize },
    #[error(
        "the frontmatter is larger than {} KiB (it passes the limit on this line)",
        MAX_FRONTMATTER_BYTES / 1024
    )]
    TooLarge { line: usize },
}

/// The largest frontmatter read. Task metadata is a few hundred bytes; a bigger block is a
/// mistake or an attack, and is refused before any YAML parser sees it.
pub const MAX_FRONTMATTER_BYTES: usize = 64 * 1024;

impl SplitError {
    /// The line the problem is on, for `path:line: reason` messages.
    pub fn line(&self) -> usize {
        match self {
            SplitError::NotUtf8 { line } | SplitError::TooLarge { line } => *line,
            SplitError::Empty | SplitError::NoFrontmatter | SplitError::Unterminated { .. } => 1,
        }
    }
}

/// A task file cut into its parts. Concatenating the fields in order gives the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    /// `"\u{feff}"` when the file starts with a byte-order mark, else `""`.
    pub bom: &'a str,
    /// The opening `---` line, with its line ending.
    pub open: &'a str,
    /// Every line between the delimiters, each with its line ending.
    pub frontmatter: &'a str,
    /// The closing `---` line, with its line ending (none when the file ends there).
    pub close: &'a str,
    /// Everything after the closing line, untouched.
    pub body: &'a str,
}

impl<'a> Split<'a> {
    /// The 1-based line number of the first frontmatter line.
    pub const FRONTMATTER_FIRST_LINE: usize = 2;

    /// The line ending this file uses, judged by its opening line.
    pub fn eol(&self) -> &'static str {
        if self.open.ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// The byte offset of the body within the original text.
    pub fn body_offset(&self) -> usize {
        self.bom.len() + self.open.len() + self.frontmatter.len() + self.close.len()
    }
}

/// Checks that `bytes` is UTF-8, naming the line of the first bad byte otherwise.
pub fn as_utf8(bytes: &[u8]) -> Result<&str, SplitError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        SplitError::NotUtf8 { line }
    })
}

/// Is this line (without its ending) a `---` delimiter? Trailing blanks are tolerated.
pub fn is_delimiter(line: &str) -> bool {
    let line = line.strip_suffix('\r').unwrap_or(line);
    line.trim_end_matches([' ', '\t']) == "---"
}

/// Splits a whole file. The body may itself contain `---` lines: only the first one after the
/// opening line closes the frontmatter.
pub fn split(text: &str) -> Result<Split<'_>, SplitError> {
    if text.is_empty() {
        return Err(SplitError::Empty);
    }
    let (bom, rest) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (&text[..3], rest),
        None => ("", text),
    };
    let mut lines = LinesWithEnds::new(rest);
    let open = lines.next().unwrap_or("");
    if !is_delimiter(open.trim_end_matches('\n')) {
        return Err(SplitError::NoFrontmatter);
    }
    let fm_start = open.len();
    if fm_start > MAX_FRONTMATTER_BYTES {
        // An opening line padded with blanks past the limit.
        return Err(SplitError::TooLarge { line: 1 });
    }
    let mut pos = fm_start;
    let mut count = 1;
    for line in lines {
        count += 1;
        if line.starts_with("---") && is_delimiter(line.trim_end_matches('\n')) {
            let close_end = pos + line.len();
            return Ok(Split {
                bom,
                open,
                frontmatter: &rest[fm_start..pos],
                close: &rest[pos..close_end],
                body: &rest[close_end..],
            });
        }
        pos += line.len();
        if pos - fm_start > MAX_FRONTMATTER_BYTES {
            return Err(SplitError::TooLarge { line: count });
        }
    }
    Err(SplitError::Unterminated { lines: count })
}

/// [`split`] for the head of a file whose opening line ends at `open_end` and whose closing
/// line starts at `close_start` and ends the text, as [`HeadFinder`] found them: the same
/// parts without looking at the lines again.
pub fn split_head(
    text: &str,
    open_end: usize,
    close_start: usize,
) -> Result<Split<'_>, SplitError> {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let fits =
        open_end - bom <= MAX_FRONTMATTER_BYTES && close_start - open_end <= MAX_FRONTMATTER_BYTES;
    if !fits || !text.is_char_boundary(open_end) || !text.is_char_boundary(close_start) {
        // The errors, with their line numbers, are `split`'s to give.
        return split(text);
    }
    Ok(Split {
        bom: &text[..bom],
        open: &text[bom..open_end],
        frontmatter: &text[open_end..close_start],
        close: &text[close_start..],
        body: "",
    })
}

/// Finds the end of a file's frontmatter while the file is read in pieces: each call looks at
/// all that has been read so far, and resumes where the last one stopped.
#[derive(Debug, Default)]
pub struct HeadFinder {
    /// The end of the opening line (after its `\n`), once it has been read.
    open_end: Option<usize>,
    /// Where the search for the closing line resumes.
    from: usize,
}

/// What [`HeadFinder::advance`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// Not yet: read more.
    More,
    /// The first line, `len` bytes long with its `\n`, is not a delimiter: not a task file.
    NotOpened { len: usize },
    /// The opening line ends at `open_end`; the closing line runs from `close_start` to `end`
    /// (after its `\n`).
    Closed {
        open_end: usize,
        close_start: usize,
        end: usize,
    },
}

impl HeadFinder {
    pub fn advance(&mut self, read: &[u8]) -> Head {
        let open_end = match self.open_end {
            Some(end) => end,
            None => {
                let Some(nl) = memchr::memchr(b'\n', read) else {
                    return Head::More;
                };
                let line = &read[..nl];
                let line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
                if !is_delimiter_bytes(line) {
                    return Head::NotOpened { len: nl + 1 };
                }
                self.open_end = Some(nl + 1);
                // The search starts at the opening line's `\n`.
                self.from = nl;
                nl + 1
            }
        };
        static CLOSE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\n---"));
        loop {
            let Some(at) = CLOSE.find(&read[self.from..]) else {
                // A `\n--` at the end may be the start of the closing line.
                self.from = self.from.max(read.len().saturating_sub(3));
                return Head::More;
            };
            let start = self.from + at + 1;
            let Some(len) = memchr::memchr(b'\n', &read[start..]) else {
                self.from = start - 1;
                return Head::More;
            };
            if is_delimiter_bytes(&read[start..start + len]) {
                return Head::Closed {
                    open_end,
                    close_start: start,
                    end: start + len + 1,
                };
            }
            self.from = start + len;
        }
    }
}

/// [`is_delimiter`] on the bytes of a line without its `\n`.
pub fn is_delimiter_bytes(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let end = line
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    &line[..end] == b"---"
}

/// Lines of a string, each keeping its `\n` (the last may have none).
pub struct LinesWithEnds<'a> {
    rest: &'a str,
}

impl<'a> LinesWithEnds<'a> {
    pub fn new(text: &'a str) -> Self {
        LinesWithEnds { rest: text }
    }
}

impl<'a> Iterator for LinesWithEnds<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self
            .rest
            .as_bytes()
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.rest.len(), |i| i + 1);
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(line)
    }
}

/// Strips one trailing `\n` or `\r\n`.
pub fn strip_eol(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the finder makes of `text` read in pieces of these sizes, as `split` parts (or
    /// `None` when it never finds a closing line).
    fn found<'a>(text: &'a str, pieces: &[usize]) -> Option<Result<Split<'a>, SplitError>> {
        let bytes = text.as_bytes();
        let mut finder = HeadFinder::default();
        let mut read = 0;
        let mut pieces = pieces.iter().cycle();
        while read < bytes.len() {
            read = (read + pieces.next().copied().unwrap_or(1).max(1)).min(bytes.len());
            match finder.advance(&bytes[..read]) {
                Head::More => {}
                Head::NotOpened { len } => {
                    return Some(split(&text[..len.min(text.len())]));
                }
                Head::Closed {
                    open_end,
                    close_start,
                    end,
                } => return Some(split_head(&text[..end], open_end, close_start)),
            }
        }
        None
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Read in any pieces, the finder cuts a file where `split` does.
        #[test]
        fn the_finder_agrees_with_split(
            parts in prop::collection::vec(prop::sample::select(vec![
                "---", "--- ", "---\t", "----", "-- -", "--", "-", "\n", "\r\n", "\r",
                "a: b", "x", " ", "\u{feff}", "é", "#",
            ]), 0..24),
            pieces in prop::collection::vec(1usize..9, 1..4),
        ) {
            let text: String = parts.concat();
            let whole = split(&text);
            match found(&text, &pieces) {
                Some(Ok(head)) => {
                    let whole = whole.expect("split agrees the head is fine");
                    prop_assert_eq!(head.bom, whole.bom);
                    prop_assert_eq!(head.open, whole.open);
                    prop_assert_eq!(head.frontmatter, whole.frontmatter);
                    prop_assert_eq!(head.close, whole.close);
                }
                Some(Err(e)) => prop_assert_eq!(Err(e), whole.map(|_| ())),
                // Never closed by a whole line: `split` finds no closing line ending in `\n`.
                None => prop_assert!(
                    whole.as_ref().map_or(true, |w| !w.close.ends_with('\n')),
                    "{:?} -> {:?}", text, whole
                ),
            }
        }
    }

    fn joined(s: &Split<'_>) -> String {
        [s.bom, s.open, s.frontmatter, s.close, s.body].concat()
    }

    #[test]
    fn lf_file() {
        let text = "---\nid: a\n---\nbody\n";
        let s = split(text).unwrap();
        assert_eq!(s.open, "---\n");
        assert_eq!(s.frontmatter, "id: a\n");
        assert_eq!(s.close, "---\n");
        assert_eq!(s.body, "body\n");
        assert_eq!(s.eol(), "\n");
        assert_eq!(joined(&s), text);
    }

    #[test]
    fn crlf_and_bom() {
        let text = "\u{feff}---\r\nid: a\r\ntitle: b\r\n---\r\nbody\r\n";
        let s = split(text).unwrap();
        assert_eq!(s.bom, "\u{feff}");
        assert_eq!(s.open, "---\r\n");
        assert_eq!(s.frontmatter, "id: a\r\ntitle: b\r\n");
        assert_eq!(s.close, "---\r\n");
        assert_eq!(s.eol(), "\r\n");
        assert_eq!(joined(&s), text);
        assert_eq!(s.body_offset(), text.len() - "body\r\n".len());
    }

    #[test]
    fn body_with_delimiters_is_left_alone() {
        let text = "---\nid: a\n---\nintro\n---\nmore\n---\n";
        let s = split(text).unwrap();
        assert_eq!(s.frontmatter, "id: a\n");
        assert_eq!(s.body, "intro\n---\nmore\n---\n");
    }

    #[test]
    fn no_final_newline() {
        let s = split("---\nid: a\n---").unwrap();
        assert_eq!(s.close, "---");
        assert_eq!(s.body, "");
        let s = split("---\nid: a\n---\nlast line").unwrap();
        assert_eq!(s.body, "last line");
    }

    #[test]
    fn empty_frontmatter() {
        let s = split("---\n---\n").unwrap();
        assert_eq!(s.frontmatter, "");
    }

    #[test]
    fn errors() {
        assert_eq!(split(""), Err(SplitError::Empty));
        assert_eq!(split("# title\n"), Err(SplitError::NoFrontmatter));
        assert_eq!(split("----\nid: a\n---\n"), Err(SplitError::NoFrontmatter));
        assert!(matches!(
            split("---\nid: a\n"),
            Err(SplitError::Unterminated { .. })
        ));
        assert_eq!(split("---\nid: a\n").unwrap_err().line(), 1);
        let bytes = b"---\nid: a\ntitle: \xff\n---\n";
        assert_eq!(as_utf8(bytes), Err(SplitError::NotUtf8 { line: 3 }));
    }

    #[test]
    fn frontmatter_size_is_limited() {
        let line = format!("k: {}\n", "x".repeat(1020));
        let fits = format!("---\n{}---\nbody\n", line.repeat(64));
        assert_eq!(
            split(&fits).unwrap().frontmatter.len(),
            MAX_FRONTMATTER_BYTES
        );
        let over = format!("---\n{}z: 1\n---\n", line.repeat(64));
        assert_eq!(split(&over), Err(SplitError::TooLarge { line: 66 }));
        // Never closed and too large: the size is what is reported, as soon as it is passed.
        let open = format!("---\n{}", line.repeat(100));
        assert_eq!(split(&open), Err(SplitError::TooLarge { line: 66 }));
        // So is an opening line padded past it (a reader of the head alone could not tell
        // where the frontmatter starts).
        let padded = format!("---{}\nid: a\n---\n", " ".repeat(MAX_FRONTMATTER_BYTES));
        assert_eq!(split(&padded), Err(SplitError::TooLarge { line: 1 }));
        // A large body is fine.
        let body = format!("---\nid: a\n---\n{}", line.repeat(1000));
        assert!(split(&body).is_ok());
    }

    #[test]
    fn delimiter_tolerates_trailing_blanks_only() {
        assert!(is_delimiter("---"));
        assert!(is_delimiter("---  \r"));
        assert!(!is_delimiter(" ---"));
        assert!(!is_delimiter("--- x"));
    }
}
