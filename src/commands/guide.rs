//! `tasks guide`: the workflow a coding agent follows, short enough to read on every start.

use serde_json::json;

use crate::error::Result;
use crate::output::SCHEMA_VERSION;

/// The guide. Every `tasks …` command and flag in it is checked against the real command line
/// by a test, and so are the exit codes it lists.
pub const GUIDE: &str = include_str!("guide.md");

/// Two lines for AGENTS.md or CLAUDE.md that send an agent to the guide.
pub const SNIPPET: &str = "\
This repository tracks its work as task files in .tasks/, managed with the `tasks` command.
Before starting, run `tasks guide` and follow it: your own TASKS_AGENT name, claim before working, end every claim with done, block, fail or unclaim.
";

/// Print the workflow for a coding agent: identity, ready, claim, heartbeat, note, done
///
/// Short and exact, for an agent to read before it starts (or to paste into its prompt):
/// how to act under its own name, find and claim work, keep the lease alive, record progress,
/// end the claim, and read exit codes and --json. --snippet prints two lines for AGENTS.md or
/// CLAUDE.md that point agents here.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  tasks guide
  tasks guide --snippet >> AGENTS.md")]
pub struct Args {
    /// Print two lines to paste into AGENTS.md or CLAUDE.md instead
    #[arg(long)]
    pub snippet: bool,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let (key, text) = if args.snippet {
        ("snippet", SNIPPET)
    } else {
        ("guide", GUIDE)
    };
    if ctx.out.json {
        ctx.out
            .print_json(&json!({"schema_version": SCHEMA_VERSION, key: text}));
    } else {
        crate::out!("{text}");
    }
    Ok(())
}
