//! How claims ended: `stuck_in_review`, `retry_exhausted` and `unverified_done`.

use chrono::{DateTime, Utc};
use serde_json::json;
use serde_norway::Value;

use super::liveness::{ago, time};
use super::{Severity, Signal};
use crate::config::Config;
use crate::store::Scan;
use crate::task::Status;

pub fn signals(scan: &Scan, config: &Config, now: DateTime<Utc>) -> Vec<Signal> {
    let mut out = Vec::new();
    for e in &scan.tasks {
        let t = &e.task;
        match t.status {
            Status::InReview => {
                // `done` records the move to review as the outcome's time.
                let since = t
                    .get_str("outcome_at")
                    .or(t.get_str("updated_at"))
                    .and_then(time);
                let limit = chrono::Duration::seconds(config.sla_review().secs() as i64);
                if let Some(since) = since.filter(|s| now - *s > limit) {
                    out.push(Signal {
                        task: Some(t.id.clone()),
                        kind: "stuck_in_review",
                        severity: Severity::Warn,
                        detail: format!(
                            "in review for {} (sla.review {})",
                            ago((now - since).num_seconds()),
                            config.sla_review()
                        ),
                        evidence: json!({ "since": t.get_str("outcome_at").or(t.get_str("updated_at")) }),
                    });
                }
            }
            Status::Failed => {
                let max = t.max_attempts().unwrap_or(config.max_attempts());
                if t.attempts() >= max {
                    out.push(Signal {
                        task: Some(t.id.clone()),
                        kind: "retry_exhausted",
                        severity: Severity::Error,
                        detail: format!(
                            "failed {} of {max} attempts{}; it needs a person (`tasks reopen`)",
                            t.attempts(),
                            t.reason()
                                .map(|r| format!(", last: {r}"))
                                .unwrap_or_default()
                        ),
                        evidence: json!({
                            "attempts": t.attempts(),
                            "max_attempts": max,
                            "failed_agents": t.failed_agents(),
                        }),
                    });
                }
            }
            Status::Done if skipped_verification(t.get("verified").as_ref()) => {
                let why = match t.get("verified").as_ref() {
                    Some(Value::Mapping(m)) => m
                        .get("reason")
                        .and_then(Value::as_str)
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                out.push(Signal {
                    task: Some(t.id.clone()),
                    kind: "unverified_done",
                    severity: Severity::Warn,
                    detail: format!("done without running the done checks{why}"),
                    evidence: json!({ "outcome_by": t.get_str("outcome_by") }),
                });
            }
            _ => {}
        }
    }
    out
}

/// `verified: skipped` or `verified: {skipped: true, …}`.
fn skipped_verification(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => s == "skipped",
        Some(Value::Mapping(m)) => m.get("skipped").and_then(Value::as_bool) == Some(true),
        _ => false,
    }
}
