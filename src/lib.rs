//! `tasks`: git-tracked markdown task files that many agents can claim at once, safely.
//!
//! The flow of every command: parse the arguments, build the context, dispatch to the
//! command, and turn its result into output and an exit code.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod completion;
pub mod config;
pub mod error;
pub mod git;
pub mod graph;
pub mod lifecycle;
pub mod merge;
pub mod output;
#[cfg(test)]
mod reference;
pub mod remote;
pub mod store;
pub mod task;
pub mod verify;

use std::ffi::OsString;
use std::process::ExitCode;

use crate::error::Error;

pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    if let Some(code) = completion::answer(&args) {
        return code;
    }
    let wants_json = args.iter().skip(1).any(|a| a == "--json");
    let cli = match cli::Cli::parse_args(&args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            if wants_json {
                // The paragraph before the usage line, on one line.
                let rendered = e.to_string();
                let message = rendered
                    .lines()
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ");
                let message = message.trim_start_matches("error: ").to_string();
                output::print_json_error(&Error::usage(message));
            }
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let out = output::Output::new(&cli.global);
    let result = commands::dispatch(&cli, &out);
    // Leases and events written under the lock are made durable now, with the lock let go
    // and before the command reports how it went. After a failure, the failure is reported.
    let synced = store::atomic::sync_deferred().map_err(Error::from);
    let result = result.and(synced);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.error(&e);
            ExitCode::from(e.kind.exit_code())
        }
    }
}
