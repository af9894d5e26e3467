//! `tasks ready`: what can be started now, in the order it should be.

use crate::error::Result;
use crate::lifecycle;

/// List tasks that are ready: open, dependencies done, routed to somebody, not a placeholder
///
/// Ordered by priority, then creation time, then id. Tasks the acting agent failed before are
/// left out.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks ready\n  tasks ready --for alice -n 3\n  tasks ready --json"
)]
pub struct Args {
    /// Only tasks for NAME: owned by NAME, by a role NAME holds, or by nobody
    #[arg(long = "for", value_name = "NAME")]
    pub for_person: Option<String>,
    /// Show at most N tasks
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let scan = store.scan();
    ctx.warn_invalid(&store, &scan);
    let agent = ctx.actor(&store).ok().map(|a| a.name);
    let person = args
        .for_person
        .as_deref()
        .map(|p| lifecycle::canonical(p, &store.config));
    // Asking for someone else: what they failed before is left out, not what you did.
    let agent = person.clone().or(agent);
    let mut ready = super::ready_set(&scan, agent.as_deref(), person.as_deref(), &store.config);
    if let Some(n) = args.limit {
        ready.truncate(n);
    }
    super::list::print_tasks(ctx, &ready);
    drop(ready);
    // The command ends here: freeing every task one by one would only cost time.
    std::mem::forget(scan);
    Ok(())
}
