//! `tasks man`: man pages for `tasks` and every subcommand, from the clap definition.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_json::json;

use crate::error::{Error, Result};
use crate::output::SCHEMA_VERSION;
use crate::store::atomic;

/// Write man pages: one for `tasks` and one for every subcommand, nested ones too
///
/// With --dir, writes `tasks.1`, `tasks-claim.1`, `tasks-identities-fix.1` and so on into DIR
/// (created if missing; existing pages are replaced) and prints the path of each. Without
/// --dir, prints only the top page, `tasks.1`, on stdout. Pages in a folder `man` searches
/// (such as ~/.local/share/man/man1) open with `man tasks` and `man tasks-claim`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  tasks man --dir ~/.local/share/man/man1
  tasks man | man -l -")]
pub struct Args {
    /// Write every page into DIR (without it: print tasks.1 on stdout). This --dir names where
    /// the pages go, not where the tasks are; TASKS_DIR does not set it
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

/// Whether `man`'s `--dir` was typed after `man` on the command line. The global `--dir` (and
/// `TASKS_DIR`) share its name, and clap copies a global's value into every subcommand (as
/// typed on the command line even when it came before `man`), so only the words after the
/// subcommand tell the two apart.
pub fn dir_given(args: &[std::ffi::OsString]) -> bool {
    // Global options that take the next word as their value.
    const TAKES_VALUE: [&str; 4] = ["--dir", "--as", "--color", "-C"];
    let mut i = 1;
    while i < args.len() {
        let word = args[i].to_string_lossy();
        if word == "--" {
            return false;
        }
        if word == "man" {
            return args[i + 1..].iter().any(|a| {
                let a = a.to_string_lossy();
                a == "--dir" || a.starts_with("--dir=")
            });
        }
        i += if TAKES_VALUE.contains(&word.as_ref()) {
            2
        } else {
            1
        };
    }
    false
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let mut cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = &args.dir else {
        let page = render(&cmd)?;
        let text = String::from_utf8_lossy(&page);
        if ctx.out.json {
            ctx.out.print_json(&json!({
                "schema_version": SCHEMA_VERSION,
                "name": "tasks.1",
                "page": text,
            }));
        } else {
            crate::out!("{text}");
        }
        return Ok(());
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::failure("io", format!("cannot create {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    write_pages(&cmd, dir, &mut written)?;
    if ctx.out.json {
        let pages: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "dir": dir.display().to_string(),
            "pages": pages,
        }));
    } else {
        for path in &written {
            crate::outln!("{}", path.display());
        }
        ctx.out.status(&format!(
            "Wrote {} man pages to {}",
            written.len(),
            dir.display()
        ));
    }
    Ok(())
}

/// One page for `cmd`, then one for each of its visible subcommands, depth first.
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    let path = dir.join(man.get_filename());
    atomic::write(&path, &render(cmd)?)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

fn render(cmd: &clap::Command) -> Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut page)
        .map_err(|e| Error::failure("io", format!("cannot render a man page: {e}")))?;
    Ok(page)
}
