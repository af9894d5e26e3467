//! `tasks identities fix`: rewrite every alias stored in task files and leases as the canonical
//! name, with minimal diffs.

use serde_json::{Value as Json, json};
use serde_norway::Value;

use crate::checks::routing::aliases_in;
use crate::error::Result;
use crate::lifecycle;
use crate::output::SCHEMA_VERSION;
use crate::store::lease;
use crate::task::Edit;

/// Work with the identities in config
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Rewrite names stored as an alias (owner, assignee, claimed_by, outcome_by,
    /// failed_agents, lease holders) as the canonical name
    ///
    /// Uses `identities:` in the config. Only the lines of those keys change; files that cannot
    /// be parsed are left alone. The sweep's `owner_alias` signal lists what this fixes.
    #[command(after_help = "Examples:\n  tasks identities fix --dry-run\n  tasks identities fix")]
    Fix(FixArgs),
}

#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// Say what would change; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &super::Ctx, cmd: &Command) -> Result<()> {
    let Command::Fix(args) = cmd;
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    let _lock = store.lock_unless_dry_run(args.dry_run, ctx.out.quiet)?;
    let scan = store.scan();
    ctx.warn_invalid(&store, &scan);
    let mut tasks = Vec::new();
    for entry in &scan.tasks {
        // A file that cannot be read in full is left alone, and the others are still fixed.
        let full = match store.reread(entry) {
            Ok(full) => full,
            Err(e) => {
                ctx.out.warn(&format!("{} (left alone)", e.message));
                continue;
            }
        };
        let found = aliases_in(&full.task, &store.config);
        if found.is_empty() {
            continue;
        }
        let mut edit = Edit::default();
        let mut changes = Vec::new();
        for key in found.iter().map(|(k, _, _)| k.as_str()) {
            if changes
                .iter()
                .any(|(k, _, _): &(String, Json, Json)| k == key)
            {
                continue;
            }
            let Some(old) = full.task.get(key) else {
                continue;
            };
            let new = canonical_value(&old, &store.config);
            edit.set(key, new.clone());
            changes.push((
                key.to_string(),
                crate::output::yaml_to_json(&old),
                crate::output::yaml_to_json(&new),
            ));
        }
        if !args.dry_run {
            edit.set("updated_at", actor.now.as_str());
            store.write_edit(&entry.path, &full.text, &edit)?;
        }
        tasks.push((full.task.id.clone(), store.display(&entry.path), changes));
    }
    let mut leases = Vec::new();
    for entry in &scan.tasks {
        let Some(mut l) = lease::read(&store.state_dir, &entry.task.id) else {
            continue;
        };
        let canon = lifecycle::canonical(&l.holder, &store.config);
        if canon == l.holder {
            continue;
        }
        leases.push((l.task.clone(), l.holder.clone(), canon.clone()));
        if !args.dry_run {
            l.holder = canon;
            lease::write(&store.state_dir, &l)?;
        }
    }

    if ctx.out.json {
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "dry_run": args.dry_run,
            "tasks": tasks.iter().map(|(id, path, changes)| json!({
                "id": id,
                "path": path,
                "changes": changes.iter().map(|(k, from, to)| json!({"key": k, "from": from, "to": to})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "leases": leases.iter().map(|(task, from, to)| json!({"task": task, "from": from, "to": to})).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    let verb = if args.dry_run { "would write" } else { "wrote" };
    for (id, _, changes) in &tasks {
        for (key, from, to) in changes {
            crate::outln!("{id}: {verb} {key} {} as {}", compact(from), compact(to));
        }
    }
    for (task, from, to) in &leases {
        crate::outln!("{task}: {verb} the lease holder {from} as {to}");
    }
    if tasks.is_empty() && leases.is_empty() {
        ctx.out.status("every stored name is already canonical");
    }
    Ok(())
}

/// A name, or a list of names, written canonically (roles as they are; a list without repeats).
fn canonical_value(v: &Value, config: &crate::config::Config) -> Value {
    match v {
        Value::String(s) => Value::String(super::set::person(s, config)),
        Value::Sequence(items) => {
            let mut out: Vec<Value> = Vec::new();
            for item in items {
                let c = canonical_value(item, config);
                let seen = out.iter().any(|o| match (o.as_str(), c.as_str()) {
                    (Some(a), Some(b)) => a.to_lowercase() == b.to_lowercase(),
                    _ => *o == c,
                });
                if !seen {
                    out.push(c);
                }
            }
            Value::Sequence(out)
        }
        other => other.clone(),
    }
}

fn compact(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}
