//! `tasks drift`: task changes made in worktrees that the root does not have yet.

use crate::checks::drift::{self, DriftKind, value_text};
use crate::checks::{FailOn, Report};
use crate::error::Result;
use crate::merge::Resolution;
use crate::store::Store;

/// Show task changes made in worktrees that the root lacks
///
/// For every linked worktree, compares each task file it changed since its branch point
/// (committed on its branch, uncommitted, or new) with the root's copy, key by key against the
/// file at the merge-base. Signals `completed_unreconciled` (error: the worktree says done, in
/// review or has a PR and the root does not) and `metadata_drift` (warn). Exits 7 when a signal
/// is at or above --fail-on. `tasks reconcile` applies what can be applied.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks drift\n  tasks drift --fail-on warn\n  tasks drift T-3b9x --json"
)]
pub struct Args {
    #[command(flatten)]
    pub sweep: SweepArgs,
}

/// What every sweep command takes.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Only this task (an id, or a unique prefix of a task in the root)
    #[arg(add = crate::completion::any_task())]
    pub id: Option<String>,
    /// The lowest severity that makes the exit code 7
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "LEVEL")]
    pub fail_on: FailOn,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let args = &args.sweep;
    let store = ctx.store()?;
    let scan = store.scan();
    let only = args
        .id
        .as_deref()
        .map(|q| task_id(&store, &scan, q))
        .transpose()?;
    let analysis = drift::analyze(&store, &scan, only.as_deref(), None);
    let signals = drift::signals(&store, &analysis);
    let status_of = |id: &str| {
        scan.get(id)
            .map(|e| e.task.status.as_str().to_string())
            .or_else(|| {
                analysis
                    .drifts
                    .iter()
                    .find(|d| d.id == id)
                    .map(|d| d.worktree_status.as_str().to_string())
            })
    };
    let report = Report::new(super::now(), signals, status_of);
    report.print(
        &ctx.out,
        "no drift: the root has every task change made in a worktree",
    );
    if !ctx.out.json {
        print_keys(&store, &analysis);
    }
    report.outcome(args.fail_on)
}

/// The id a query means: a task in the root (by unique prefix), else the query itself (a task
/// that so far exists only in a worktree). An ambiguous prefix is an error, as everywhere.
pub fn task_id(store: &Store, scan: &crate::store::Scan, query: &str) -> Result<String> {
    match store.resolve(scan, query) {
        Ok(e) => Ok(e.task.id.clone()),
        Err(e) if e.code == "not_found" => Ok(query.to_string()),
        Err(e) => Err(e),
    }
}

/// Per key: base, root and worktree values and what reconcile does with it.
fn print_keys(store: &Store, analysis: &drift::Analysis) {
    for d in &analysis.drifts {
        let DriftKind::Merge(plan) = &d.kind else {
            continue;
        };
        crate::outln!();
        crate::outln!("{} in {}:", d.id, store.display(&d.worktree));
        for k in &plan.keys {
            let what = match &k.resolution {
                Resolution::Conflict => "conflict: root kept".to_string(),
                Resolution::Merged(v) => format!("merged: {}", value_text(Some(v))),
                Resolution::Take(_) | Resolution::Preferred(_) => "take worktree".to_string(),
            };
            crate::outln!(
                "  {}: base {}, root {}, worktree {} → {what}",
                k.key,
                value_text(k.base.as_ref()),
                value_text(k.root.as_ref()),
                value_text(k.worktree.as_ref()),
            );
        }
        if plan.body_changes() || plan.body.conflicts > 0 {
            crate::outln!(
                "  body: +{} −{} lines from the worktree{}",
                plan.body.added,
                plan.body.removed,
                if plan.body.conflicts > 0 {
                    format!(", {} conflicting places (root kept)", plan.body.conflicts)
                } else {
                    String::new()
                }
            );
        }
    }
}
