//! `tasks init`: create `.tasks/` with a commented config and a README on the format.

use serde_json::json;

use crate::error::{Error, Result};
use crate::output::SCHEMA_VERSION;
use crate::store::{Store, TASKS_DIR, atomic};

/// Create `.tasks/` (with config.yaml and README.md) at the root of this repository
///
/// Safe to run again: files that exist are left alone.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks init")]
pub struct Args {}

pub const CONFIG_TEMPLATE: &str = include_str!("../../fixtures/init/config.yaml");
pub const README_TEMPLATE: &str = include_str!("../../fixtures/init/README.md");

pub fn run(ctx: &super::Ctx, _args: &Args) -> Result<()> {
    let (root, _) = Store::find_root(&ctx.locate())?;
    let dir = root.join(TASKS_DIR);
    if dir.exists() && !dir.is_dir() {
        return Err(crate::store::not_a_folder(&dir));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::failure("io", format!("cannot create {}: {e}", dir.display())))?;
    let mut created = Vec::new();
    for (name, text) in [
        ("config.yaml", CONFIG_TEMPLATE),
        ("README.md", README_TEMPLATE),
    ] {
        let path = dir.join(name);
        if !path.exists() {
            atomic::write(&path, text.as_bytes())?;
            created.push(format!("{TASKS_DIR}/{name}"));
        }
    }
    let store = Store::open(&ctx.locate())?;
    store.ensure_state()?;
    if ctx.out.json {
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "root": store.root.display().to_string(),
            "tasks_dir": store.tasks_dir.display().to_string(),
            "state_dir": store.state_dir.display().to_string(),
            "created": created,
        }));
    } else if created.is_empty() {
        ctx.out
            .status(&format!("{} is already set up", dir.display()));
    } else {
        ctx.out.status(&format!(
            "Created {} in {}",
            created.join(" and "),
            root.display()
        ));
        ctx.out.status("Next: tasks new \"My first task\"");
    }
    Ok(())
}
