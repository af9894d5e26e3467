//! `tasks heartbeat ID`: the claimant says it is still working.

use crate::error::{Error, Result};
use crate::lifecycle;
use crate::output;
use crate::store::lease;

/// Renew the lease on a task you hold
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The task id (or a unique prefix)
    pub id: String,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    let scan = store.scan();
    let entry = store.resolve(&scan, &args.id)?;
    let _lock = store.lock(ctx.out.quiet)?;
    let full = store.reread(entry)?;
    let task = &full.task;
    if !task.status.is_claimed() {
        return Err(Error::conflict(
            "not_claimed",
            format!(
                "cannot renew the lease of {}: it is {}, not claimed",
                task.id, task.status
            ),
        ));
    }
    let holder = task
        .claimed_by
        .as_deref()
        .map(|h| lifecycle::canonical(h, &store.config))
        .unwrap_or_default();
    if !lifecycle::same_person(&holder, &actor.name, &store.config) {
        return Err(Error::conflict(
            "held_by_other",
            format!("task {} is held by {holder}", task.id),
        )
        .hint(format!(
            "only the claimant renews a lease; you are acting as {}",
            actor.name
        )));
    }
    super::renew_lease(&store, &actor, &task.id, None)?;
    if ctx.out.json {
        ctx.out.print_json(&output::one_task(task, &entry.path));
    } else {
        let until = lease::read(&store.state_dir, &task.id)
            .map(|l| l.expires_at)
            .unwrap_or_default();
        ctx.out
            .status(&format!("{}: lease renewed until {until}", task.id));
    }
    Ok(())
}
