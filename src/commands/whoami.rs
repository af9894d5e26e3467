//! `tasks whoami`: the identity commands act as, and where it came from.

use serde_json::json;

use crate::error::Result;
use crate::lifecycle;
use crate::output::SCHEMA_VERSION;

/// Show who you are acting as, and where that name came from
///
/// The name is looked for in this order: --as, TASKS_AGENT, the holder of the claim on the
/// linked worktree you are in, git `user.email`, $USER; then it is canonicalised through
/// `identities:` in the config. Prints the canonical name on stdout.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks whoami\n  tasks whoami --as dave")]
pub struct Args {}

pub fn run(ctx: &super::Ctx, _: &Args) -> Result<()> {
    let store = ctx.store()?;
    let (given, source) = ctx.identity(&store)?;
    let given = given.trim().to_string();
    let name = lifecycle::canonical(&given, &store.config);
    let aliases: Vec<String> = store
        .config
        .identities
        .iter()
        .find(|(canon, _)| canon.as_str() == name)
        .map(|(_, a)| a.clone())
        .unwrap_or_default();
    if ctx.out.json {
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "identity": name,
            "given": given,
            "source": source,
            "aliases": aliases,
        }));
        return Ok(());
    }
    crate::outln!("{name}");
    let from = match source {
        "flag" => "--as".to_string(),
        "env" => "TASKS_AGENT".to_string(),
        "worktree" => "the claim on this worktree".to_string(),
        "git" => "git user.email".to_string(),
        _ => "$USER".to_string(),
    };
    let alias = if given.trim() == name {
        String::new()
    } else {
        format!(" `{}`, an alias of {name}", given.trim())
    };
    ctx.out.status(&format!("from {from}{alias}"));
    Ok(())
}
