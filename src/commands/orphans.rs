//! `tasks orphans`: leftovers of finished tasks and claims whose worker is gone.

use crate::checks::{Report, liveness, orphans};
use crate::error::Result;

/// Show leftover worktrees and branches, claims whose worker is gone, and stray claim fields
///
/// Signals `orphan_worktree` (warn: a worktree or `<branch_prefix>` branch whose task is
/// finished, cancelled or missing, or open again after a released claim), `worker_gone` (error:
/// a task in progress whose worktree folder is gone, or whose recorded worker pid on this host
/// is not running) and `orphan_claim` (warn: claim fields on a task that is not in progress or
/// in review). Exits 7 when a signal is at or above --fail-on. `tasks worktree prune` removes
/// the worktrees that are safe to remove.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks orphans\n  tasks orphans --json")]
pub struct Args {
    #[command(flatten)]
    pub sweep: super::drift::SweepArgs,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let args = &args.sweep;
    let store = ctx.store()?;
    let scan = store.scan();
    ctx.warn_invalid(&store, &scan);
    let only = args
        .id
        .as_deref()
        .map(|q| super::drift::task_id(&store, &scan, q))
        .transpose()?;
    let mut signals = orphans::signals(&store, &scan, only.as_deref());
    let lookups = liveness::Lookups::new(&store);
    signals.extend(
        scan.tasks
            .iter()
            .filter(|e| only.as_deref().is_none_or(|o| o == e.task.id))
            .filter_map(|e| liveness::worker_gone(&store, &lookups, e)),
    );
    let report = Report::new(super::now(), signals, |id| {
        scan.get(id).map(|e| e.task.status.as_str().to_string())
    });
    report.print(&ctx.out, "no orphans");
    report.outcome(args.fail_on)
}
