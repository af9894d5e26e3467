//! `tasks unblock`: a blocked task goes back to open.

use crate::error::Result;
use crate::lifecycle;

/// Return a blocked task to open
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks unblock T-3b9x")]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task())]
    pub id: String,
    #[command(flatten)]
    pub remote: super::remote::RemoteArg,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    super::transition(ctx, &args.id, &args.remote, |task, actor, _| {
        lifecycle::unblock(task, actor)
    })
}
