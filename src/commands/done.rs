//! `tasks done`: finish a claimed task, with its evidence.

use crate::error::Result;
use crate::lifecycle::{self, Evidence};

/// Finish a task you hold: outcome `completed`, or `completed_with_pr` with --pr
///
/// With `review: required` in config.yaml the task goes to `in_review` instead of `done`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The task id (or a unique prefix)
    pub id: String,
    /// The pull request URL (its number is recorded as pr_number)
    #[arg(long, value_name = "URL")]
    pub pr: Option<String>,
    /// The commit that carries the work
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let evidence = Evidence {
        pr_url: args.pr.clone(),
        commit: args.commit.clone(),
    };
    super::transition(ctx, &args.id, |task, actor, store| {
        lifecycle::done(task, actor, &store.config, &evidence)
    })
}
