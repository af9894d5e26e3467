//! `tasks approve`: a reviewer accepts a task that is in review.

use crate::error::Result;
use crate::lifecycle;

/// Accept a task in review: it becomes done (outcome `completed` or `completed_with_pr`)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The task id (or a unique prefix)
    pub id: String,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    super::transition(ctx, &args.id, |task, actor, _| {
        lifecycle::approve(task, actor)
    })
}
