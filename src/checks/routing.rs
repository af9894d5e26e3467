//! Who a task is for: `pickup_overdue`, `owner_alias` and `unroutable_owner`.

use chrono::{DateTime, Utc};
use serde_json::json;
use serde_norway::Value;

use super::liveness::{ago, time};
use super::{Severity, Signal};
use crate::config::Config;
use crate::lifecycle;
use crate::store::Scan;
use crate::task::{Status, Task};

/// The keys that hold a person's name.
const PERSON_KEYS: [&str; 6] = [
    "owner",
    "assignee",
    "claimed_by",
    "outcome_by",
    "reviewed_by",
    "failed_agents",
];

pub fn signals(scan: &Scan, config: &Config, now: DateTime<Utc>) -> Vec<Signal> {
    let mut out = Vec::new();
    for e in &scan.tasks {
        let t = &e.task;
        if t.status == Status::Open && t.assignee().is_some() {
            let since = t.get_str("assigned_at").and_then(time);
            let limit = chrono::Duration::seconds(config.sla_pickup().secs() as i64);
            if let Some(since) = since.filter(|s| now - *s > limit) {
                out.push(Signal {
                    task: Some(t.id.clone()),
                    kind: "pickup_overdue",
                    severity: Severity::Warn,
                    detail: format!(
                        "assigned to {} {} ago and not claimed (sla.pickup {})",
                        t.assignee().unwrap_or_default(),
                        ago((now - since).num_seconds()),
                        config.sla_pickup()
                    ),
                    evidence: json!({ "assignee": t.assignee(), "assigned_at": t.get_str("assigned_at") }),
                });
            }
        }
        let aliases = aliases_in(t, config);
        if !aliases.is_empty() {
            let list: Vec<String> = aliases
                .iter()
                .map(|(k, name, canon)| format!("{k}: {name} (is {canon})"))
                .collect();
            out.push(Signal {
                task: Some(t.id.clone()),
                kind: "owner_alias",
                severity: Severity::Warn,
                detail: format!(
                    "holds a name that is not the canonical one: {}",
                    list.join(", ")
                ),
                evidence: json!(
                    aliases
                        .iter()
                        .map(|(k, name, canon)| json!({"key": k, "name": name, "canonical": canon}))
                        .collect::<Vec<_>>()
                ),
            });
        }
        let finished = t.status.is_finished();
        // An assigned task is offered to its assignee, whatever its owner says.
        let assigned = t.assignee().is_some_and(|a| !a.trim().is_empty());
        if !finished && !assigned && !lifecycle::owner_routes(t.owner(), config) {
            let owner = t.owner().unwrap_or_default();
            let why = match owner.strip_prefix("role:") {
                Some(role) => format!("nobody holds the role `{}` (config `roles:`)", role.trim()),
                None => format!("`{owner}` is not a known person (routing.strict)"),
            };
            out.push(Signal {
                task: Some(t.id.clone()),
                kind: "unroutable_owner",
                severity: Severity::Warn,
                detail: format!("owner {owner} routes to nobody: {why}; no one is offered it"),
                evidence: json!({ "owner": owner }),
            });
        }
    }
    out
}

/// (key, name as written, canonical name) for every person's name that is an alias.
pub fn aliases_in(task: &Task, config: &Config) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    if config.identities.is_empty() {
        // Every name is its own canonical name.
        return out;
    }
    for (key, value) in PERSON_KEYS.iter().zip(task.get_each(&PERSON_KEYS)) {
        let names: Vec<&str> = match &value {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Sequence(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        for name in names {
            if name.trim().starts_with("role:") {
                continue;
            }
            let canon = lifecycle::canonical(name, config);
            if canon != name.trim() {
                out.push((key.to_string(), name.to_string(), canon));
            }
        }
    }
    out
}
