//! `tasks graph` and `tasks tracks`: the dependency graph, and the independent tracks of work
//! in it for parallel agents.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value as Json, json};

use crate::error::Result;
use crate::graph::{self, Node};
use crate::output::SCHEMA_VERSION;
use crate::store::{Entry, Scan, Store};
use crate::task::{Status, Task};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Dot,
    Mermaid,
}

/// Draw the dependency graph: text, Graphviz dot, or mermaid
///
/// Unfinished tasks by default (--all: every task), ready ones marked, and each dependency
/// that still blocks its task marked. With ID, only the tasks connected to it. Arrows run from
/// a dependency to the task that waits for it.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks graph\n  tasks graph T-3b9x --all\n  tasks graph --format mermaid > graph.md\n  tasks graph --format dot | dot -Tsvg > graph.svg"
)]
pub struct GraphArgs {
    /// Only the tasks connected to this one (an id or a unique prefix)
    #[arg(add = crate::completion::any_task())]
    pub id: Option<String>,
    /// The drawing
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Finished tasks too
    #[arg(long)]
    pub all: bool,
}

/// Find independent tracks of work among unfinished tasks, for parallel agents
///
/// A track is a group of tasks linked by dependencies; different tracks can be worked on at the
/// same time. Each is listed in dependency order with its critical path (the longest chain)
/// and how many of its tasks are ready now. Tracks whose tasks' `files:` globs overlap are
/// reported as conflicting. With --agents N, a plan hands the tracks to N agents: conflicting
/// tracks go to the same agent (one after the other), and the critical paths are balanced.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks tracks\n  tasks tracks --agents 3\n  tasks tracks --json"
)]
pub struct TracksArgs {
    /// Plan the tracks for this many agents
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub agents: Option<u16>,
}

/// The tasks a drawing or a plan is about, with what the graph needs of each.
fn nodes<'a>(
    ctx: &super::Ctx,
    store: &Store,
    scan: &'a Scan,
    all: bool,
) -> (Vec<&'a Entry>, Vec<Node>) {
    let agent = ctx.actor(store).ok().map(|a| a.name);
    let ready: BTreeSet<&str> = super::ready_set(scan, agent.as_deref(), None, &store.config)
        .into_iter()
        .map(|e| e.task.id.as_str())
        .collect();
    let entries: Vec<&Entry> = scan
        .tasks
        .iter()
        .filter(|e| all || !e.task.status.is_finished())
        .collect();
    let nodes = entries
        .iter()
        .map(|e| Node {
            id: e.task.id.clone(),
            depends_on: e.task.depends_on().to_vec(),
            files: files_of(&e.task),
            ready: ready.contains(e.task.id.as_str()),
            priority: e.task.priority,
        })
        .collect();
    (entries, nodes)
}

fn files_of(task: &Task) -> Vec<String> {
    match task.get("files").as_ref() {
        Some(serde_norway::Value::Sequence(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(serde_norway::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

pub fn graph(ctx: &super::Ctx, args: &GraphArgs) -> Result<()> {
    let store = ctx.store()?;
    let scan = store.scan();
    ctx.warn_invalid(&store, &scan);
    // Asked about a finished task, draw its track with the finished tasks in it.
    let focus = args
        .id
        .as_deref()
        .map(|q| store.resolve(&scan, q))
        .transpose()?;
    let all = args.all || focus.is_some_and(|e| e.task.status.is_finished());
    let (entries, mut nodes) = nodes(ctx, &store, &scan, all);
    if let Some(e) = focus {
        let id = e.task.id.clone();
        let track = graph::tracks(&nodes)
            .into_iter()
            .find(|t| t.tasks.contains(&id))
            .map(|t| t.tasks)
            .unwrap_or_else(|| vec![id.clone()]);
        nodes.retain(|n| track.contains(&n.id));
    }
    let by_id: HashMap<&str, &Entry> = entries.iter().map(|e| (e.task.id.as_str(), *e)).collect();
    let status_of = |id: &str| scan.status_of(id);
    // Nodes in track order, so the drawing reads from the first work to the last.
    let order: Vec<String> = graph::tracks(&nodes)
        .into_iter()
        .flat_map(|t| t.tasks)
        .collect();
    let node_of: HashMap<&str, &Node> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let blocking = |dep: &str| status_of(dep) != Some(Status::Done);

    if ctx.out.json {
        let tasks: Vec<Json> = order
            .iter()
            .map(|id| {
                let n = node_of[id.as_str()];
                let e = by_id[id.as_str()];
                json!({
                    "id": id,
                    "title": e.task.title(),
                    "status": e.task.status.as_str(),
                    "ready": n.ready,
                    "depends_on": n.depends_on.iter().map(|d| json!({
                        "id": d,
                        "status": status_of(d).map(Status::as_str),
                        "blocking": blocking(d),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        ctx.out
            .print_json(&json!({"schema_version": SCHEMA_VERSION, "tasks": tasks}));
        return Ok(());
    }
    let mut out = String::new();
    match args.format {
        Format::Text => {
            for id in &order {
                let n = node_of[id.as_str()];
                let t = &by_id[id.as_str()].task;
                let mark = if n.ready { "ready" } else { "-" };
                let deps: Vec<String> = n
                    .depends_on
                    .iter()
                    .map(|d| {
                        let state = status_of(d).map_or("missing", Status::as_str);
                        if blocking(d) {
                            format!("{d} ({state}, blocking)")
                        } else {
                            format!("{d} ({state})")
                        }
                    })
                    .collect();
                let after = if deps.is_empty() {
                    String::new()
                } else {
                    format!("  ← {}", deps.join(", "))
                };
                out.push_str(&format!(
                    "{id}  {}  {mark}  {}{after}\n",
                    t.status,
                    t.title()
                ));
            }
        }
        Format::Dot => {
            out.push_str("digraph tasks {\n  rankdir=LR;\n  node [shape=box];\n");
            for id in &order {
                let n = node_of[id.as_str()];
                let t = &by_id[id.as_str()].task;
                let style = if n.ready {
                    ", style=filled, fillcolor=palegreen"
                } else if t.status.is_finished() {
                    ", style=filled, fillcolor=lightgrey"
                } else {
                    ""
                };
                // Each part escaped on its own, joined by dot's own line breaks.
                let label = [id.as_str(), t.title(), t.status.as_str()]
                    .map(dot_escape)
                    .join("\\n");
                out.push_str(&format!(
                    "  {} [label=\"{label}\"{style}];\n",
                    dot_quote(id)
                ));
            }
            for id in &order {
                for d in &node_of[id.as_str()].depends_on {
                    let attrs = if blocking(d) {
                        " [color=red]"
                    } else {
                        " [style=dashed]"
                    };
                    out.push_str(&format!(
                        "  {} -> {}{attrs};\n",
                        dot_quote(d),
                        dot_quote(id)
                    ));
                }
            }
            out.push_str("}\n");
        }
        Format::Mermaid => {
            // Ids by position: task ids may differ only in characters mermaid cannot take.
            let mut ids: HashMap<&str, String> = HashMap::new();
            for id in order.iter().map(String::as_str).chain(
                order
                    .iter()
                    .flat_map(|id| node_of[id.as_str()].depends_on.iter().map(String::as_str)),
            ) {
                let next = format!("t{}", ids.len() + 1);
                ids.entry(id).or_insert(next);
            }
            let mermaid_id = |id: &str| ids[id].clone();
            out.push_str("flowchart LR\n");
            for id in &order {
                let n = node_of[id.as_str()];
                let t = &by_id[id.as_str()].task;
                let class = if n.ready {
                    ":::ready"
                } else if t.status.is_finished() {
                    ":::finished"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "  {}[\"{}: {} ({})\"]{class}\n",
                    mermaid_id(id),
                    id,
                    mermaid_text(t.title()),
                    t.status
                ));
            }
            // Dependencies outside the drawing (finished ones, without --all) get a plain node.
            let drawn: BTreeSet<&str> = order.iter().map(String::as_str).collect();
            let outside: BTreeSet<&str> = order
                .iter()
                .flat_map(|id| node_of[id.as_str()].depends_on.iter().map(String::as_str))
                .filter(|d| !drawn.contains(d))
                .collect();
            for d in outside {
                let state = status_of(d).map_or("missing", Status::as_str);
                out.push_str(&format!(
                    "  {}[\"{} ({state})\"]:::finished\n",
                    mermaid_id(d),
                    mermaid_text(d)
                ));
            }
            for id in &order {
                for d in &node_of[id.as_str()].depends_on {
                    let arrow = if blocking(d) { "-->|blocks|" } else { "-.->" };
                    out.push_str(&format!("  {} {arrow} {}\n", mermaid_id(d), mermaid_id(id)));
                }
            }
            out.push_str("  classDef ready fill:#c8f7c5,stroke:#2e7d32\n");
            out.push_str("  classDef finished fill:#eeeeee,stroke:#9e9e9e\n");
        }
    }
    if order.is_empty() && args.format == Format::Text {
        ctx.out.status("no tasks to draw");
    }
    crate::out!("{out}");
    Ok(())
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", dot_escape(s))
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

pub fn tracks(ctx: &super::Ctx, args: &TracksArgs) -> Result<()> {
    let store = ctx.store()?;
    let scan = store.scan();
    ctx.warn_invalid(&store, &scan);
    let (entries, nodes) = nodes(ctx, &store, &scan, false);
    let tracks = graph::tracks(&nodes);
    let plan = args.agents.map(|n| graph::plan(&tracks, n as usize));
    let title: HashMap<&str, &str> = entries
        .iter()
        .map(|e| (e.task.id.as_str(), e.task.title()))
        .collect();
    let ready: HashMap<&str, bool> = nodes.iter().map(|n| (n.id.as_str(), n.ready)).collect();
    if ctx.out.json {
        let tracks_json: Vec<Json> = tracks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                json!({
                    "track": i + 1,
                    "tasks": t.tasks,
                    "critical_path": t.critical_path,
                    "critical_path_length": t.critical_path.len(),
                    "ready": t.ready,
                    "conflicts_with": t.conflicts.iter().map(|c| c + 1).collect::<Vec<_>>(),
                })
            })
            .collect();
        let plan_json = plan.as_ref().map(|p| {
            p.iter()
                .enumerate()
                .map(|(a, ts)| {
                    json!({
                        "agent": a + 1,
                        "tracks": ts.iter().map(|t| t + 1).collect::<Vec<_>>(),
                        "load": ts.iter().map(|&t| tracks[t].critical_path.len()).sum::<usize>(),
                    })
                })
                .collect::<Vec<_>>()
        });
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "tracks": tracks_json,
            "plan": plan_json,
        }));
        return Ok(());
    }
    if tracks.is_empty() {
        ctx.out.status("no unfinished tasks");
        return Ok(());
    }
    for (i, t) in tracks.iter().enumerate() {
        crate::outln!(
            "track {}: {} task{}, critical path {} ({}), {} ready",
            i + 1,
            t.tasks.len(),
            if t.tasks.len() == 1 { "" } else { "s" },
            t.critical_path.len(),
            t.critical_path.join(" → "),
            t.ready
        );
        for id in &t.tasks {
            let mark = if ready[id.as_str()] { "ready" } else { "-" };
            crate::outln!("  {id}  {mark}  {}", title[id.as_str()]);
        }
        if !t.conflicts.is_empty() {
            let with: Vec<String> = t
                .conflicts
                .iter()
                .map(|c| format!("track {}", c + 1))
                .collect();
            crate::outln!(
                "  conflicts with {} (their files: globs overlap)",
                with.join(", ")
            );
        }
    }
    if let Some(plan) = plan {
        crate::outln!();
        for (a, ts) in plan.iter().enumerate() {
            let names: Vec<String> = ts.iter().map(|t| format!("track {}", t + 1)).collect();
            let load: usize = ts.iter().map(|&t| tracks[t].critical_path.len()).sum();
            crate::outln!(
                "agent {}: {} (critical paths {load})",
                a + 1,
                if names.is_empty() {
                    "nothing".to_string()
                } else {
                    names.join(", then ")
                }
            );
        }
    }
    Ok(())
}
