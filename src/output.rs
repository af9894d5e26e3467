//! Output: the JSON envelope, tables on a terminal, stable plain columns when piped, colour.

use std::io::{IsTerminal, Write};
use std::path::Path;

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use serde_json::{Map, Value as Json, json};
use serde_norway::Value as Yaml;

use crate::cli::{ColorChoice, GlobalArgs};
use crate::error::Error;
use crate::task::{Status, Task};

pub const SCHEMA_VERSION: u32 = 1;

/// `println!` to stdout that never panics: a reader that went away (`| head`) ends the output,
/// not the process.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` to stdout that never panics (see `outln!`).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Debug, Clone)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    pub color: bool,
    pub tty: bool,
}

impl Output {
    pub fn new(global: &GlobalArgs) -> Output {
        let tty = std::io::stdout().is_terminal();
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        Output {
            json: global.json,
            quiet: global.quiet,
            color,
            tty,
        }
    }

    /// A status line on stderr (silenced by `--quiet`).
    pub fn status(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    pub fn warn(&self, message: &str) {
        if self.color && std::io::stderr().is_terminal() {
            eprintln!("\x1b[33mwarning:\x1b[0m {message}");
        } else {
            eprintln!("warning: {message}");
        }
    }

    /// Reports an error: the human message (and hints) on stderr; under `--json` also the
    /// typed error document on stdout.
    pub fn error(&self, e: &Error) {
        // The command printed its report already (the JSON document too); the exit code and
        // one line on stderr say the rest.
        if e.reported {
            if !self.quiet {
                eprintln!("{}", e.message);
            }
            return;
        }
        if self.json {
            print_json_error(e);
        }
        let colored = self.color && std::io::stderr().is_terminal();
        let (err, hint) = if colored {
            ("\x1b[1;31mError:\x1b[0m", "\x1b[1;36mHint:\x1b[0m")
        } else {
            ("Error:", "Hint:")
        };
        eprintln!("{err} {}", e.message);
        for h in &e.hints {
            eprintln!("{hint} {h}");
        }
    }

    pub fn print_json(&self, value: &Json) {
        print_json(value);
    }

    /// Prints rows as a table on a terminal, or as tab-separated columns (no header) when piped.
    /// Rows are consumed one at a time, so a long listing is never held whole when piped.
    pub fn rows<S: AsRef<str>>(
        &self,
        header: &[&str],
        rows: impl IntoIterator<Item = Vec<S>>,
        status_column: Option<usize>,
    ) {
        let mut stdout = std::io::stdout().lock();
        if !self.tty {
            let mut out = std::io::BufWriter::with_capacity(64 * 1024, &mut stdout);
            for row in rows {
                // Bytes straight into the buffer: no formatting machinery per cell.
                let mut line = Ok(());
                for (i, cell) in row.iter().enumerate() {
                    let sep: &[u8] = if i == 0 { b"" } else { b"\t" };
                    line = line
                        .and_then(|()| out.write_all(sep))
                        .and_then(|()| out.write_all(cell.as_ref().as_bytes()));
                }
                if line.and_then(|()| out.write_all(b"\n")).is_err() {
                    return;
                }
            }
            let _ = out.flush();
            return;
        }
        let mut table = Table::new();
        table
            .load_style(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic);
        // A terminal that reports no usable width gets columns at their natural width.
        if table.width().is_none_or(|w| w < 40) {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
        table.set_header(header.iter().map(|h| {
            let cell = Cell::new(h);
            if self.color {
                cell.add_attribute(comfy_table::Attribute::Bold)
            } else {
                cell
            }
        }));
        for row in rows {
            let cells: Vec<Cell> = row
                .into_iter()
                .enumerate()
                .map(|(i, text)| {
                    let text = text.as_ref();
                    let color = (Some(i) == status_column)
                        .then(|| status_color(text))
                        .flatten();
                    let cell = Cell::new(text);
                    match color {
                        Some(c) if self.color => cell.fg(c),
                        _ => cell,
                    }
                })
                .collect();
            table.add_row(cells);
        }
        let _ = writeln!(stdout, "{table}");
    }
}

fn status_color(text: &str) -> Option<Color> {
    match text.parse::<Status>().ok()? {
        Status::Open => Some(Color::Green),
        Status::InProgress => Some(Color::Yellow),
        Status::InReview => Some(Color::Cyan),
        Status::Blocked | Status::Failed => Some(Color::Red),
        Status::Done | Status::Cancelled => Some(Color::DarkGrey),
    }
}

pub fn print_json(value: &Json) {
    let mut stdout = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut stdout, value);
    let _ = writeln!(stdout);
}

/// Prints any serializable document as one line of JSON, without building a tree first.
pub fn print_serialized<T: serde::Serialize>(value: &T) {
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let _ = serde_json::to_writer(&mut stdout, value);
    let _ = writeln!(stdout);
    let _ = stdout.flush();
}

pub fn print_json_error(e: &Error) {
    let mut error = json!({"code": e.code, "message": e.message});
    if !e.hints.is_empty() {
        error["hints"] = json!(e.hints);
    }
    print_json(&json!({"schema_version": SCHEMA_VERSION, "error": error}));
}

/// TASK: every frontmatter key under its own name (status canonical) plus `path`.
pub fn task_json(task: &Task, path: &Path) -> Json {
    let mut map = Map::new();
    for (k, v) in task.raw().iter() {
        let key = match k {
            Yaml::String(s) => s.clone(),
            other => crate::task::yaml::render(other),
        };
        map.insert(key, yaml_to_json(v));
    }
    map.insert("status".into(), Json::String(task.status.as_str().into()));
    map.insert("path".into(), Json::String(path.display().to_string()));
    Json::Object(map)
}

pub fn yaml_to_json(v: &Yaml) -> Json {
    match v {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                n.as_f64().map_or(Json::Null, |f| json!(f))
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Mapping(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = k
                        .as_str()
                        .map_or_else(|| crate::task::yaml::render(k), str::to_string);
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Yaml::Tagged(t) => yaml_to_json(&t.value),
    }
}

/// `{"schema_version":1,"task":TASK}`
pub fn one_task(task: &Task, path: &Path) -> Json {
    json!({"schema_version": SCHEMA_VERSION, "task": task_json(task, path)})
}

/// `{"schema_version":1,"tasks":[TASK…]}`
pub fn task_list<'a>(items: impl IntoIterator<Item = (&'a Task, &'a Path)>) -> Json {
    let tasks: Vec<Json> = items.into_iter().map(|(t, p)| task_json(t, p)).collect();
    json!({"schema_version": SCHEMA_VERSION, "tasks": tasks})
}
