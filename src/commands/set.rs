//! `tasks set`: change user fields; lifecycle fields belong to the lifecycle commands.

use serde_norway::Value;

use crate::error::{Error, Result};
use crate::lifecycle;
use crate::task::{Edit, Kind, yaml};

/// Set user fields: `tasks set ID priority=1 labels=a,b owner=alice`
///
/// Known keys are checked (priority 0-4, type, lists split on commas); `key=` removes a key;
/// any other key is stored as the YAML value given. Status, claim, outcome and evidence
/// fields are written only by the lifecycle commands.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks set T-3b9x priority=1 labels=db,api owner=alice\n  tasks set T-3b9x owner="
)]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::any_task())]
    pub id: String,
    /// One or more key=value pairs
    #[arg(required = true, value_name = "KEY=VALUE")]
    pub pairs: Vec<String>,
}

const LIFECYCLE_KEYS: [&str; 20] = [
    "id",
    "status",
    "claimed_by",
    "claimed_at",
    "worktree",
    "branch",
    "attempts",
    "failed_agents",
    "outcome",
    "outcome_at",
    "outcome_by",
    "reason",
    "pr_url",
    "pr_number",
    "commit",
    "verified",
    "reviewed_by",
    "reviewed_at",
    "created_at",
    "updated_at",
];

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let mut parsed = Vec::new();
    for pair in &args.pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("`{pair}` is not KEY=VALUE")))?;
        parsed.push((key.trim().to_string(), value.trim().to_string()));
    }
    let (entry, task) = super::update(ctx, &args.id, |_, actor, store, _| {
        let mut edit = Edit::default();
        for (key, value) in &parsed {
            if LIFECYCLE_KEYS.contains(&key.as_str()) {
                return Err(Error::failure(
                    "lifecycle_field",
                    format!("`{key}` is written by the lifecycle commands, not by set"),
                )
                .hint("use claim, done, block, fail, unclaim, reopen or cancel"));
            }
            if key == "depends_on" {
                return Err(Error::failure(
                    "lifecycle_field",
                    "dependencies are changed with `tasks dep add|rm`",
                )
                .hint("dep add refuses a change that would make a cycle"));
            }
            if key.is_empty() || key.contains([':', '#', ' ']) {
                return Err(Error::usage(format!("`{key}` is not a usable key")));
            }
            if value.is_empty() {
                if key == "title" {
                    return Err(Error::failure("invalid_input", "a task needs a title"));
                }
                edit.remove(key);
                if key == "assignee" {
                    edit.remove("assigned_at");
                }
                continue;
            }
            edit.changes.push(crate::task::Change::Set(
                key.clone(),
                value_for(key, value, &store.config)?,
            ));
            // An assignment starts the pickup clock, as `tasks assign` does.
            if key == "assignee" {
                if value.starts_with("role:") {
                    return Err(Error::usage(
                        "an assignee is one person, not a role (owner: role:… routes to a role)",
                    ));
                }
                edit.set("assigned_at", actor.now.as_str());
            }
        }
        Ok(edit)
    })?;
    super::report(ctx, &entry.path, &task, &format!("{}: updated", task.id));
    Ok(())
}

fn value_for(key: &str, value: &str, config: &crate::config::Config) -> Result<Value> {
    let invalid = |m: String| Error::failure("invalid_input", m);
    Ok(match key {
        "title" => Value::String(value.to_string()),
        "priority" => match value.parse::<u8>() {
            Ok(p @ 0..=4) => Value::Number(p.into()),
            _ => {
                return Err(invalid(format!(
                    "priority must be 0 (highest) to 4, not `{value}`"
                )));
            }
        },
        "max_attempts" => match value.parse::<u32>() {
            Ok(n) if n >= 1 => Value::Number(n.into()),
            _ => {
                return Err(invalid(format!(
                    "max_attempts must be a whole number from 1, not `{value}`"
                )));
            }
        },
        "type" => Value::String(value.parse::<Kind>().map_err(invalid)?.as_str().to_string()),
        "owner" | "assignee" => Value::String(person(value, config)),
        "labels" | "files" => lifecycle::strings(&split_list(value)),
        _ => match yaml::parse(value) {
            Ok(v) => v,
            Err(_) => Value::String(value.to_string()),
        },
    })
}

/// People are written canonically; roles as given.
pub fn person(value: &str, config: &crate::config::Config) -> String {
    if value.starts_with("role:") {
        value.to_string()
    } else {
        lifecycle::canonical(value, config)
    }
}

pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
