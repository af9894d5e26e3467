//! Scanning `.tasks/**/*.md`. For listing, each file is read only up to the end of its
//! frontmatter; bad files are reported with path, line and reason, and skipped.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::task::Task;
use crate::task::model::ParseError;
use crate::task::split::{self, as_utf8, is_delimiter};

/// A task read from disk.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub task: Task,
}

/// A file that could not be read as a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub path: PathBuf,
    pub line: usize,
    pub reason: String,
    /// The id the file seems to carry, when one can be made out, so a command asked for
    /// that id can name this file instead of saying there is no such task.
    pub id: Option<String>,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub tasks: Vec<Entry>,
    pub invalid: Vec<Invalid>,
    /// Id → position in `tasks`, built once the scan is complete.
    index: HashMap<String, usize>,
}

impl Scan {
    /// A scan of just these tasks (a subset read for a quick question).
    pub fn from_entries(tasks: Vec<Entry>) -> Scan {
        let index = tasks
            .iter()
            .enumerate()
            .map(|(i, e)| (e.task.id.clone(), i))
            .collect();
        Scan {
            tasks,
            invalid: Vec::new(),
            index,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.index.get(id).map(|&i| &self.tasks[i])
    }
}

/// Whether a path relative to a tasks folder names a task file: a `.md` file that is not a
/// README, with no dot-folder or dot-file on the way (the rule `task_files` walks by).
pub fn is_task_file(rel: &Path) -> bool {
    let hidden = rel
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    !hidden && name.ends_with(".md") && !name.eq_ignore_ascii_case("README.md")
}

/// The candidate task files under `tasks_dir`, in a stable order.
pub fn task_files(tasks_dir: &Path) -> Vec<PathBuf> {
    task_files_and_strays(tasks_dir).0
}

/// The candidate task files, and the strays: entries that look like task files or folders of
/// them but are not regular files or folders (symbolic links above all, which could lead
/// anywhere). Strays are never read or written, only reported.
fn task_files_and_strays(tasks_dir: &Path) -> (Vec<PathBuf>, Vec<Invalid>) {
    let mut files = Vec::new();
    let mut strays = Vec::new();
    let entries = WalkDir::new(tasks_dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| e.ok());
    for e in entries {
        let name = e.file_name().to_string_lossy();
        let task_name = name.ends_with(".md") && !name.eq_ignore_ascii_case("README.md");
        let kind = e.file_type();
        if kind.is_file() {
            if task_name {
                files.push(e.into_path());
            }
        } else if kind.is_symlink() && e.depth() > 0 {
            let to_folder = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
            if task_name || to_folder {
                let target = std::fs::read_link(e.path())
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                strays.push(stray(
                    e.into_path(),
                    &format!("a symbolic link to {target}"),
                ));
            }
        } else if !kind.is_dir() && task_name {
            strays.push(stray(e.into_path(), "not a regular file"));
        }
    }
    files.sort();
    (files, strays)
}

fn stray(path: PathBuf, what: &str) -> Invalid {
    Invalid {
        path,
        line: 1,
        reason: format!(
            "{what}: tasks reads and writes only regular files inside .tasks/, so it is skipped"
        ),
        id: None,
    }
}

/// Reads every task's frontmatter. Duplicate ids make every file carrying them invalid:
/// no command may guess which one is meant.
pub fn scan(tasks_dir: &Path) -> Scan {
    let mut out = Scan::default();
    let (files, strays) = task_files_and_strays(tasks_dir);
    out.invalid = strays;
    for path in files {
        match read_head(&path) {
            Ok(task) => out.tasks.push(Entry { path, task }),
            Err(e) => {
                let id = probable_id(&path);
                out.invalid.push(Invalid {
                    path,
                    line: e.line,
                    reason: e.message,
                    id,
                })
            }
        }
    }
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, entry) in out.tasks.iter().enumerate() {
        seen.entry(entry.task.id.clone()).or_default().push(i);
    }
    let mut duplicated: Vec<usize> = Vec::new();
    for indexes in seen.values().filter(|v| v.len() > 1) {
        for &i in indexes {
            let others: Vec<String> = indexes
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| display_name(tasks_dir, &out.tasks[j].path))
                .collect();
            let entry = &out.tasks[i];
            let line = crate::task::edit::key_spans(&frontmatter_of(&entry.path))
                .iter()
                .find(|s| s.key == "id")
                .map_or(1, |s| s.line + split::Split::FRONTMATTER_FIRST_LINE);
            out.invalid.push(Invalid {
                path: entry.path.clone(),
                line,
                reason: format!(
                    "duplicate id `{}` (also in {})",
                    entry.task.id,
                    others.join(", ")
                ),
                id: Some(entry.task.id.clone()),
            });
            duplicated.push(i);
        }
    }
    duplicated.sort_unstable();
    for i in duplicated.into_iter().rev() {
        out.tasks.remove(i);
    }
    out.invalid.sort_by(|a, b| a.path.cmp(&b.path));
    let invalid = std::mem::take(&mut out.invalid);
    let mut out = Scan::from_entries(out.tasks);
    out.invalid = invalid;
    out
}

/// The value of a top-level `id:` line in the head of a file that did not parse.
fn probable_id(path: &Path) -> Option<String> {
    let head = read_head_bytes(path).ok()?;
    String::from_utf8_lossy(&head).lines().find_map(|line| {
        let value = line.strip_prefix("id:")?.split(" #").next()?.trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

fn frontmatter_of(path: &Path) -> String {
    let head = read_head_bytes(path).unwrap_or_default();
    let text = String::from_utf8(head).unwrap_or_default();
    split::split(&text)
        .map(|s| s.frontmatter.to_string())
        .unwrap_or_default()
}

/// A path relative to the folder above `.tasks/`, for messages.
pub fn display_name(tasks_dir: &Path, path: &Path) -> String {
    let base = tasks_dir.parent().unwrap_or(tasks_dir);
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The bytes of a file up to and including its closing frontmatter line (or all of it when the
/// frontmatter is never closed, so the error can say so).
fn read_head_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    // The opening line and the frontmatter are each refused past the size limit; never read
    // further than both (and a BOM, and the start of the closing line).
    let limit = 2 * split::MAX_FRONTMATTER_BYTES as u64 + 4096;
    let mut reader = BufReader::new(File::open(path)?.take(limit));
    let mut head = Vec::with_capacity(1024);
    let mut line = Vec::with_capacity(128);
    let mut first = true;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(head);
        }
        head.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line);
        let text = if first {
            text.trim_start_matches('\u{feff}')
        } else {
            &text
        };
        let text = text.trim_end_matches('\n');
        if first {
            if !is_delimiter(text) {
                // Not a task file; keep a little so the splitter reports the right error.
                return Ok(head);
            }
            first = false;
        } else if is_delimiter(text) {
            return Ok(head);
        }
    }
}

/// Parses a task from the head of its file.
pub fn read_head(path: &Path) -> Result<Task, ParseError> {
    let head = read_head_bytes(path).map_err(|e| io_error(&e))?;
    let text = as_utf8(&head)?;
    let parts = split::split(text)?;
    Task::parse(&parts)
}

/// A whole file, read for an edit or for `show`.
pub struct FullFile {
    pub text: String,
    pub task: Task,
}

pub fn read_full(path: &Path) -> Result<FullFile, ParseError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| io_error(&e))?;
    let text = as_utf8(&bytes)?.to_string();
    let task = Task::parse(&split::split(&text)?)?;
    Ok(FullFile { text, task })
}

fn io_error(e: &std::io::Error) -> ParseError {
    ParseError {
        line: 1,
        message: format!("cannot read: {e}"),
    }
}
