//! `tasks list`: the tasks, filtered.

use crate::error::{Error, Result};
use crate::lifecycle;
use crate::output;
use crate::store::{Entry, scan};
use crate::task::{Kind, Status};

/// List tasks (unfinished ones unless --all or --status says otherwise)
///
/// Piped output is one task per line, tab-separated: id, status, priority, type, owner,
/// claimed_by, title (`-` for empty).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks list\n  tasks list --all\n  tasks list --status todo,in_progress --owner role:backend\n  tasks list --label db --json"
)]
pub struct Args {
    /// Only these statuses (repeat or comma-separate; aliases like todo work)
    #[arg(long, short, value_delimiter = ',', add = crate::completion::status())]
    pub status: Vec<String>,
    /// Only tasks with this owner (a person or role:NAME)
    #[arg(long)]
    pub owner: Option<String>,
    /// Only tasks carrying this label
    #[arg(long)]
    pub label: Option<String>,
    /// Only tasks of this type
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<Kind>,
    /// Include done, failed and cancelled tasks
    #[arg(long, short)]
    pub all: bool,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let scan = store.scan();
    ctx.warn_invalid(&store, &scan);
    let statuses: Vec<Status> = args
        .status
        .iter()
        .map(|s| s.parse::<Status>().map_err(Error::usage))
        .collect::<Result<_>>()?;
    let owner = args
        .owner
        .as_deref()
        .map(|o| super::set::person(o, &store.config));
    // The status first, from the list beside the tasks: most filters look at no task.
    let mut entries: Vec<&Entry> = scan
        .tasks
        .iter()
        .zip(scan.statuses())
        .filter(|(_, status)| {
            if statuses.is_empty() {
                args.all || !status.is_finished()
            } else {
                statuses.contains(status)
            }
        })
        .map(|(e, _)| e)
        .filter(|e| {
            let t = &e.task;
            owner.as_ref().is_none_or(|o| {
                t.owner()
                    .is_some_and(|x| lifecycle::same_person(x, o, &store.config))
            }) && args.label.as_ref().is_none_or(|l| t.labels().contains(l))
                && args.kind.is_none_or(|k| t.kind == k)
        })
        .collect();
    lifecycle::sort_in_ready_order(&mut entries, |e| &e.task);
    print_tasks(ctx, &entries);
    drop(entries);
    // The command ends here: freeing every task one by one would only cost time.
    std::mem::forget(scan);
    Ok(())
}

pub fn print_tasks(ctx: &super::Ctx, entries: &[&Entry]) {
    if ctx.out.json {
        ctx.out.print_json(&output::task_list(
            entries.iter().map(|e| (&*e.task, e.path.as_path())),
        ));
        return;
    }
    const PRIORITIES: [&str; 5] = ["0", "1", "2", "3", "4"];
    let rows = entries.chunks(64).flat_map(|batch| {
        scan::fetch_together(batch.iter().map(|e| &*e.task));
        batch.iter()
    });
    let rows = rows.map(|e| {
        let t = &e.task;
        vec![
            t.id.as_str(),
            t.status.as_str(),
            PRIORITIES
                .get(usize::from(t.priority))
                .copied()
                .unwrap_or("?"),
            t.kind.as_str(),
            t.owner().unwrap_or("-"),
            t.claimed_by().unwrap_or("-"),
            t.title(),
        ]
    });
    ctx.out.rows(
        &[
            "ID",
            "STATUS",
            "PRI",
            "TYPE",
            "OWNER",
            "CLAIMED BY",
            "TITLE",
        ],
        rows,
        Some(1),
    );
}
