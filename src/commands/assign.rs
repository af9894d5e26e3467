//! `tasks assign` and `tasks unassign`: a dispatcher hands a task to someone.

use crate::error::{Error, Result};
use crate::task::Edit;

/// Hand a task to someone: until it is unassigned, only they can claim it
///
/// Writes `assignee` (the canonical name) and `assigned_at`. Others trying to claim it exit 3
/// unless they pass --force; `ready --for` and `claim --next` offer it to the assignee only,
/// whoever owns it. The claim takes the assignment up (both keys go). The sweep flags
/// `pickup_overdue` when it stays unclaimed past `sla.pickup`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks assign T-3b9x alice")]
pub struct AssignArgs {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task())]
    pub id: String,
    /// Who gets it (a person; any alias is written as the canonical name)
    pub name: String,
}

/// Take a task's assignment away, so anyone it routes to can claim it
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks unassign T-3b9x")]
pub struct UnassignArgs {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task())]
    pub id: String,
}

pub fn assign(ctx: &super::Ctx, args: &AssignArgs) -> Result<()> {
    let name = args.name.trim();
    if name.is_empty() {
        return Err(Error::usage(
            "assign needs the name of the person to hand the task to",
        ));
    }
    if name.starts_with("role:") {
        return Err(Error::usage(
            "assign hands a task to one person: give a name, not a role (owner: role:… routes to a role)",
        ));
    }
    let (entry, task) = super::update(ctx, &args.id, |task, actor, store, _| {
        if task.status.is_claimed() || task.status.is_finished() {
            let why = match task.claimed_by() {
                Some(h) if task.status.is_claimed() => format!("it is claimed by {h}"),
                _ => format!("it is {}", task.status),
            };
            return Err(Error::conflict(
                "transition_not_allowed",
                format!("cannot assign {}: {why}", task.id),
            ));
        }
        let who = super::set::person(name, &store.config);
        let mut edit = Edit::default();
        let same = task
            .assignee()
            .is_some_and(|a| crate::lifecycle::same_person(a, &who, &store.config));
        if !same {
            edit.set("assignee", who.as_str())
                .set("assigned_at", actor.now.as_str());
        }
        Ok(edit)
    })?;
    let who = task.assignee().map(str::to_string).unwrap_or_default();
    super::report(
        ctx,
        &entry.path,
        &task,
        &format!("{}: assigned to {who}", task.id),
    );
    Ok(())
}

pub fn unassign(ctx: &super::Ctx, args: &UnassignArgs) -> Result<()> {
    let (entry, task) = super::update(ctx, &args.id, |task, _, _, _| {
        let mut edit = Edit::default();
        for key in ["assignee", "assigned_at"] {
            if task.has_key(key) {
                edit.remove(key);
            }
        }
        Ok(edit)
    })?;
    super::report(
        ctx,
        &entry.path,
        &task,
        &format!("{}: not assigned", task.id),
    );
    Ok(())
}
