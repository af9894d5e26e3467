//! `tasks approve`: a reviewer accepts a task that is in review.

use crate::error::Result;
use crate::lifecycle;

/// Accept a task in review: it becomes done (outcome `completed` or `completed_with_pr`)
///
/// Records the reviewer as `reviewed_by` and `reviewed_at`. The claimant cannot approve their
/// own work (exit 3) unless --force.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks approve T-3b9x --as reviewer")]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task())]
    pub id: String,
    /// Approve your own work
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub remote: super::remote::RemoteArg,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    super::transition(ctx, &args.id, &args.remote, |task, actor, store| {
        lifecycle::approve(task, actor, &store.config, args.force)
    })
}
