//! `docs/cli.md`, the command-line reference, generated from the clap definition so it can
//! never disagree with `--help`. A test compares the committed file with what the definition
//! gives today; `TASKS_BLESS=1 cargo test --lib reference` rewrites it.

use std::fmt::Write as _;

use clap::CommandFactory;

use crate::cli::Cli;

/// How to bring `docs/cli.md` up to date.
pub const REGENERATE: &str = "TASKS_BLESS=1 cargo test --lib reference";

/// The whole reference, as markdown.
pub fn markdown() -> String {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut commands = Vec::new();
    collect(&root, &mut commands);

    let mut out = String::new();
    out.push_str("# Command-line reference\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the command-line definition; do not edit. Regenerate with \
         `{REGENERATE}`. -->\n"
    );
    out.push_str(
        "Every command with its summary, usage, arguments, flags and examples, exactly as \
         `tasks <command> --help` has them. What each command does in full, with its rules and \
         edge cases, is in [commands.md](commands.md). The global flags, listed under [`tasks`](#tasks), work \
         with every command, before or after its name.\n\n",
    );
    for cmd in &commands {
        let _ = writeln!(out, "- [`{}`](#{})", path(cmd), anchor(cmd));
    }
    out.push('\n');
    for cmd in &commands {
        section(&mut out, cmd, std::ptr::eq(*cmd, &root));
    }
    out
}

fn collect<'a>(cmd: &'a clap::Command, out: &mut Vec<&'a clap::Command>) {
    out.push(cmd);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, out);
    }
}

/// `tasks identities fix`: the command as typed.
fn path(cmd: &clap::Command) -> String {
    cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string()
}

/// The heading's anchor, as GitHub makes it.
fn anchor(cmd: &clap::Command) -> String {
    path(cmd).replace(' ', "-")
}

fn section(out: &mut String, cmd: &clap::Command, root: bool) {
    let _ = writeln!(out, "## {}\n", path(cmd));
    let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    let _ = writeln!(out, "{}\n", prose(&about));
    if let Some(long) = cmd.get_long_about() {
        // The long help repeats the summary as its first paragraph (with its full stop).
        let long = long.to_string();
        let rest = match long.split_once("\n\n") {
            Some((first, rest)) if first.trim_end_matches('.') == about => rest,
            _ => long.as_str(),
        };
        if !rest.trim().is_empty() {
            let _ = writeln!(out, "{}\n", prose(rest));
        }
    }
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage: ");
    let _ = writeln!(out, "```text\n{usage}\n```\n");

    let shown = |a: &&clap::Arg| {
        !a.is_hide_set()
            && !matches!(a.get_id().as_str(), "help" | "version")
            && (root || !a.is_global_set())
    };
    let positionals: Vec<&clap::Arg> = cmd.get_positionals().filter(shown).collect();
    let flags: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_positional())
        .filter(shown)
        .collect();
    table(out, "Arguments", "argument", &positionals);
    table(
        out,
        if root { "Global flags" } else { "Flags" },
        "flag",
        &flags,
    );
    if cmd.has_subcommands() {
        let _ = writeln!(out, "Subcommands:\n");
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            let _ = writeln!(
                out,
                "- [`{}`](#{}): {}",
                path(sub),
                anchor(sub),
                prose(&about)
            );
        }
        out.push('\n');
    }
    let after = cmd
        .get_after_help()
        .map(|a| a.to_string())
        .unwrap_or_default();
    if let Some((_, examples)) = after.split_once("Examples:\n") {
        let lines: Vec<&str> = examples.lines().map(str::trim).collect();
        let _ = writeln!(out, "Examples:\n\n```sh\n{}\n```\n", lines.join("\n"));
    }
}

fn table(out: &mut String, title: &str, column: &str, args: &[&clap::Arg]) {
    if args.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:\n\n| {column} | meaning |\n|---|---|");
    for arg in args {
        let _ = writeln!(out, "| `{}` | {} |", name(arg), cell(&meaning(arg)));
    }
    out.push('\n');
}

/// `-s, --status <STATUS>`, `--next`, `<ID>`.
fn name(arg: &clap::Arg) -> String {
    let values = arg
        .get_value_names()
        .map(|names| names.iter().map(|n| format!("<{n}>")).collect::<Vec<_>>())
        .unwrap_or_else(|| vec![format!("<{}>", arg.get_id().as_str().to_uppercase())]);
    if arg.is_positional() {
        let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        return format!("{}{}", values.join(" "), if many { "..." } else { "" });
    }
    let mut names: Vec<String> = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("--{long}"));
    }
    let mut text = names.join(", ");
    if arg.get_action().takes_values() {
        text.push(' ');
        text.push_str(&values.join(" "));
    }
    text
}

fn meaning(arg: &clap::Arg) -> String {
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut text = prose(&help);
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    if !possible.is_empty() && arg.get_action().takes_values() {
        let _ = write!(text, " (one of {})", possible.join(", "));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        let _ = write!(text, "; default `{}`", defaults.join(","));
    }
    if let Some(env) = arg.get_env() {
        let _ = write!(text, "; env `{}`", env.to_string_lossy());
    }
    text
}

/// Help text as markdown: paragraphs kept, `<` and `*` outside code spans escaped so they
/// are not read as HTML or emphasis.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for c in text.trim().chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '<' if !in_code => out.push_str("&lt;"),
            '*' if !in_code => out.push_str("\\*"),
            _ => out.push(c),
        }
    }
    out
}

/// A table cell: one line, and no `|` that would end the cell.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn docs_cli_md_is_up_to_date() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
        let want = super::markdown();
        if std::env::var_os("TASKS_BLESS").is_some_and(|v| !v.is_empty() && v != "0") {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            let line = have
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| have.lines().count().min(want.lines().count()))
                + 1;
            panic!(
                "docs/cli.md is out of date with the command line (first difference at line \
                 {line}).\nRegenerate it with:\n  {}\n",
                super::REGENERATE
            );
        }
    }
}
