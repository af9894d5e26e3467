//! `tasks cancel`: the task will not be done.

use crate::error::Result;
use crate::lifecycle;

/// Cancel a task (from any state but cancelled); only `reopen` brings it back
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks cancel T-3b9x --reason \"no longer needed\"")]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task())]
    pub id: String,
    /// Why it is cancelled (`-` reads standard input)
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub remote: super::remote::RemoteArg,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let reason = super::reason(&args.reason)?;
    super::transition(ctx, &args.id, &args.remote, |task, actor, _| {
        lifecycle::cancel(task, actor, &reason)
    })
}
