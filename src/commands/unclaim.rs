//! `tasks unclaim`: give a task back without finishing it.

use crate::error::Result;
use crate::lifecycle;

/// Release your claim on a task (outcome `released`); it becomes open again
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks unclaim T-3b9x --reason \"out of time\"\n  tasks unclaim T-3b9x --force --reason \"agent-2 is gone\""
)]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task())]
    pub id: String,
    /// Why it is given back (`-` reads standard input)
    #[arg(long)]
    pub reason: String,
    /// Release a claim someone else holds (for a worker that is gone)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub remote: super::remote::RemoteArg,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let reason = super::reason(&args.reason)?;
    super::transition(ctx, &args.id, &args.remote, |task, actor, store| {
        lifecycle::unclaim(task, actor, &store.config, &reason, args.force)
    })
}
