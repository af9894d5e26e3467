//! `tasks status`: the counts now, and how fresh the last sweep's picture is.

use serde_json::{Value as Json, json};

use super::heartbeat::{snapshot_path, status_counts};
use crate::checks::liveness::{ago, time};
use crate::config::Duration;
use crate::error::Result;
use crate::output::SCHEMA_VERSION;

/// Show counts by status, the last sweep's age and author, and its top signals
///
/// Counts come from the task files as they are now; the signals come from the snapshot the
/// last `tasks heartbeat` wrote, with its age and who ran it. Warns when there is no snapshot
/// or it is older than --max-age.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks status\n  tasks status --max-age 30m")]
pub struct Args {
    /// Warn when the last sweep is older than this
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub max_age: Duration,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let scan = store.scan();
    let now = super::now_time();
    let counts = status_counts(&scan);

    let snap: Option<Json> = std::fs::read_to_string(snapshot_path(&store))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let generated = snap
        .as_ref()
        .and_then(|s| s["generated_at"].as_str())
        .and_then(time);
    let age = generated.map(|g| (now - g).num_seconds());
    let stale = age.is_none_or(|a| a > args.max_age.secs() as i64);
    let top = top_signals(snap.as_ref());

    if ctx.out.json {
        let snapshot = snap.as_ref().map(|s| {
            json!({
                "generated_at": s["generated_at"],
                "generated_by": s["generated_by"],
                "host": s["host"],
                "duration_ms": s["duration_ms"],
                "age_seconds": age,
                "stale": stale,
            })
        });
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "counts": counts,
            "snapshot": snapshot,
            "top_signals": top
                .iter()
                .map(|(kind, severity, n)| json!({"kind": kind, "severity": severity, "count": n}))
                .collect::<Vec<_>>(),
        }));
    } else {
        let line: Vec<String> = counts
            .iter()
            .filter(|(k, v)| *k != "unreadable" || v.as_u64() != Some(0))
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        crate::outln!("{}", line.join(" · "));
        match (&snap, age) {
            (Some(s), Some(age)) => crate::outln!(
                "last sweep: {} ago by {} on {} ({} ms)",
                ago(age),
                s["generated_by"].as_str().unwrap_or("?"),
                s["host"].as_str().unwrap_or("?"),
                s["duration_ms"]
            ),
            _ => crate::outln!("last sweep: none"),
        }
        if top.is_empty() {
            if snap.is_some() {
                crate::outln!("signals: none");
            }
        } else {
            let list: Vec<String> = top
                .iter()
                .map(|(kind, severity, n)| format!("{kind} {n} ({severity})"))
                .collect();
            crate::outln!("signals: {}", list.join(", "));
        }
    }
    if stale {
        let what = match age {
            Some(a) => format!(
                "the last sweep is {} old (over --max-age {})",
                ago(a),
                args.max_age
            ),
            None => "no sweep has run yet".to_string(),
        };
        ctx.out.warn(&format!(
            "{what}: run `tasks heartbeat` (cron or `tasks hooks install`)"
        ));
    }
    Ok(())
}

/// (kind, severity, count) from the snapshot's rows, worst and most frequent first.
fn top_signals(snap: Option<&Json>) -> Vec<(String, String, u64)> {
    let mut out: Vec<(String, String, u64)> = Vec::new();
    let Some(snap) = snap else {
        return out;
    };
    let rows = snap["tasks"].as_array().into_iter().flatten();
    let signals = rows
        .flat_map(|r| r["signals"].as_array().into_iter().flatten())
        .chain(snap["global"].as_array().into_iter().flatten());
    for s in signals {
        let kind = s["kind"].as_str().unwrap_or_default().to_string();
        let severity = s["severity"].as_str().unwrap_or_default().to_string();
        match out.iter_mut().find(|(k, _, _)| *k == kind) {
            Some(entry) => entry.2 += 1,
            None => out.push((kind, severity, 1)),
        }
    }
    let rank = |severity: &str| u8::from(severity == "error");
    out.sort_by(|a, b| {
        rank(&b.1)
            .cmp(&rank(&a.1))
            .then(b.2.cmp(&a.2))
            .then(a.0.cmp(&b.0))
    });
    out.truncate(5);
    out
}
