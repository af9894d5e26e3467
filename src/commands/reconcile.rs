//! `tasks reconcile`: bring task changes made in worktrees into the root.

use serde_json::{Value as Json, json};

use crate::checks::drift::{self, Drift, DriftKind, value_text};
use crate::error::{Error, Kind, Result};
use crate::lifecycle::{self, Actor, CLAIM_KEYS, LeaseAction, Transition};
use crate::merge::{self, Plan, Prefer};
use crate::output::{SCHEMA_VERSION, yaml_to_json};
use crate::store::{Store, atomic, lease, scan};
use crate::task::{Edit, Status, edit};

/// Apply task changes made in worktrees to the root
///
/// Per key, against the file at the merge-base: a change only the worktree made is taken; the
/// more progressed status wins; lists merge as sets; the claim fields keep the root's values;
/// the body merges line by line, keeping notes appended on either side. Tasks new in a worktree
/// are added to the root. Conflicts are listed and left alone (exit 3) unless --prefer settles
/// them. Writes only the root, under the lock, changing only the lines that differ. Running it
/// again changes nothing.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks reconcile --dry-run\n  tasks reconcile\n  tasks reconcile T-3b9x --prefer worktree"
)]
pub struct Args {
    /// Only this task (an id, or a unique prefix of a task in the root)
    #[arg(add = crate::completion::any_task())]
    pub id: Option<String>,
    /// Say what would change; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Settle conflicts with this side's values
    #[arg(long, value_enum, value_name = "SIDE")]
    pub prefer: Option<Prefer>,
}

/// What reconcile did (or would do) to one task from one worktree.
struct Applied {
    id: String,
    worktree: String,
    path: String,
    added: bool,
    /// (key, root value before, value after)
    changes: Vec<(
        String,
        Option<serde_norway::Value>,
        Option<serde_norway::Value>,
    )>,
    body: Option<(usize, usize)>,
    status: Option<(Status, Status, Option<&'static str>)>,
    conflicts: Vec<Json>,
    conflict_lines: Vec<String>,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    let _lock = store.lock_unless_dry_run(args.dry_run, ctx.out.quiet)?;
    // Scanned under the lock: the root copies are the ones the writes replace.
    let scan = store.scan();
    let only = args
        .id
        .as_deref()
        .map(|q| super::drift::task_id(&store, &scan, q))
        .transpose()?;
    let analysis = drift::analyze(&store, &scan, only.as_deref(), args.prefer);
    for u in &analysis.unreadable {
        ctx.out.warn(&format!(
            "{}:{}: {} (skipped; fix it in its worktree)",
            store.display(&u.path),
            u.line,
            u.reason
        ));
    }
    for (wt, why) in &analysis.failed {
        ctx.out
            .warn(&format!("cannot compare {}: {why}", store.display(wt)));
    }
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for d in &analysis.drifts {
        // One task that cannot be written stops neither the others nor the report.
        match apply(&store, &actor, d, args) {
            Ok(r) => {
                if !args.dry_run && r.conflicts.is_empty() {
                    remember(&store, d)?;
                }
                results.push(r);
            }
            Err(e) => failed.push((d.id.clone(), store.display(&d.worktree), e)),
        }
    }

    let conflicts: usize = results.iter().map(|r| r.conflicts.len()).sum();
    if ctx.out.json {
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "dry_run": args.dry_run,
            "tasks": results.iter().map(to_json).collect::<Vec<_>>(),
            "failed": failed.iter().map(|(id, wt, e)| json!({
                "id": id,
                "worktree": wt,
                "error": {"code": e.code, "message": e.message},
            })).collect::<Vec<_>>(),
        }));
    } else {
        print(ctx, &results, args.dry_run);
    }
    if let Some((id, wt, e)) = failed.first() {
        let mut err = Error::failure(
            "reconcile_failed",
            format!("{id} from {wt} was not reconciled: {}", e.message),
        );
        for (id, wt, e) in &failed[1..] {
            err = err.hint(format!("{id} from {wt} was not reconciled: {}", e.message));
        }
        for h in &e.hints {
            err = err.hint(h.clone());
        }
        return Err(if ctx.out.json { err.reported() } else { err });
    }
    if conflicts > 0 {
        return Err(Error::new(
            Kind::Conflict,
            "conflicts",
            format!(
                "{conflicts} conflict{} left alone; `tasks reconcile --prefer worktree|root` settles them",
                if conflicts == 1 { "" } else { "s" }
            ),
        )
        .reported());
    }
    Ok(())
}

/// Keeps the worktree copy this run brought into the root, as the common ground of the next
/// comparison (see `drift::analyze`).
fn remember(store: &Store, d: &Drift) -> Result<()> {
    let path = drift::reconciled_path(store, &d.worktree_name, &d.rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::failure("io", format!("cannot create {}: {e}", dir.display())))?;
    }
    atomic::write(&path, d.worktree_text.as_bytes())?;
    Ok(())
}

fn apply(store: &Store, actor: &Actor, d: &Drift, args: &Args) -> Result<Applied> {
    let mut out = Applied {
        id: d.id.clone(),
        worktree: store.display(&d.worktree),
        path: store.display(&d.worktree_file),
        added: false,
        changes: Vec::new(),
        body: None,
        status: None,
        conflicts: Vec::new(),
        conflict_lines: Vec::new(),
    };
    match &d.kind {
        DriftKind::DeletedInRoot => match args.prefer {
            Some(Prefer::Root) => {}
            Some(Prefer::Worktree) => add(store, d, &mut out, args.dry_run)?,
            None => {
                out.conflicts
                    .push(json!({"key": null, "reason": "deleted in the root"}));
                out.conflict_lines
                    .push("changed in the worktree but deleted in the root".into());
            }
        },
        DriftKind::New => add(store, d, &mut out, args.dry_run)?,
        DriftKind::Merge(_) => merge_into_root(store, actor, d, &mut out, args)?,
    }
    Ok(out)
}

/// A task only the worktree has: copy it to the same place in the root.
fn add(store: &Store, d: &Drift, out: &mut Applied, dry_run: bool) -> Result<()> {
    let target = store.tasks_dir.join(&d.rel);
    // Another worktree may have added it earlier in this run, or something else sits there
    // (another file, one that cannot be read, a link): never written over.
    match std::fs::symlink_metadata(&target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        _ => {
            if std::fs::read(&target).ok().as_deref() != Some(d.worktree_text.as_bytes()) {
                out.conflicts.push(
                    json!({"key": null, "reason": "something else is at that path in the root"}),
                );
                out.conflict_lines.push(format!(
                    "{} already exists in the root with other content",
                    store.display(&target)
                ));
            }
            return Ok(());
        }
    }
    out.added = true;
    out.path = store.display(&target);
    if dry_run {
        return Ok(());
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            Error::failure("io", format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    atomic::write(&target, d.worktree_text.as_bytes())?;
    Ok(())
}

fn merge_into_root(
    store: &Store,
    actor: &Actor,
    d: &Drift,
    out: &mut Applied,
    args: &Args,
) -> Result<()> {
    let Some(root) = &d.root else {
        return Ok(());
    };
    // Re-read: an earlier worktree in this run may have changed the root copy.
    let current = scan::read_full(&root.path)
        .map_err(|e| store.invalid_error(&root.path, e.line, &e.message))?;
    out.path = store.display(&root.path);
    let plan = merge::plan(
        d.base_text.as_deref(),
        &current.text,
        &d.worktree_text,
        args.prefer,
    )
    .map_err(|e| Error::failure("invalid_file", format!("{}: {e}", out.path)))?;
    let (edit, transition) = plan_edit(&plan, &current.task, actor, &store.config, out);
    if edit.is_empty() {
        return Ok(());
    }
    let after = edit::apply(&current.text, &edit).map_err(|e| {
        Error::failure("edit_refused", format!("{}: {e}", out.path))
            .hint("the file was not changed; please report this with the file attached")
    })?;
    if args.dry_run || after == current.text {
        return Ok(());
    }
    let task = store.write_edit(&root.path, &current.text, &edit)?;
    if let Some(t) = &transition {
        if t.lease == LeaseAction::Release {
            lease::remove(&store.state_dir, &task.id)?;
        }
        super::log(store, actor, &task.id, t)?;
    }
    Ok(())
}

/// The edit a plan makes to the root copy, with what a status change implies: a claim that
/// ends loses its claim fields and gets an outcome (unless the worktree recorded one).
fn plan_edit(
    plan: &Plan,
    root: &crate::task::Task,
    actor: &Actor,
    config: &crate::config::Config,
    out: &mut Applied,
) -> (Edit, Option<Transition>) {
    let mut edit = Edit::default();
    for k in &plan.keys {
        match k.resolution.value() {
            Some(value) => {
                match value {
                    Some(v) => edit.set(&k.key, v.clone()),
                    None => edit.remove(&k.key),
                };
                out.changes
                    .push((k.key.clone(), k.root.clone(), value.cloned()));
            }
            None => {
                out.conflicts.push(json!({
                    "key": k.key,
                    "base": k.base.as_ref().map(yaml_to_json),
                    "root": k.root.as_ref().map(yaml_to_json),
                    "worktree": k.worktree.as_ref().map(yaml_to_json),
                }));
                out.conflict_lines.push(format!(
                    "{}: base {}, root {}, worktree {}",
                    k.key,
                    value_text(k.base.as_ref()),
                    value_text(k.root.as_ref()),
                    value_text(k.worktree.as_ref())
                ));
            }
        }
    }
    // A PR link brought over without its number gets one, as `done --pr` would give it.
    let new_url = plan
        .keys
        .iter()
        .find(|k| k.key == "pr_url")
        .and_then(|k| k.resolution.value()?.as_ref()?.as_str());
    let number_known = root.has_key("pr_number") || plan.keys.iter().any(|k| k.key == "pr_number");
    if let Some(n) = new_url
        .and_then(crate::lifecycle::pr_number)
        .filter(|_| !number_known)
    {
        let n = serde_norway::Value::Number(n.into());
        edit.set("pr_number", n.clone());
        out.changes.push(("pr_number".into(), None, Some(n)));
    }
    if plan.body_changes() {
        edit.body = Some(plan.body.text.clone());
        out.body = Some((plan.body.added, plan.body.removed));
    }
    if plan.body.conflicts > 0 {
        out.conflicts.push(json!({
            "key": null,
            "reason": "body",
            "places": plan.body.conflicts,
        }));
        out.conflict_lines.push(format!(
            "body: {} place{} changed differently on both sides",
            plan.body.conflicts,
            if plan.body.conflicts == 1 { "" } else { "s" }
        ));
    }
    if edit.is_empty() {
        return (edit, None);
    }
    let to = plan
        .keys
        .iter()
        .find(|k| k.key == "status")
        .and_then(|k| k.resolution.value())
        .and_then(|v| v.as_ref()?.as_str()?.parse::<Status>().ok());
    // A copy that says done goes through review like `tasks done` when review is required.
    let to = to.map(|to| {
        if to == Status::Done && config.review_required() && root.status != Status::Done {
            edit.set("status", Status::InReview.as_str());
            if let Some(change) = out.changes.iter_mut().find(|c| c.0 == "status") {
                change.2 = Some(Status::InReview.as_str().into());
            }
            Status::InReview
        } else {
            to
        }
    });
    // Done checks did not run for work finished in a copy: say so, so the sweep flags it.
    let verified_taken = plan.keys.iter().any(|k| k.key == "verified");
    if to.is_some_and(|t| matches!(t, Status::Done | Status::InReview))
        && !config.done.checks.is_empty()
        && !verified_taken
        && !root.has_key("verified")
    {
        let mut v = serde_norway::Mapping::new();
        v.insert("at".into(), actor.now.as_str().into());
        v.insert("skipped".into(), true.into());
        v.insert(
            "reason".into(),
            "finished in a worktree copy and reconciled; the done checks did not run".into(),
        );
        edit.set("verified", serde_norway::Value::Mapping(v));
    }
    let transition = to.filter(|to| *to != root.status).map(|to| {
        let from = root.status;
        let taken = |key: &str| {
            plan.keys
                .iter()
                .find(|k| k.key == key)
                .and_then(|k| k.resolution.value())
        };
        let has_pr = |key: &str| root.has_key(key) || taken(key).flatten().is_some();
        let derived = match to {
            Status::Done if has_pr("pr_url") || has_pr("pr_number") => Some("completed_with_pr"),
            Status::Done => Some("completed"),
            Status::InReview => Some("needs_review"),
            Status::Blocked => Some("blocked"),
            Status::Failed => Some("failed"),
            Status::Open | Status::Cancelled if from.is_claimed() => Some("released"),
            _ => None,
        };
        let by = root
            .claimed_by()
            .map(str::to_string)
            .unwrap_or_else(|| actor.name.clone());
        // The worktree's own record of the outcome wins over one derived from the status.
        let outcome = match taken("outcome") {
            Some(v) => {
                let text = v.and_then(|v| v.as_str()).unwrap_or_default();
                lifecycle::known_outcome(text)
            }
            None => {
                if let Some(o) = derived {
                    edit.set("outcome", o);
                }
                derived
            }
        };
        if outcome.is_some() {
            if taken("outcome_at").is_none() {
                edit.set("outcome_at", actor.now.as_str());
            }
            if taken("outcome_by").is_none() {
                edit.set("outcome_by", by.as_str());
            }
        }
        let ends_claim = from.is_claimed() && !to.is_claimed();
        if ends_claim {
            for key in CLAIM_KEYS {
                if root.has_key(key) {
                    edit.remove(key);
                }
            }
        }
        out.status = Some((from, to, outcome));
        Transition {
            edit: Edit::default(),
            from,
            to,
            outcome,
            lease: if to.is_claimed() {
                LeaseAction::Renew
            } else {
                LeaseAction::Release
            },
        }
    });
    edit.set("updated_at", actor.now.as_str());
    (edit, transition)
}

fn to_json(r: &Applied) -> Json {
    json!({
        "id": r.id,
        "worktree": r.worktree,
        "path": r.path,
        "added": r.added,
        "changes": r.changes.iter().map(|(key, from, to)| json!({
            "key": key,
            "from": from.as_ref().map(yaml_to_json),
            "to": to.as_ref().map(yaml_to_json),
        })).collect::<Vec<_>>(),
        "body": r.body.map(|(added, removed)| json!({"added": added, "removed": removed})),
        "status": r.status.map(|(from, to, outcome)| json!({
            "from": from.as_str(),
            "to": to.as_str(),
            "outcome": outcome,
        })),
        "conflicts": r.conflicts,
    })
}

fn print(ctx: &super::Ctx, results: &[Applied], dry_run: bool) {
    let verb = if dry_run { "would take" } else { "took" };
    let mut said = false;
    for r in results {
        if r.added {
            let verb = if dry_run { "would add" } else { "added" };
            crate::outln!("{}: {verb} {} from {}", r.id, r.path, r.worktree);
            said = true;
        }
        let mut parts: Vec<String> = r
            .changes
            .iter()
            .map(|(k, from, to)| {
                format!(
                    "{k} {} → {}",
                    value_text(from.as_ref()),
                    value_text(to.as_ref())
                )
            })
            .collect();
        if let Some((added, removed)) = r.body {
            parts.push(format!("body +{added} −{removed}"));
        }
        if let Some((from, to, outcome)) = r.status {
            if let Some(o) = outcome {
                parts.push(format!("outcome {o}"));
            }
            if from.is_claimed() && !to.is_claimed() {
                parts.push("claim ended".into());
            }
        }
        if !parts.is_empty() {
            crate::outln!("{}: {verb} from {}: {}", r.id, r.worktree, parts.join(", "));
            said = true;
        }
        for c in &r.conflict_lines {
            crate::outln!("{}: conflict in {}: {c} (left alone)", r.id, r.worktree);
            said = true;
        }
    }
    if !said {
        ctx.out
            .status("nothing to reconcile: the root has every task change made in a worktree");
    }
}
