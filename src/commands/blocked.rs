//! `tasks blocked`: what is waiting, and on what.

use serde_json::json;

use crate::error::Result;
use crate::lifecycle::{self, Blocker};
use crate::output::{self, SCHEMA_VERSION};
use crate::task::Status;

/// List what waits, and on what: blocked status (with its reason), unfinished dependencies, or
/// an owner that routes to nobody
///
/// Under --json each task carries `blocked_by`: a list of {kind, id?, status?, detail}.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks blocked\n  tasks blocked --json")]
pub struct Args {}

pub fn run(ctx: &super::Ctx, _args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let scan = store.scan();
    ctx.warn_invalid(&store, &scan);
    let status_of = super::status_lookup(&scan);
    let mut rows = Vec::new();
    for entry in &scan.tasks {
        let t = &entry.task;
        if !matches!(t.status, Status::Open | Status::Blocked) {
            continue;
        }
        let mut why: Vec<serde_json::Value> = Vec::new();
        if t.status == Status::Blocked {
            let detail = t.reason().unwrap_or_else(|| "marked blocked".into());
            why.push(json!({"kind": "status", "detail": detail}));
        }
        for b in lifecycle::blockers(t, &status_of, None, None, &store.config) {
            match &b {
                Blocker::Dependency { id, status } => why.push(json!({
                    "kind": "dependency", "id": id, "status": status.map(|s| s.as_str()), "detail": b.to_string(),
                })),
                Blocker::Unroutable(_) => why.push(json!({"kind": "unroutable_owner", "detail": b.to_string()})),
                _ => {}
            }
        }
        if !why.is_empty() {
            rows.push((entry, why));
        }
    }
    lifecycle::sort_in_ready_order(&mut rows, |r| &r.0.task);
    if ctx.out.json {
        let tasks: Vec<serde_json::Value> = rows
            .iter()
            .map(|(e, why)| {
                let mut v = output::task_json(&e.task, &e.path);
                v["blocked_by"] = json!(why);
                v
            })
            .collect();
        ctx.out
            .print_json(&json!({"schema_version": SCHEMA_VERSION, "tasks": tasks}));
        return Ok(());
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(e, why)| {
            let reasons: Vec<String> = why
                .iter()
                .map(|w| w["detail"].as_str().unwrap_or_default().to_string())
                .collect();
            vec![
                e.task.id.clone(),
                e.task.status.to_string(),
                reasons.join("; "),
                e.task.title().to_string(),
            ]
        })
        .collect();
    ctx.out
        .rows(&["ID", "STATUS", "BLOCKED BY", "TITLE"], table, Some(1));
    Ok(())
}
