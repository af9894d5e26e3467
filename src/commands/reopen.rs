//! `tasks reopen`: the only way a finished task comes back.

use crate::error::Result;
use crate::lifecycle;

/// Reopen a task that is in review (outcome `needs_review_fix`), done, failed or cancelled
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks reopen T-3b9x --reason \"the fix broke login\"")]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::any_task())]
    pub id: String,
    /// Why it needs more work (`-` reads standard input)
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub remote: super::remote::RemoteArg,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let reason = super::reason(&args.reason)?;
    super::transition(ctx, &args.id, &args.remote, |task, actor, _| {
        lifecycle::reopen(task, actor, &reason)
    })
}
