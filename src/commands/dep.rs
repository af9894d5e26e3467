//! `tasks dep add|rm`: dependencies between tasks, never in a loop.

use clap::Subcommand;

use crate::error::{Error, Result};
use crate::lifecycle;
use crate::task::Edit;

/// Add or remove a dependency
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make ID depend on DEP (refused if it would close a cycle)
    Add(Pair),
    /// Remove DEP from ID's dependencies
    Rm(Pair),
}

#[derive(Debug, clap::Args)]
pub struct Pair {
    /// The task that waits (id or unique prefix)
    pub id: String,
    /// The task it waits for (id or unique prefix)
    pub dep: String,
}

pub fn run(ctx: &super::Ctx, cmd: &Command) -> Result<()> {
    let (pair, adding) = match cmd {
        Command::Add(p) => (p, true),
        Command::Rm(p) => (p, false),
    };
    let mut message = String::new();
    let (entry, task) = super::update(ctx, &pair.id, |task, _, store, scan| {
        let mut deps = task.depends_on.clone();
        let mut edit = Edit::default();
        if adding {
            let dep = store.resolve(scan, &pair.dep)?.task.id.clone();
            let deps_of = |id: &str| {
                scan.get(id)
                    .map(|e| e.task.depends_on.clone())
                    .unwrap_or_default()
            };
            if let Some(cycle) = lifecycle::cycle_path(&task.id, &dep, &deps_of) {
                return Err(Error::conflict(
                    "dependency_cycle",
                    format!(
                        "{} cannot depend on {dep}: that makes a cycle {}",
                        task.id,
                        cycle.join(" → ")
                    ),
                ));
            }
            if deps.contains(&dep) {
                message = format!("{} already depends on {dep}", task.id);
                return Ok(edit);
            }
            message = format!("{} now depends on {dep}", task.id);
            deps.push(dep);
        } else {
            // A dependency on a task that no longer exists can still be removed by its full id.
            let dep = match store.resolve(scan, &pair.dep) {
                Ok(e) if deps.contains(&e.task.id) => e.task.id.clone(),
                _ => pair.dep.clone(),
            };
            if !deps.contains(&dep) {
                return Err(Error::failure(
                    "not_found",
                    format!("{} does not depend on {dep}", task.id),
                ));
            }
            deps.retain(|d| d != &dep);
            message = format!("{} no longer depends on {dep}", task.id);
        }
        if deps.is_empty() {
            edit.remove("depends_on");
        } else {
            edit.set("depends_on", lifecycle::strings(&deps));
        }
        Ok(edit)
    })?;
    super::report(ctx, &entry.path, &task, &message);
    Ok(())
}
