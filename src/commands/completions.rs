//! `tasks completions`: the script that wires `tasks` into a shell's completion.

use serde_json::json;

use crate::completion::{self, Shell};
use crate::error::Result;
use crate::output::SCHEMA_VERSION;

/// Print a shell completion script: subcommands, flags, task ids and statuses
///
/// The script calls `tasks` back each time you press Tab, so completion always matches the
/// installed binary, and task ids (with their titles, where the shell shows descriptions) come
/// from the task files at that moment. Outside a repository there are simply no ids to offer.
/// Load it from your shell's startup file, so it is regenerated when `tasks` is upgraded.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  tasks completions bash
  echo 'source <(tasks completions bash)' >> ~/.bashrc
  echo 'source <(tasks completions zsh)' >> ~/.zshrc
  echo 'tasks completions fish | source' >> ~/.config/fish/config.fish")]
pub struct Args {
    /// The shell to print the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let script = completion::script(args.shell, &completion::completer());
    if ctx.out.json {
        use clap::ValueEnum;
        let shell = args
            .shell
            .to_possible_value()
            .map(|v| v.get_name().to_string());
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "shell": shell,
            "script": String::from_utf8_lossy(&script),
        }));
    } else {
        crate::out!("{}", String::from_utf8_lossy(&script));
    }
    Ok(())
}
