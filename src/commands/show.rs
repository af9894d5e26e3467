//! `tasks show`: one task in full, with its live lease.

use serde_json::json;

use crate::error::Result;
use crate::output;
use crate::store::{Scan, Store, lease, scan};
use crate::task::split;

/// Show a task: its file as written, and the lease on it
///
/// Under --json: `{"schema_version":1,"task":TASK,"body":"…","lease":{…}|null}`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  tasks show T-3b9x\n  tasks show t-3b --json")]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::any_task())]
    pub id: String,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let found = store.scan();
    let shown = show(ctx, &store, &found, args);
    // The command ends here: freeing every task one by one would only cost time.
    std::mem::forget(found);
    shown
}

fn show(ctx: &super::Ctx, store: &Store, found: &Scan, args: &Args) -> Result<()> {
    let entry = store.resolve(found, &args.id)?;
    let full = scan::read_full(&entry.path)
        .map_err(|e| store.invalid_error(&entry.path, e.line, &e.message))?;
    let body = split::split(&full.text)
        .map(|p| p.body.to_string())
        .unwrap_or_default();
    let now = super::now_time();
    let lease =
        lease::read(&store.state_dir, &full.task.id).filter(|_| full.task.status.is_claimed());
    if ctx.out.json {
        let lease_json = lease.as_ref().map(|l| {
            let mut v = serde_json::to_value(l).unwrap_or_default();
            v["live"] = json!(l.is_live(now));
            v
        });
        let mut doc = output::one_task(&full.task, &entry.path);
        doc["body"] = json!(body);
        doc["lease"] = json!(lease_json);
        ctx.out.print_json(&doc);
        return Ok(());
    }
    crate::out!("{}", full.text);
    if !full.text.ends_with('\n') {
        crate::outln!();
    }
    match lease {
        Some(l) if l.is_live(now) => ctx.out.status(&format!(
            "lease: held by {} until {}",
            l.holder, l.expires_at
        )),
        Some(l) => ctx.out.status(&format!(
            "lease: held by {} EXPIRED at {}",
            l.holder, l.expires_at
        )),
        None if full.task.status.is_claimed() => ctx.out.status("lease: none recorded"),
        None => {}
    }
    Ok(())
}
