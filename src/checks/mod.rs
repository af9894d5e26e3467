//! Checks: each looks at the store and returns signals, printing nothing. Commands group the
//! signals into one row per task (the sweep shape) and decide the exit code from them.

pub mod deps;
pub mod drift;
pub mod files;
pub mod liveness;
pub mod orphans;
pub mod outcomes;
pub mod routing;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value as Json, json};

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::{Error, Kind, Result};
use crate::output::{Output, SCHEMA_VERSION};
use crate::store::{Scan, Store};

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

impl Serialize for Signal {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("kind", self.kind)?;
        map.serialize_entry("severity", self.severity.as_str())?;
        map.serialize_entry("detail", &self.detail)?;
        if !self.evidence.is_null() {
            map.serialize_entry("evidence", &self.evidence)?;
        }
        map.end()
    }
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("status", &self.status)?;
        if let Some(d) = &self.detail {
            map.serialize_entry("age_seconds", &d.age_seconds)?;
            map.serialize_entry("holder", &d.holder)?;
        }
        map.serialize_entry("signals", &self.signals)?;
        map.end()
    }
}

/// The sweep shape: `{schema_version, generated_at, tasks, global}` (and `fixes`).
#[derive(serde::Serialize)]
pub struct ReportJson<'a> {
    pub schema_version: u32,
    pub generated_at: &'a str,
    pub tasks: &'a [Row],
    pub global: &'a [Signal],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixes: Option<&'a [Json]>,
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
    /// For the full sweep: how the task stands beyond its signals.
    pub detail: Option<RowDetail>,
}

/// What the full sweep shows of every task it lists.
pub struct RowDetail {
    /// Seconds since the task last changed (`updated_at`, else `created_at`).
    pub age_seconds: Option<i64>,
    /// Who holds the claim, when one is live.
    pub holder: Option<String>,
}

/// Every check of the sweep: each one's signals, in the order they are listed (files,
/// dependencies, liveness, orphans, drift, routing, outcomes). Kept apart, so that grouping
/// them never holds a second copy of them all.
pub fn sweep(store: &Store, scan: &Scan, now: DateTime<Utc>) -> Vec<Vec<Signal>> {
    type Check<'a> = &'a (dyn Fn() -> Vec<Signal> + Sync);
    // The heaviest first, so that two cores taking them in turn finish close together.
    let checks: [Check<'_>; 7] = [
        &|| deps::signals(scan),
        &|| liveness::signals(store, scan, now),
        &|| outcomes::signals(scan, &store.config, now),
        &|| routing::signals(scan, &store.config, now),
        &|| orphans::signals(store, scan, None),
        &|| drift::signals(store, &drift::analyze(store, scan, None, None)),
        &|| files::signals(store, scan),
    ];
    // The order their signals are listed in: files, dependencies, liveness, orphans, drift,
    // routing, outcomes.
    const LISTED: [usize; 7] = [6, 0, 1, 4, 5, 3, 2];
    let mut found: [Vec<Signal>; 7] = Default::default();
    let parallel = scan.tasks.len() >= crate::store::scan::PARALLEL_FROM
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if parallel {
        // The checks only read, so on a large folder two cores take the next one in turn.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let take_turns = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(check) = checks.get(i) else {
                    return done;
                };
                done.push((i, check()));
            }
        };
        std::thread::scope(|s| {
            let other = s.spawn(take_turns);
            let mine = take_turns();
            let theirs = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, signals) in mine.into_iter().chain(theirs) {
                found[i] = signals;
            }
        });
    } else {
        for (i, check) in checks.iter().enumerate() {
            found[i] = check();
        }
    }
    LISTED
        .iter()
        .map(|&i| std::mem::take(&mut found[i]))
        .collect()
}

/// Each row's signals, and the global ones, worst first (in the order found, within a
/// severity).
fn worst_first(rows: &mut [Row], global: &mut [Signal]) {
    for row in rows {
        row.signals.sort_by_key(|s| std::cmp::Reverse(s.severity));
    }
    global.sort_by_key(|s| std::cmp::Reverse(s.severity));
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
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut global = Vec::new();
        for s in signals {
            let Some(id) = s.task.clone() else {
                global.push(s);
                continue;
            };
            match at.get(&id) {
                Some(&i) => rows[i].signals.push(s),
                None => {
                    at.insert(id.clone(), rows.len());
                    rows.push(Row {
                        status: status_of(&id).unwrap_or_else(|| "missing".into()),
                        id,
                        signals: vec![s],
                        detail: None,
                    });
                }
            }
        }
        worst_first(&mut rows, &mut global);
        Report {
            generated_at,
            rows,
            global,
        }
    }

    /// The full sweep's report: a row for every task with a signal and every live claim (with
    /// `all`, every task), each with its age and holder; worst rows first.
    pub fn sweep(
        generated_at: String,
        signals: Vec<Vec<Signal>>,
        scan: &Scan,
        now: DateTime<Utc>,
        all: bool,
        config: &crate::config::Config,
    ) -> Report {
        // A task only a worktree has: the status its copy says (from the drift evidence).
        let worktree_status: Vec<(String, String)> = signals
            .iter()
            .flatten()
            .filter_map(|s| {
                let status = s.evidence.get("worktree_status")?.as_str()?;
                Some((s.task.clone()?, status.to_string()))
            })
            .collect();
        let status_elsewhere = |id: &str| {
            worktree_status
                .iter()
                .find(|(t, _)| t == id)
                .map(|(_, s)| s.clone())
                .or_else(|| {
                    scan.invalid
                        .iter()
                        .any(|i| i.id.as_deref() == Some(id))
                        .then(|| "unreadable".to_string())
                })
                .unwrap_or_else(|| "missing".into())
        };
        // Rows of the scan's tasks are found by position (no copy of any id); the others
        // (unreadable files, tasks only a worktree has, missing ones) by id.
        const NO_ROW: u32 = u32::MAX;
        let mut row_of = vec![NO_ROW; scan.tasks.len()];
        let mut by_id: HashMap<String, usize> = HashMap::new();
        let mut rows: Vec<Row> = Vec::new();
        // Each row's task, by position in the scan.
        let mut task_at: Vec<Option<usize>> = Vec::new();
        let mut global = Vec::new();
        // Each check's signals are freed as soon as they are moved into rows.
        for s in signals.into_iter().flatten() {
            let Some(id) = s.task.as_deref() else {
                global.push(s);
                continue;
            };
            let at = scan.position(id);
            let row = match at {
                Some(p) => Some(row_of[p]).filter(|r| *r != NO_ROW).map(|r| r as usize),
                None => by_id.get(id).copied(),
            };
            if let Some(row) = row {
                rows[row].signals.push(s);
                continue;
            }
            let status = match at {
                Some(p) => {
                    row_of[p] = rows.len() as u32;
                    scan.tasks[p].task.status.as_str().to_string()
                }
                None => {
                    by_id.insert(id.to_string(), rows.len());
                    status_elsewhere(id)
                }
            };
            rows.push(Row {
                id: id.to_string(),
                status,
                signals: vec![s],
                detail: None,
            });
            task_at.push(at);
        }
        worst_first(&mut rows, &mut global);
        for (p, e) in scan.tasks.iter().enumerate() {
            let listed = all || e.task.status.is_claimed();
            if listed && row_of[p] == NO_ROW {
                rows.push(Row {
                    id: e.task.id.clone(),
                    status: e.task.status.as_str().to_string(),
                    signals: Vec::new(),
                    detail: None,
                });
                task_at.push(Some(p));
            }
        }
        for (row, at) in rows.iter_mut().zip(task_at) {
            let task = at.map(|p| &scan.tasks[p].task);
            let changed = task.and_then(|t| {
                t.get_str("updated_at")
                    .or(t.created_at())
                    .and_then(liveness::time)
            });
            row.detail = Some(RowDetail {
                age_seconds: changed.map(|c| (now - c).num_seconds()),
                holder: task
                    .filter(|t| t.status.is_claimed())
                    .and_then(|t| t.claimed_by())
                    .map(|h| crate::lifecycle::canonical(h, config)),
            });
        }
        let mut report = Report {
            generated_at,
            rows,
            global,
        };
        let worst = |r: &Row| r.signals.first().map(|s| s.severity);
        report.rows.sort_by(|a, b| {
            worst(b)
                .cmp(&worst(a))
                .then_with(|| b.signals.len().cmp(&a.signals.len()))
                .then_with(|| a.id.cmp(&b.id))
        });
        report
    }

    pub fn signals(&self) -> impl Iterator<Item = &Signal> {
        self.rows
            .iter()
            .flat_map(|r| r.signals.iter())
            .chain(&self.global)
    }

    /// The report as JSON: written straight from the rows, never as a tree in memory.
    pub fn body(&self) -> ReportJson<'_> {
        ReportJson {
            schema_version: SCHEMA_VERSION,
            generated_at: &self.generated_at,
            tasks: &self.rows,
            global: &self.global,
            fixes: None,
        }
    }

    /// Prints the report (one row per task, then the global signals) or, when there is
    /// nothing, says so on stderr.
    pub fn print(&self, out: &Output, clean: &str) {
        if out.json {
            crate::output::print_serialized(&self.body());
            return;
        }
        if self.rows.is_empty() && self.global.is_empty() {
            out.status(clean);
            return;
        }
        let sep = if out.tty { "\n" } else { "; " };
        let line = |s: &Signal| format!("{}: {}", s.kind, s.detail);
        let full = self.rows.iter().any(|r| r.detail.is_some());
        let rows = self.rows.iter().map(|r| {
            let mut row = vec![r.id.clone(), r.status.clone()];
            if let Some(d) = r.detail.as_ref().filter(|_| full) {
                row.push(
                    d.age_seconds
                        .map(liveness::ago)
                        .unwrap_or_else(|| "-".into()),
                );
                row.push(d.holder.clone().unwrap_or_else(|| "-".into()));
            }
            row.push(
                r.signals
                    .first()
                    .map_or("ok", |s| s.severity.as_str())
                    .to_string(),
            );
            row.push(r.signals.iter().map(line).collect::<Vec<_>>().join(sep));
            row
        });
        let blanks = if full { 4 } else { 2 };
        // Rows are made as they are printed: a long sweep is never held whole a second time.
        let rows = rows.chain(self.global.iter().map(|s| {
            let mut row = vec!["-".to_string(); blanks];
            row.push(s.severity.as_str().to_string());
            row.push(line(s));
            row
        }));
        let header: &[&str] = if full {
            &["ID", "STATUS", "AGE", "HOLDER", "SEVERITY", "SIGNALS"]
        } else {
            &["ID", "STATUS", "SEVERITY", "SIGNALS"]
        };
        out.rows(header, rows, Some(1));
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
