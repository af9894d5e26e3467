//! `tasks block`: the task cannot go on; say why.

use crate::error::Result;
use crate::lifecycle;

/// Mark a task blocked, with the reason (a claim on it ends with outcome `blocked`)
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks block T-3b9x --reason \"waiting for the API key\"")]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task())]
    pub id: String,
    /// What blocks it (`-` reads standard input)
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub remote: super::remote::RemoteArg,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let reason = super::reason(&args.reason)?;
    super::transition(ctx, &args.id, &args.remote, |task, actor, store| {
        lifecycle::block(task, actor, &store.config, &reason)
    })
}
