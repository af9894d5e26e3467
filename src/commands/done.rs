//! `tasks done`: finish a claimed task, with its evidence, after the done checks pass.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_norway::{Mapping, Value};

use crate::config::Requirement;
use crate::error::{Error, Kind, Result};
use crate::lifecycle::{self, Evidence};
use crate::task::Edit;
use crate::verify;

const DEFAULT_CHECK_TIMEOUT_SECS: u64 = 20 * 60;

/// Finish a task you hold: outcome `completed`, or `completed_with_pr` with --pr
///
/// With `review: required` in config.yaml the task goes to `in_review` instead (outcome
/// `needs_review`) until someone runs `tasks approve`.
/// The commands in config `done.checks` run first, in the task's worktree (else the current
/// one); if one fails the task stays in progress, a note records it, and the exit code is 6.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks done T-3b9x\n  tasks done T-3b9x --commit abc1234\n  tasks done T-3b9x --pr https://github.com/acme/app/pull/42\n  tasks done T-3b9x --no-verify --reason \"docs only\""
)]
pub struct Args {
    /// The task id (or a unique prefix)
    #[arg(add = crate::completion::live_task())]
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
    #[command(flatten)]
    pub remote: super::remote::RemoteArg,
}

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let (checks, dir, detected) = {
        let store = ctx.store()?;
        let scan = store.scan();
        let entry = store.resolve(&scan, &args.id)?;
        let dir = work_dir(&store, &entry.task);
        // A required commit not given nor recorded is the worktree's HEAD.
        let needs_commit = store.config.done.require.contains(&Requirement::Commit)
            && entry.task.get_str("commit").is_none();
        let detected = (needs_commit && args.commit.is_none())
            .then(|| verify::head_commit(&dir))
            .flatten();
        (store.config.done.checks.clone(), dir, detected)
    };
    let evidence = Evidence {
        pr_url: args.pr.clone(),
        commit: args.commit.clone().or(detected),
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
        Some(run_checks(ctx, args, &evidence, &checks, &dir)?)
    };
    super::transition(ctx, &args.id, &args.remote, |task, actor, store| {
        let mut t = lifecycle::done(task, actor, &store.config, &evidence)?;
        if let Some(v) = &verified {
            t.edit.set("verified", v.clone());
        }
        Ok(t)
    })
}

/// Where the task's work is: its recorded worktree, else the worktree we are in, else the root.
fn work_dir(store: &crate::store::Store, task: &crate::task::Task) -> PathBuf {
    crate::checks::orphans::recorded_worktree(store, task)
        .filter(|p| p.is_dir())
        .or_else(|| store.git.as_ref().map(|g| g.current_worktree.clone()))
        .unwrap_or_else(|| store.root.clone())
}

/// Runs the checks without holding the lock (they may take minutes). The task is checked
/// first so nobody waits on checks for a task they cannot finish.
fn run_checks(
    ctx: &super::Ctx,
    args: &Args,
    evidence: &Evidence,
    checks: &[String],
    dir: &Path,
) -> Result<Value> {
    let store = ctx.store()?;
    let actor = ctx.actor(&store)?;
    let scan = store.scan();
    let entry = store.resolve(&scan, &args.id)?;
    let full = store.reread(entry)?;
    lifecycle::done(&full.task, &actor, &store.config, evidence)?;

    let timeout = Duration::from_secs(
        store
            .config
            .done
            .timeout
            .map_or(DEFAULT_CHECK_TIMEOUT_SECS, |d| d.secs()),
    );
    let mut ran = Vec::new();
    for check in checks {
        ctx.out
            .status(&format!("Running done check in {}: {check}", dir.display()));
        let run = verify::run_check(check, dir, timeout);
        let mut record = Mapping::new();
        record.insert("cmd".into(), check.as_str().into());
        record.insert("exit".into(), Value::Number(run.ended.code().into()));
        record.insert("seconds".into(), Value::Number(round(run.seconds).into()));
        ran.push(Value::Mapping(record));
        if run.ended.passed() {
            continue;
        }
        let what = match &run.ended {
            verify::Ended::TimedOut => format!(
                "did not finish within {}",
                crate::config::Duration(timeout.as_secs())
            ),
            other => other.describe(),
        };
        // The note keeps the last lines of output, so the failure can be read later.
        let lines: Vec<&str> = run
            .tail
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        let tail = &lines[lines.len().saturating_sub(5)..];
        let output = if tail.is_empty() {
            String::new()
        } else {
            format!("; last output: {}", tail.join(" / "))
        };
        super::update(ctx, &args.id, |_, actor, _, _| {
            Ok(Edit {
                note: Some(format!(
                    "- {} {}: done check `{check}` {what}{output}",
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
    let commit = evidence.commit.clone().or_else(|| verify::head_commit(dir));
    let mut v = Mapping::new();
    v.insert("at".into(), super::now().into());
    if let Some(c) = commit {
        v.insert("commit".into(), c.into());
    }
    v.insert("checks".into(), Value::Sequence(ran));
    Ok(Value::Mapping(v))
}

/// Seconds to a tenth, as a YAML number.
fn round(seconds: f64) -> f64 {
    (seconds * 10.0).round() / 10.0
}
