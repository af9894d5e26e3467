//! `tasks dep add|rm`: dependencies between tasks, never in a loop.

use clap::Subcommand;

use crate::error::{Error, Result};
use crate::lifecycle;
use crate::task::Edit;

/// Add or remove a dependency; show what a task waits for, or the loops
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make ID depend on DEP (refused if it would close a cycle)
    #[command(
        after_help = "Examples:\n  tasks dep add T-7k2m T-3b9x     # T-7k2m waits for T-3b9x"
    )]
    Add(Pair),
    /// Remove DEP from ID's dependencies
    #[command(after_help = "Examples:\n  tasks dep rm T-7k2m T-3b9x")]
    Rm(Pair),
    /// Show everything a task waits for, as a tree, with each one's status
    #[command(after_help = "Examples:\n  tasks dep tree T-3b9x")]
    Tree(One),
    /// List every dependency loop (`depends_on` that comes back to itself)
    ///
    /// Exits 0 either way; the sweep reports loops as `dependency_cycle`.
    #[command(after_help = "Examples:\n  tasks dep cycles\n  tasks dep cycles --json")]
    Cycles,
}

#[derive(Debug, clap::Args)]
pub struct One {
    /// The task (id or unique prefix)
    #[arg(add = crate::completion::any_task())]
    pub id: String,
}

#[derive(Debug, clap::Args)]
pub struct Pair {
    /// The task that waits (id or unique prefix)
    #[arg(add = crate::completion::live_task())]
    pub id: String,
    /// The task it waits for (id or unique prefix)
    #[arg(add = crate::completion::any_task())]
    pub dep: String,
}

pub fn run(ctx: &super::Ctx, cmd: &Command) -> Result<()> {
    let (pair, adding) = match cmd {
        Command::Add(p) => (p, true),
        Command::Rm(p) => (p, false),
        Command::Tree(one) => return tree(ctx, &one.id),
        Command::Cycles => return cycles(ctx),
    };
    let mut message = String::new();
    let (entry, task) = super::update(ctx, &pair.id, |task, _, store, scan| {
        let mut deps = task.depends_on().to_vec();
        let mut edit = Edit::default();
        if adding {
            let dep = store.resolve(scan, &pair.dep)?.task.id.clone();
            let deps_of = |id: &str| {
                scan.get(id)
                    .map(|e| e.task.depends_on().to_vec())
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

/// How many levels `dep tree` draws.
const MAX_DEPTH: usize = 200;

fn tree(ctx: &super::Ctx, id: &str) -> Result<()> {
    let store = ctx.store()?;
    let scan = store.scan();
    let root = store.resolve(&scan, id)?.task.id.clone();
    if ctx.out.json {
        let doc = node_json(&scan, &root, &mut Vec::new(), &mut Default::default());
        ctx.out.print_json(&serde_json::json!({
            "schema_version": crate::output::SCHEMA_VERSION,
            "tree": doc,
        }));
        return Ok(());
    }
    let mut out = String::new();
    let mut shown = std::collections::HashSet::new();
    draw(
        &scan,
        &root,
        ("", ""),
        &mut Vec::new(),
        &mut shown,
        &mut out,
    );
    crate::out!("{out}");
    Ok(())
}

fn label(scan: &crate::store::Scan, id: &str) -> String {
    match scan.get(id) {
        Some(e) => format!("{id} {} ({})", e.task.title(), e.task.status),
        None => format!("{id} (no such task)"),
    }
}

/// One line per task, its dependencies below it; a task already on the path is a loop, and
/// one drawn before is not drawn again (shared dependencies would repeat without end).
fn draw(
    scan: &crate::store::Scan,
    id: &str,
    (lead, rest): (&str, &str),
    path: &mut Vec<String>,
    shown: &mut std::collections::HashSet<String>,
    out: &mut String,
) {
    let looped = path.iter().any(|p| p == id);
    let again = !looped && !shown.insert(id.to_string());
    // A very long chain is cut, so the drawing stays readable (and the stack small).
    let has_deps = scan
        .get(id)
        .is_some_and(|e| !e.task.depends_on().is_empty());
    let deep = path.len() >= MAX_DEPTH && has_deps;
    let mark = if looped {
        "  ↺ loop"
    } else if again {
        "  (shown above)"
    } else if deep {
        "  (… deeper dependencies not drawn)"
    } else {
        ""
    };
    out.push_str(&format!("{lead}{}{mark}\n", label(scan, id)));
    if looped || again || deep {
        return;
    }
    let deps = scan
        .get(id)
        .map(|e| e.task.depends_on().to_vec())
        .unwrap_or_default();
    path.push(id.to_string());
    for (i, d) in deps.iter().enumerate() {
        let last = i + 1 == deps.len();
        let (branch, more) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let (lead, rest) = (format!("{rest}{branch}"), format!("{rest}{more}"));
        draw(scan, d, (&lead, &rest), path, shown, out);
    }
    path.pop();
}

fn node_json(
    scan: &crate::store::Scan,
    id: &str,
    path: &mut Vec<String>,
    shown: &mut std::collections::HashSet<String>,
) -> serde_json::Value {
    let task = scan.get(id).map(|e| &e.task);
    let looped = path.iter().any(|p| p == id);
    let again = !looped && !shown.insert(id.to_string());
    let deep = path.len() >= MAX_DEPTH && task.is_some_and(|t| !t.depends_on().is_empty());
    let mut v = serde_json::json!({
        "id": id,
        "title": task.map(|t| t.title().to_string()),
        "status": task.map(|t| t.status.as_str()),
    });
    if looped || again || deep {
        let why = if looped {
            "loop"
        } else if again {
            "shown_above"
        } else {
            "truncated"
        };
        v[why] = serde_json::json!(true);
        v["depends_on"] = serde_json::json!([]);
        return v;
    }
    path.push(id.to_string());
    let deps: Vec<serde_json::Value> = task
        .map(|t| t.depends_on().to_vec())
        .unwrap_or_default()
        .iter()
        .map(|d| node_json(scan, d, path, shown))
        .collect();
    path.pop();
    v["depends_on"] = serde_json::Value::Array(deps);
    v
}

fn cycles(ctx: &super::Ctx) -> Result<()> {
    let store = ctx.store()?;
    let scan = store.scan();
    let found = crate::checks::deps::cycles(&scan);
    if ctx.out.json {
        ctx.out.print_json(&serde_json::json!({
            "schema_version": crate::output::SCHEMA_VERSION,
            "cycles": found.iter().map(|c| &c.path).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    if found.is_empty() {
        ctx.out.status("no dependency loops");
    }
    for c in &found {
        let others: Vec<&str> = c
            .members
            .iter()
            .filter(|m| !c.path.contains(m))
            .map(String::as_str)
            .collect();
        let also = if others.is_empty() {
            String::new()
        } else {
            format!("  (also in this loop: {})", others.join(", "))
        };
        crate::outln!("{} → {}{also}", c.path.join(" → "), c.path[0]);
    }
    Ok(())
}
