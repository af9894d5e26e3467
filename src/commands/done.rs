//! `tasks done`: finish a claimed task, with its evidence, after the done checks pass.

use std::time::Duration;

use serde_norway::{Mapping, Value};

use crate::error::{Error, Kind, Result};
use crate::lifecycle::{self, Evidence};
use crate::task::Edit;
use crate::verify::{self, CheckResult};

const DEFAULT_CHECK_TIMEOUT_SECS: u64 = 20 * 60;

/// Finish a task you hold: outcome `completed`, or `completed_with_pr` with --pr
///
/// With `review: required` in config.yaml the task goes to `in_review` instead (outcome
/// `needs_review`) until someone runs `tasks approve`.
/// The commands in config `done.checks` run first, in the task's worktree (else the current
/// one); if one fails the task stays in progress, a note records it, and the exit code is 6.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The task id (or a unique prefix)
    pub id: String,
    /// The pull request URL (its number is recorded as pr_number)
    #[arg(long, value_name = "URL")]
    pub pr: Option<String>,
    /// The commit that carries the work
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// Skip the done checks; the skip and its --reason are recorded in `verified`
    #[arg(long, requires = "reason")]
    pub no_verify: bool,
    /// Why the checks were skipped (with --no-verify)
    #[arg(long, requires = "no_verify")]
    pub reason: Option<String>,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let evidence = Evidence {
        pr_url: args.pr.clone(),
        commit: args.commit.clone(),
    };
    let checks = {
        let store = ctx.store()?;
        store.config.done.checks.clone()
    };
    let verified = if args.no_verify {
        let reason = super::reason(args.reason.as_deref().unwrap_or_default())?;
        let mut v = Mapping::new();
        v.insert("at".into(), super::now().into());
        v.insert("skipped".into(), true.into());
        v.insert("reason".into(), reason.into());
        Some(Value::Mapping(v))
    } else if checks.is_empty() {
        None
    } else {
        Some(run_checks(ctx, args, &evidence, &checks)?)
    };
    super::transition(ctx, &args.id, |task, actor, store| {
        let mut t = lifecycle::done(task, actor, &store.config, &evidence)?;
        if let Some(v) = verified {
            t.edit.set("verified", v);
        }
        Ok(t)
    })
}

/// Runs the checks without holding the lock (they may take minutes). The task is checked
/// first so nobody waits on checks for a task they cannot finish.
fn run_checks(
    ctx: &super::Ctx,
    args: &Args,
    evidence: &Evidence,
    checks: &[String],
) -> Result<Value> {
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    let scan = store.scan();
    let entry = store.resolve(&scan, &args.id)?;
    let full = store.reread(entry)?;
    lifecycle::done(&full.task, &actor, &store.config, evidence)?;

    let dir = full
        .task
        .get_str("worktree")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_dir())
        .or_else(|| store.git.as_ref().map(|g| g.current_worktree.clone()))
        .unwrap_or_else(|| store.root.clone());
    let timeout = Duration::from_secs(
        store
            .config
            .done
            .timeout
            .map_or(DEFAULT_CHECK_TIMEOUT_SECS, |d| d.secs()),
    );
    for check in checks {
        ctx.out
            .status(&format!("Running done check in {}: {check}", dir.display()));
        let result = verify::run_check(check, &dir, timeout);
        if result == CheckResult::Passed {
            continue;
        }
        let what = match &result {
            CheckResult::Failed(Some(code)) => format!("exited {code}"),
            CheckResult::Failed(None) => "was killed by a signal".to_string(),
            CheckResult::TimedOut => format!(
                "did not finish within {}",
                crate::config::Duration(timeout.as_secs())
            ),
            CheckResult::CouldNotStart(e) => format!("could not start: {e}"),
            CheckResult::Passed => unreachable!(),
        };
        super::update(ctx, &args.id, |_, actor, _, _| {
            Ok(Edit {
                note: Some(format!(
                    "- {} {}: done check `{check}` {what}",
                    actor.now, actor.name
                )),
                ..Edit::default()
            })
        })?;
        return Err(Error::new(
            Kind::ChecksFailed,
            "checks_failed",
            format!(
                "done check `{check}` {what}; {} stays in progress",
                full.task.id
            ),
        )
        .hint("fix the problem and run `tasks done` again; its output is above"));
    }
    let commit = args.commit.clone().or_else(|| verify::head_commit(&dir));
    let mut v = Mapping::new();
    v.insert("at".into(), super::now().into());
    if let Some(c) = commit {
        v.insert("commit".into(), c.into());
    }
    v.insert("checks".into(), lifecycle::strings(checks));
    Ok(Value::Mapping(v))
}
