//! The frontmatter splitter on any bytes: it never panics, the parts it returns join back to
//! the input byte for byte, and the task parser behind it never panics either. The scan, which
//! reads only a file's head, sees the task a full read sees.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tasks::store::scan::{read_full, read_head};
use tasks::task::Task;
use tasks::task::model::valid_id;
use tasks::task::split::{LinesWithEnds, MAX_FRONTMATTER_BYTES, as_utf8, is_delimiter, split};

/// One scratch file per fuzzing process.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("tasks-fuzz-{}.md", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    head_and_full_agree(data);
    let text = match as_utf8(data) {
        Ok(text) => text,
        Err(e) => {
            let lines = 1 + data.iter().filter(|b| **b == b'\n').count();
            assert!((1..=lines).contains(&e.line()), "{e:?} in {lines} lines");
            return;
        }
    };
    let parts = match split(text) {
        Ok(parts) => parts,
        Err(e) => {
            let lines = 1 + text.matches('\n').count();
            assert!((1..=lines).contains(&e.line()), "{e:?} in {lines} lines");
            return;
        }
    };
    let joined = [
        parts.bom,
        parts.open,
        parts.frontmatter,
        parts.close,
        parts.body,
    ]
    .concat();
    assert_eq!(joined, text, "the parts join back to the input");
    assert_eq!(parts.body_offset() + parts.body.len(), text.len());
    assert!(parts.bom.is_empty() || parts.bom == "\u{feff}");
    assert!(is_delimiter(parts.open.trim_end_matches('\n')));
    assert!(is_delimiter(parts.close.trim_end_matches('\n')));
    assert!(parts.open.ends_with('\n'));
    assert!(parts.close.ends_with('\n') || parts.body.is_empty());
    assert!(parts.frontmatter.len() <= MAX_FRONTMATTER_BYTES);
    // The first delimiter after the opening line closes the frontmatter.
    for line in LinesWithEnds::new(parts.frontmatter) {
        assert!(line.ends_with('\n'));
        assert!(!is_delimiter(line.trim_end_matches('\n')), "{line:?}");
    }
    if let Ok(task) = Task::parse(&parts) {
        assert!(valid_id(&task.id), "{:?}", task.id);
    }
});

/// `list` reads a file up to its closing `---`; `show` and every write read all of it. Where
/// the full read finds a task, the head read finds the same one; where the head read finds a
/// task the full read does not, the full read failed on the body's bytes (not UTF-8).
fn head_and_full_agree(data: &[u8]) {
    let path = scratch();
    std::fs::write(path, data).unwrap();
    let head = read_head(path);
    let full = read_full(path);
    match (&full, &head) {
        (Ok(full), Ok(head)) => assert_eq!(&full.task, head),
        (Ok(full), Err(e)) => panic!(
            "the head read fails ({e:?}) where the full read finds {:?}",
            full.task.id
        ),
        (Err(e), Ok(_)) => assert!(e.message.contains("UTF-8"), "{e:?}"),
        (Err(_), Err(_)) => {}
    }
}
