//! The command line: global flags and the subcommand enum.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, ValueEnum};

use crate::commands::Command;

/// Git-tracked markdown tasks that humans and many coding agents can claim at once, safely.
///
/// Task files live in `.tasks/` at the top of the main worktree; run from anywhere inside the
/// repository, including linked worktrees. Exit codes: 0 ok, 1 error, 2 usage, 3 conflict,
/// 4 nothing to claim, 5 lock timeout, 6 done checks failed, 7 a sweep found signals.
#[derive(Debug, Parser)]
#[command(
    name = "tasks",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "\
Examples:
  tasks init
  tasks new \"Fix the login race\" --priority 1
  tasks ready
  tasks claim --next --as agent-1
  tasks done T-3b9x
  tasks guide                    # the workflow for coding agents"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses a command line (the program name first), as `Parser::try_parse_from` does, and
    /// settles what the derived parser cannot tell apart.
    pub fn parse_args(args: &[OsString]) -> Result<Cli, clap::Error> {
        let mut matches = Cli::command().try_get_matches_from(args)?;
        let man_dir_given = crate::commands::man_dir_given(args);
        let mut cli =
            Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut Cli::command()))?;
        if let Command::Man(man) = &mut cli.command
            && !man_dir_given
        {
            man.dir = None;
        }
        Ok(cli)
    }
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Print one JSON document on stdout (errors too), for scripts and agents
    #[arg(long, global = true)]
    pub json: bool,

    /// Use the `.tasks/` in PATH instead of finding the repository's root
    #[arg(long, global = true, env = "TASKS_DIR", value_name = "PATH")]
    pub dir: Option<PathBuf>,

    /// Act as NAME (else TASKS_AGENT, the holder of the claim on this worktree, git user.email,
    /// $USER); parallel agents need distinct names
    #[arg(long = "as", global = true, value_name = "NAME")]
    pub actor: Option<String>,

    /// Say nothing on stderr except warnings and errors
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Run as if started in DIR
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,

    /// Inside a linked worktree, use that worktree's own `.tasks/` instead of the main one's
    #[arg(long, global = true)]
    pub local: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_and_flag_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            if examples(cmd, path).is_empty() {
                missing.push(format!("{path}: an example starting with `{path}`"));
            }
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let sub_path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(sub_path.clone());
                }
                walk(sub, &sub_path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "tasks", &mut missing);
        assert!(missing.is_empty(), "no help text for: {missing:?}");
    }

    /// The example lines of a command's help (under `Examples:`) that run `path` itself.
    fn examples(cmd: &clap::Command, path: &str) -> Vec<String> {
        let after = cmd
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        let Some((_, list)) = after.split_once("Examples:\n") else {
            return Vec::new();
        };
        list.lines()
            .map(str::trim)
            .filter(|l| {
                l.strip_prefix(path)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            })
            .map(str::to_string)
            .collect()
    }

    /// Every example that is a plain command line (no shell expansion, pipes or redirects)
    /// parses: an example never shows a flag or value the command does not take.
    #[test]
    fn every_example_parses() {
        fn walk(cmd: &clap::Command, path: &str, failures: &mut Vec<String>) {
            for example in examples(cmd, path) {
                let line = example.split(" # ").next().unwrap_or_default().trim();
                if line.contains(['$', '|', '>', '<', ';', '&', '`']) {
                    continue;
                }
                let args: Vec<std::ffi::OsString> =
                    words(line).into_iter().map(Into::into).collect();
                if let Err(e) = Cli::parse_args(&args) {
                    failures.push(format!("{line}: {e}"));
                }
            }
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                walk(sub, &format!("{path} {}", sub.get_name()), failures);
            }
        }
        let mut failures = Vec::new();
        walk(&Cli::command(), "tasks", &mut failures);
        assert!(
            failures.is_empty(),
            "examples that do not parse: {failures:#?}"
        );
    }

    /// Splits a command line into words as a shell would, for quotes only.
    fn words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word: Option<String> = None;
        let mut quote = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.get_or_insert_default().push(c),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    word.get_or_insert_default();
                }
                (None, ' ') => words.extend(word.take()),
                (None, c) => word.get_or_insert_default().push(c),
            }
        }
        words.extend(word);
        words
    }
}
