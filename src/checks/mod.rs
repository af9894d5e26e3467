//! Checks: each looks at the store and returns signals, printing nothing. Commands group the
//! signals into one row per task (the sweep shape) and decide the exit code from them.

pub mod drift;
pub mod orphans;

use serde_json::{Value as Json, json};

use crate::error::{Error, Kind, Result};
use crate::output::{Output, SCHEMA_VERSION};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warn,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

/// One finding: about a task (or the whole store when `task` is `None`).
#[derive(Debug, Clone)]
pub struct Signal {
    pub task: Option<String>,
    pub kind: &'static str,
    pub severity: Severity,
    pub detail: String,
    /// Machine-readable facts behind the detail (`null` when there are none).
    pub evidence: Json,
}

impl Signal {
    pub fn to_json(&self) -> Json {
        let mut v = json!({
            "kind": self.kind,
            "severity": self.severity.as_str(),
            "detail": self.detail,
        });
        if !self.evidence.is_null() {
            v["evidence"] = self.evidence.clone();
        }
        v
    }
}

/// The lowest severity that makes a sweep exit 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FailOn {
    Warn,
    #[default]
    Error,
    Never,
}

impl FailOn {
    pub fn fails(self, s: Severity) -> bool {
        match self {
            FailOn::Warn => true,
            FailOn::Error => s == Severity::Error,
            FailOn::Never => false,
        }
    }
}

/// One row per task: its status and every signal about it, worst first.
pub struct Row {
    pub id: String,
    pub status: String,
    pub signals: Vec<Signal>,
}

/// Signals grouped the way every sweep prints them.
pub struct Report {
    pub generated_at: String,
    pub rows: Vec<Row>,
    pub global: Vec<Signal>,
}

impl Report {
    /// Groups signals by task, in the order tasks first appear; `status_of` gives each
    /// task's status (`missing` when it has none).
    pub fn new(
        generated_at: String,
        signals: Vec<Signal>,
        status_of: impl Fn(&str) -> Option<String>,
    ) -> Report {
        let mut rows: Vec<Row> = Vec::new();
        let mut global = Vec::new();
        for s in signals {
            let Some(id) = s.task.clone() else {
                global.push(s);
                continue;
            };
            match rows.iter_mut().find(|r| r.id == id) {
                Some(row) => row.signals.push(s),
                None => rows.push(Row {
                    status: status_of(&id).unwrap_or_else(|| "missing".into()),
                    id,
                    signals: vec![s],
                }),
            }
        }
        for row in &mut rows {
            row.signals.sort_by_key(|s| std::cmp::Reverse(s.severity));
        }
        global.sort_by_key(|s| std::cmp::Reverse(s.severity));
        Report {
            generated_at,
            rows,
            global,
        }
    }

    pub fn signals(&self) -> impl Iterator<Item = &Signal> {
        self.rows
            .iter()
            .flat_map(|r| r.signals.iter())
            .chain(&self.global)
    }

    pub fn to_json(&self) -> Json {
        let tasks: Vec<Json> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "status": r.status,
                    "signals": r.signals.iter().map(Signal::to_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "schema_version": SCHEMA_VERSION,
            "generated_at": self.generated_at,
            "tasks": tasks,
            "global": self.global.iter().map(Signal::to_json).collect::<Vec<_>>(),
        })
    }

    /// Prints the report (one row per task, then the global signals) or, when there is
    /// nothing, says so on stderr.
    pub fn print(&self, out: &Output, clean: &str) {
        if out.json {
            out.print_json(&self.to_json());
            return;
        }
        if self.rows.is_empty() && self.global.is_empty() {
            out.status(clean);
            return;
        }
        let sep = if out.tty { "\n" } else { "; " };
        let line = |s: &Signal| format!("{}: {}", s.kind, s.detail);
        let mut rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.status.clone(),
                    r.signals[0].severity.as_str().to_string(),
                    r.signals.iter().map(line).collect::<Vec<_>>().join(sep),
                ]
            })
            .collect();
        rows.extend(self.global.iter().map(|s| {
            vec![
                "-".to_string(),
                "-".to_string(),
                s.severity.as_str().to_string(),
                line(s),
            ]
        }));
        out.rows(&["ID", "STATUS", "SEVERITY", "SIGNALS"], rows, Some(1));
    }

    /// Exit 7 when any signal is at or above `fail_on`.
    pub fn outcome(&self, fail_on: FailOn) -> Result<()> {
        let failing = self.signals().filter(|s| fail_on.fails(s.severity)).count();
        if failing == 0 {
            return Ok(());
        }
        let level = match fail_on {
            FailOn::Warn => "warn",
            _ => "error",
        };
        Err(Error::new(
            Kind::Signals,
            "signals",
            format!(
                "{failing} signal{} at or above `{level}`",
                if failing == 1 { "" } else { "s" }
            ),
        )
        .reported())
    }
}
