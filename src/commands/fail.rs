//! `tasks fail`: the attempt failed; count it and hand the task back.

use crate::error::Result;
use crate::lifecycle;

/// Record a failed attempt: back to open, or `failed` once attempts reach max_attempts
///
/// The failing agent is remembered in `failed_agents` and cannot claim the task again without
/// `claim --force`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks fail T-3b9x --reason \"tests time out on CI\"")]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task())]
    pub id: String,
    /// What went wrong (`-` reads standard input)
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub remote: super::remote::RemoteArg,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let reason = super::reason(&args.reason)?;
    super::transition(ctx, &args.id, &args.remote, |task, actor, store| {
        lifecycle::fail(task, actor, &store.config, &reason)
    })
}
