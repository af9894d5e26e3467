//! The definition of done end to end (issue 6): `done.checks` gate `tasks done` and leave
//! evidence, `done.require` demands it, `--no-verify` is recorded and flagged by the sweep; the
//! review loop (`approve`, `reopen`, `stuck_in_review`); and `tasks exec`, which makes sure every
//! claim it runs a worker on ends with an outcome, however the worker ends.
//!
//! Time is pinned with `TASKS_NOW`. A running worker is never waited for with a sleep: it
//! writes what the test needs to files the test polls with a deadline, and it finishes when
//! the test creates the file it waits for (or when the test kills it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Repo, Run, bin};

/// When the fixtures are set up.
const T0: &str = "2035-01-01T00:00:00Z";

/// Runs `tasks` in `dir` with the clock pinned at `now`.
fn at_in(repo: &Repo, dir: &Path, now: &str, args: &[&str]) -> Run {
    Run::from_output(
        repo.command_in(dir)
            .env("TASKS_NOW", now)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// Runs `tasks` in the root with the clock pinned at `now`.
fn at(repo: &Repo, now: &str, args: &[&str]) -> Run {
    at_in(repo, &repo.root, now, args)
}

fn write_config(repo: &Repo, text: &str) {
    repo.write(".tasks/config.yaml", text);
}

/// Creates a task and commits it, so a worktree branched from HEAD has it too.
fn committed_task(repo: &Repo, title: &str) -> String {
    let id = repo.new_task(&[title]);
    repo.git(&["add", ".tasks"]);
    repo.git(&["commit", "-qm", "add task"]);
    id
}

/// `tasks start ID --as WHO`; returns the worktree it printed.
fn start(repo: &Repo, id: &str, who: &str) -> PathBuf {
    PathBuf::from(repo.tasks(&["start", id, "--as", who]).ok().line())
}

fn common_dir(repo: &Repo) -> PathBuf {
    let out = repo.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
    PathBuf::from(out.trim())
}

fn lease_path(repo: &Repo, id: &str) -> PathBuf {
    common_dir(repo)
        .join("tasks")
        .join("leases")
        .join(format!("{id}.json"))
}

fn tombstone_path(repo: &Repo, id: &str) -> PathBuf {
    common_dir(repo)
        .join("tasks")
        .join("tombstones")
        .join(format!("{id}.json"))
}

fn tombstone(repo: &Repo, id: &str) -> Value {
    let path = tombstone_path(repo, id);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no tombstone at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn head(dir: &Path, repo: &Repo) -> String {
    repo.git_in(dir, &["rev-parse", "HEAD"]).trim().to_string()
}

/// The kinds of the signals on `id`'s row of a sweep document (empty when it has no row).
fn kinds(doc: &Value, id: &str) -> Vec<String> {
    doc["tasks"]
        .as_array()
        .expect("tasks array")
        .iter()
        .filter(|r| r["id"] == id)
        .flat_map(|r| r["signals"].as_array().unwrap().iter())
        .map(|s| s["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The keys of a JSON object.
fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// Calls `probe` until it gives a value, failing the test after 20 s.
#[track_caller]
fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `tasks` process running in the background; killed if the test ends without waiting.
struct Running(Option<Child>);

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Running(Some(child))
    }

    fn wait(mut self) -> Run {
        let child = self.0.take().unwrap();
        Run::from_output(child.wait_with_output().unwrap())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A shell loop that waits (at most 30 s, so a failed test never leaves it behind for long)
/// until `path` exists.
fn wait_for_file_script(path: &Path) -> String {
    format!(
        "i=0; while [ ! -f '{}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done",
        path.display()
    )
}

fn read_pid(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    text.strip_suffix('\n')?.trim().parse().ok()
}

// ---------------------------------------------------------------------------------------------
// 1. Verified done
// ---------------------------------------------------------------------------------------------

#[test]
fn a_failing_check_refuses_done_with_exit_6_and_notes_the_command_exit_and_output() {
    let repo = Repo::new();
    write_config(
        &repo,
        "done:\n  checks:\n    - echo first-check-ok\n    - 'echo line-1; echo line-2; echo some-diagnostic; echo last-words; exit 2'\n    - touch third-check-ran\n",
    );
    let id = repo.new_task(&["checked"]);
    at(&repo, T0, &["claim", &id, "--as", "ann"]).ok();

    let run = at(&repo, T0, &["done", &id, "--as", "ann"]).expect(6);
    // The output of the checks streams to stderr, as it comes.
    assert!(run.stderr.contains("first-check-ok"), "{}", run.stderr);
    assert!(run.stderr.contains("some-diagnostic"), "{}", run.stderr);
    assert!(
        !run.stdout.contains("some-diagnostic"),
        "check output stays off stdout: {}",
        run.stdout
    );
    assert!(run.stderr.contains("exited 2"), "{}", run.stderr);
    // The first failure stops the checks.
    assert!(
        !repo.path("third-check-ran").exists(),
        "a check after the failing one ran"
    );

    // The task stays in progress, still held, without evidence.
    let t = repo.show(&id);
    assert_eq!(t["status"], "in_progress");
    assert_eq!(t["claimed_by"], "ann");
    assert!(t.get("verified").is_none(), "{t:#}");
    assert!(t.get("outcome").is_none(), "{t:#}");
    assert!(
        lease_path(&repo, &id).is_file(),
        "the claim keeps its lease"
    );

    // A note names the command, its exit, and the last lines of what it printed.
    let file = repo.task_file(&id);
    let note = file
        .lines()
        .find(|l| l.contains("done check"))
        .unwrap_or_else(|| panic!("no note on the failed check:\n{file}"));
    assert!(
        note.starts_with(&format!("- {T0} ann: done check `echo line-1; echo line-2; echo some-diagnostic; echo last-words; exit 2` exited 2")),
        "{note}"
    );
    assert!(
        note.contains("some-diagnostic") && note.contains("last-words"),
        "the note keeps the output's last lines: {note}"
    );
    assert!(
        file.contains("\n## Notes\n"),
        "the note is in the Notes section:\n{file}"
    );

    // Under --json: one error document on stdout, code checks_failed.
    let run = at(&repo, T0, &["done", &id, "--as", "ann", "--json"]).expect(6);
    let doc = run.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["error"]["code"], "checks_failed");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stays in progress"),
        "{doc}"
    );
    assert_eq!(repo.show(&id)["status"], "in_progress");
}

#[test]
fn a_check_over_the_timeout_is_stopped_and_reported() {
    let repo = Repo::new();
    write_config(&repo, "done: { checks: ['sleep 30'], timeout: 1s }\n");
    let id = repo.new_task(&["slow"]);
    at(&repo, T0, &["claim", &id, "--as", "ann"]).ok();

    let started = Instant::now();
    let run = at(&repo, T0, &["done", &id, "--as", "ann"]).expect(6);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(15),
        "done waited {elapsed:?} for a check with a 1s timeout"
    );
    assert!(
        run.stderr.contains("`sleep 30` did not finish within 1s"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.show(&id)["status"], "in_progress");
    let file = repo.task_file(&id);
    assert!(
        file.contains(&format!(
            "- {T0} ann: done check `sleep 30` did not finish within 1s"
        )),
        "{file}"
    );
}

#[test]
fn passing_checks_run_in_the_worktree_and_record_evidence_with_its_head() {
    let repo = Repo::new();
    write_config(
        &repo,
        "done: { checks: ['test -f marker', 'echo all-good'] }\n",
    );
    repo.git(&["add", ".tasks"]);
    repo.git(&["commit", "-qm", "config"]);
    let id = committed_task(&repo, "built in a worktree");
    let wt = start(&repo, &id, "ann");
    assert!(wt.is_dir());

    // The worktree has its own commit: the evidence must be its HEAD, not the root's.
    repo.git_in(&wt, &["commit", "-q", "--allow-empty", "-m", "the work"]);
    let wt_head = head(&wt, &repo);
    assert_ne!(wt_head, head(&repo.root, &repo));

    // A marker in the root does not count: the checks run in the task's worktree, even when
    // `done` is called from the root.
    repo.write("marker", "in the root\n");
    at(&repo, T0, &["done", &id, "--as", "ann"]).expect(6);
    assert_eq!(repo.show(&id)["status"], "in_progress");
    assert!(
        repo.task_file(&id)
            .contains("done check `test -f marker` exited 1"),
        "{}",
        repo.task_file(&id)
    );

    std::fs::write(wt.join("marker"), "built\n").unwrap();
    let run = at_in(&repo, &wt, T0, &["done", &id, "--json"]).ok();
    assert!(run.stderr.contains("all-good"), "{}", run.stderr);
    let t = run.json()["task"].clone();
    assert_eq!(t["status"], "done");
    assert_eq!(t["outcome"], "completed");
    assert_eq!(
        t["outcome_by"], "ann",
        "inside its worktree the agent is the holder"
    );
    let v = &t["verified"];
    assert_eq!(keys(v), BTreeSet::from(["at", "commit", "checks"]), "{v:#}");
    assert_eq!(v["at"], T0);
    assert_eq!(v["commit"], wt_head.as_str());
    let checks = v["checks"].as_array().unwrap();
    let cmds: Vec<&str> = checks.iter().map(|c| c["cmd"].as_str().unwrap()).collect();
    assert_eq!(cmds, ["test -f marker", "echo all-good"]);
    for c in checks {
        assert_eq!(keys(c), BTreeSet::from(["cmd", "exit", "seconds"]), "{c}");
        assert_eq!(c["exit"], 0, "{c}");
        assert!(
            c["seconds"]
                .as_f64()
                .is_some_and(|s| (0.0..60.0).contains(&s)),
            "{c}"
        );
    }
    // What `show` reads back from the file is the same evidence.
    assert_eq!(repo.show(&id)["verified"], *v);
}

#[test]
fn required_evidence_comes_from_flags_or_the_worktree_head() {
    let repo = Repo::new();
    write_config(&repo, "done: { require: [commit] }\n");
    repo.git(&["add", ".tasks"]);
    repo.git(&["commit", "-qm", "config"]);

    // No --commit: the worktree's HEAD is the commit.
    let id = committed_task(&repo, "needs a commit");
    let wt = start(&repo, &id, "ann");
    repo.git_in(&wt, &["commit", "-q", "--allow-empty", "-m", "the work"]);
    let wt_head = head(&wt, &repo);
    at(&repo, T0, &["done", &id, "--as", "ann"]).ok();
    let t = repo.show(&id);
    assert_eq!(t["status"], "done");
    assert_eq!(t["commit"], wt_head.as_str());

    // An explicit --commit wins over the detected one.
    let other = committed_task(&repo, "given a commit");
    start(&repo, &other, "ann");
    at(
        &repo,
        T0,
        &["done", &other, "--as", "ann", "--commit", "abc1234"],
    )
    .ok();
    assert_eq!(repo.show(&other)["commit"], "abc1234");

    // A required PR link cannot be detected: without --pr, exit 1 (evidence_required).
    write_config(&repo, "done: { require: [pr_url] }\n");
    let pr = repo.new_task(&["needs a PR"]);
    at(&repo, T0, &["claim", &pr, "--as", "ann"]).ok();
    let run = at(&repo, T0, &["done", &pr, "--as", "ann", "--json"]).expect(1);
    assert_eq!(run.json()["error"]["code"], "evidence_required");
    assert!(run.stderr.contains("--pr"), "{}", run.stderr);
    let t = repo.show(&pr);
    assert_eq!(t["status"], "in_progress");
    assert_eq!(t["claimed_by"], "ann");
    at(
        &repo,
        T0,
        &[
            "done",
            &pr,
            "--as",
            "ann",
            "--pr",
            "https://github.com/o/r/pull/42",
        ],
    )
    .ok();
    let t = repo.show(&pr);
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("done"), Some("completed_with_pr"))
    );
    assert_eq!(t["pr_number"], 42);
}

#[test]
fn no_verify_with_a_reason_is_recorded_and_flagged_by_the_sweep() {
    let repo = Repo::new();
    write_config(&repo, "done: { checks: ['test ! -f broken'] }\n");
    let checked = repo.new_task(&["checked"]);
    let skipped = repo.new_task(&["skipped"]);
    at(&repo, T0, &["claim", &checked, "--as", "ann"]).ok();
    at(&repo, T0, &["claim", &skipped, "--as", "ann"]).ok();
    at(&repo, T0, &["done", &checked, "--as", "ann"]).ok();

    // The checks would fail now; --no-verify skips them, but only with a reason.
    repo.write("broken", "x\n");
    at(&repo, T0, &["done", &skipped, "--as", "ann", "--no-verify"]).expect(2);
    assert_eq!(repo.show(&skipped)["status"], "in_progress");
    at(
        &repo,
        T0,
        &[
            "done",
            &skipped,
            "--as",
            "ann",
            "--no-verify",
            "--reason",
            "docs only",
        ],
    )
    .ok();
    let t = repo.show(&skipped);
    assert_eq!(t["status"], "done");
    assert_eq!(t["verified"]["skipped"], true);
    assert_eq!(t["verified"]["reason"], "docs only");
    assert!(t["verified"].get("checks").is_none(), "{t:#}");
    assert!(
        !repo.task_file(&skipped).contains("done check"),
        "no check ran"
    );

    // The sweep flags the skip (a warning), and only the skip.
    let run = at(&repo, T0, &["heartbeat", "--json"]).ok();
    let doc = run.json();
    assert_eq!(kinds(&doc, &skipped), ["unverified_done"], "{doc:#}");
    assert!(kinds(&doc, &checked).is_empty(), "{doc:#}");
    let sig = &doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == skipped.as_str())
        .unwrap()["signals"][0];
    assert_eq!(sig["severity"], "warn");
    assert!(
        sig["detail"].as_str().unwrap().contains("docs only"),
        "{sig}"
    );
    at(&repo, T0, &["heartbeat", "--fail-on", "warn"]).expect(7);
}

// ---------------------------------------------------------------------------------------------
// 2. Review
// ---------------------------------------------------------------------------------------------

#[test]
fn the_review_loop_approve_reopen_reclaim_and_stuck_in_review() {
    let repo = Repo::new();
    write_config(
        &repo,
        "review: required\nsla: { review: 2h }\nidentities: { ann: [ann@example.com] }\n",
    );
    let id = repo.new_task(&["reviewed work"]);
    at(&repo, T0, &["claim", &id, "--as", "ann"]).ok();
    let run = at(&repo, T0, &["done", &id, "--as", "ann", "--json"]).ok();
    let t = run.json()["task"].clone();
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("in_review"), Some("needs_review"))
    );
    assert_eq!(t["claimed_by"], "ann", "the claim lives on in review");
    assert!(lease_path(&repo, &id).is_file());

    // The claimant cannot approve their own work, under any spelling of their name.
    for me in ["ann", "ANN@example.com"] {
        let run = at(&repo, T0, &["approve", &id, "--as", me, "--json"]).expect(3);
        assert_eq!(run.json()["error"]["code"], "own_work", "{me}");
    }
    assert_eq!(repo.show(&id)["status"], "in_review");

    // The reviewer sends it back: open, needs_review_fix, the reason in the file.
    at(
        &repo,
        T0,
        &["reopen", &id, "--reason", "fix X", "--as", "rev"],
    )
    .ok();
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("open"), Some("needs_review_fix"))
    );
    assert_eq!(t["reason"], "fix X");
    assert_eq!(t["outcome_by"], "rev");
    for key in ["claimed_by", "claimed_at", "worktree", "branch"] {
        assert!(t.get(key).is_none(), "{key} left on a reopened task: {t:#}");
    }
    assert!(!lease_path(&repo, &id).exists());
    let file = repo.task_file(&id);
    assert!(
        file.contains(&format!("- {T0} rev: review: fix X")),
        "the review's reason is a note for the next worker:\n{file}"
    );

    // The same agent may take it again: it is ready for ann, and claimable.
    let ready = at(&repo, T0, &["ready", "--as", "ann", "--json"])
        .ok()
        .json();
    assert!(
        ready["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str()),
        "{ready:#}"
    );
    const T1: &str = "2035-01-01T01:00:00Z";
    at(&repo, T1, &["claim", "--next", "--as", "ann"]).ok();
    assert_eq!(repo.show(&id)["claimed_by"], "ann");
    at(&repo, T1, &["done", &id, "--as", "ann"]).ok();
    assert_eq!(repo.show(&id)["status"], "in_review");

    // stuck_in_review: not within sla.review (2h) of entering review, and after it.
    let sweep = at(&repo, "2035-01-01T02:59:00Z", &["heartbeat", "--json"])
        .ok()
        .json();
    assert!(
        !kinds(&sweep, &id).contains(&"stuck_in_review".to_string()),
        "{sweep:#}"
    );
    let sweep = at(&repo, "2035-01-01T03:01:00Z", &["heartbeat", "--json"])
        .ok()
        .json();
    assert_eq!(kinds(&sweep, &id), ["stuck_in_review"], "{sweep:#}");

    // Another reviewer approves: done, with the reviewer on record.
    const T2: &str = "2035-01-01T04:00:00Z";
    let run = at(&repo, T2, &["approve", &id, "--as", "rev", "--json"]).ok();
    let t = run.json()["task"].clone();
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("done"), Some("completed"))
    );
    assert_eq!(t["reviewed_by"], "rev");
    assert_eq!(t["reviewed_at"], T2);
    assert_eq!(t["outcome_by"], "rev");
    assert!(t.get("claimed_by").is_none(), "{t:#}");
    assert!(!lease_path(&repo, &id).exists());
    let sweep = at(&repo, T2, &["heartbeat", "--json"]).ok().json();
    assert!(kinds(&sweep, &id).is_empty(), "{sweep:#}");
}

#[test]
fn the_claimant_approves_their_own_work_only_with_force() {
    let repo = Repo::new();
    write_config(&repo, "review: required\n");
    let id = repo.new_task(&["solo project"]);
    at(&repo, T0, &["claim", &id, "--as", "ann"]).ok();
    at(&repo, T0, &["done", &id, "--as", "ann"]).ok();
    at(&repo, T0, &["approve", &id, "--as", "ann"]).expect(3);
    at(&repo, T0, &["approve", &id, "--as", "ann", "--force"]).ok();
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("done"), Some("completed"))
    );
    assert_eq!(t["reviewed_by"], "ann");
    assert_eq!(t["reviewed_at"], T0);
    // Approving something not in review is a refused transition.
    at(&repo, T0, &["approve", &id, "--as", "rev"]).expect(3);
}

// ---------------------------------------------------------------------------------------------
// 3. tasks exec
// ---------------------------------------------------------------------------------------------

#[test]
fn exec_releases_a_task_whose_worker_exits_0_without_an_outcome() {
    let repo = Repo::new();
    let id = repo.new_task(&["silent worker"]);
    let run = repo
        .tasks(&[
            "exec",
            &id,
            "--as",
            "w1",
            "--",
            "sh",
            "-c",
            "echo working on $TASKS_TASK",
        ])
        .ok();
    assert!(
        run.stdout.contains(&format!("working on {id}")),
        "the worker's output goes through: {}",
        run.stdout
    );
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("open"), Some("released"))
    );
    assert_eq!(t["reason"], "worker exited 0 without an outcome");
    assert_eq!(t["outcome_by"], "w1");
    assert!(t.get("claimed_by").is_none(), "{t:#}");
    assert!(
        t.get("attempts").is_none(),
        "a release is no failed attempt"
    );
    assert!(!lease_path(&repo, &id).exists());

    let tomb = tombstone(&repo, &id);
    assert_eq!(tomb["task"], id.as_str());
    assert_eq!(tomb["agent"], "w1");
    assert_eq!(tomb["state"], "released");
    assert_eq!(tomb["outcome"], "released");
    assert_eq!(tomb["exit"], 0);
    assert!(tomb["signal"].is_null(), "{tomb:#}");
    assert!(tomb["started_at"].is_string() && tomb["finished_at"].is_string());
    assert!(
        tomb["tail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| *l == format!("working on {id}").as_str()),
        "{tomb:#}"
    );
    // Released, it is ready again, for the same worker too.
    repo.tasks(&["claim", "--next", "--as", "w1"]).ok();
}

#[test]
fn exec_with_a_worker_that_calls_done_records_its_outcome_as_one_json_document() {
    let repo = Repo::new();
    let id = repo.new_task(&["diligent worker"]);
    // The worker has no --as: exec gives it TASKS_AGENT.
    let script = format!(
        "echo worker-says-hi; '{}' done \"$TASKS_TASK\"",
        bin().display()
    );
    let run = repo
        .tasks(&[
            "exec", &id, "--as", "w1", "--json", "--", "sh", "-c", &script,
        ])
        .ok();
    // One JSON document on stdout; the worker's stdout went to stderr.
    let doc = run.json();
    assert!(
        run.stderr.contains("worker-says-hi"),
        "the worker's output goes to stderr under --json: {}",
        run.stderr
    );
    assert!(!run.stdout.contains("worker-says-hi"), "{}", run.stdout);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["exit"], 0);
    assert_eq!(doc["state"], "recorded");
    assert_eq!(doc["task"]["id"], id.as_str());
    assert_eq!(doc["task"]["status"], "done");
    assert_eq!(doc["task"]["outcome"], "completed");
    assert_eq!(doc["task"]["outcome_by"], "w1");

    let t = repo.show(&id);
    assert_eq!(t["status"], "done");
    let tomb = tombstone(&repo, &id);
    assert_eq!(tomb["state"], "recorded");
    assert_eq!(tomb["outcome"], "completed");
    assert_eq!(tomb["exit"], 0);
    assert!(!lease_path(&repo, &id).exists());
}

#[test]
fn exec_records_a_failed_attempt_when_the_worker_exits_non_zero() {
    let repo = Repo::new();
    let id = repo.new_task(&["crashing worker"]);
    let run = repo
        .tasks(&[
            "exec",
            &id,
            "--as",
            "w1",
            "--json",
            "--",
            "sh",
            "-c",
            "echo about-to-crash; exit 3",
        ])
        .expect(3);
    let doc = run.json();
    assert_eq!(doc["exit"], 3);
    assert_eq!(doc["state"], "failed");
    assert_eq!(doc["task"]["outcome"], "failed");

    let t = repo.show(&id);
    assert_eq!(t["status"], "open", "one failed attempt of three");
    assert_eq!(t["outcome"], "failed");
    assert_eq!(t["attempts"], 1);
    assert_eq!(t["failed_agents"], serde_json::json!(["w1"]));
    assert!(t["reason"].as_str().unwrap().contains("exited 3"), "{t:#}");
    assert!(t.get("claimed_by").is_none(), "{t:#}");
    let tomb = tombstone(&repo, &id);
    assert_eq!(tomb["state"], "failed");
    assert_eq!(tomb["outcome"], "failed");
    assert_eq!(tomb["exit"], 3);
    assert!(
        tomb["tail"]
            .as_array()
            .unwrap()
            .contains(&Value::from("about-to-crash")),
        "{tomb:#}"
    );
    // Not offered to the agent that failed it again.
    repo.tasks(&["exec", "--next", "--as", "w1", "--", "true"])
        .expect(4);
}

#[test]
fn exec_records_a_worker_killed_with_sigkill_and_exits_137() {
    let repo = Repo::new();
    let id = repo.new_task(&["killed worker"]);
    let pid_file = repo.home.join("worker.pid");
    let never = repo.home.join("never-created");
    let script = format!(
        "echo $$ > '{}'; {}",
        pid_file.display(),
        wait_for_file_script(&never)
    );
    let mut cmd = repo.command_in(&repo.root);
    cmd.args(["exec", &id, "--as", "w1", "--", "sh", "-c", &script]);
    let exec = Running::spawn(cmd);

    // The worker's pid, from the lease, as soon as exec records it.
    let pid = wait_for("the worker's pid in the lease", || {
        let text = std::fs::read_to_string(lease_path(&repo, &id)).ok()?;
        let lease: Value = serde_json::from_str(&text).ok()?;
        lease["pid"].as_u64()
    });
    let own = wait_for("the worker's own pid", || read_pid(&pid_file));
    assert_eq!(pid, u64::from(own), "the lease records the worker's pid");
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let run = exec.wait().expect(137);
    assert!(run.stderr.contains("signal 9"), "{}", run.stderr);
    let t = repo.show(&id);
    assert_eq!(t["outcome"], "failed");
    assert_eq!(t["status"], "open");
    assert_eq!(t["attempts"], 1);
    assert!(t["reason"].as_str().unwrap().contains("signal 9"), "{t:#}");
    let tomb = tombstone(&repo, &id);
    assert_eq!(tomb["state"], "failed");
    assert_eq!(tomb["exit"], 137);
    assert_eq!(tomb["signal"], 9);
    assert_eq!(tomb["pid"], pid);
    // Exec recorded the outcome: no worker_gone, no stale claim left behind.
    let sweep = repo.tasks(&["heartbeat", "--json"]).ok().json();
    assert!(kinds(&sweep, &id).is_empty(), "{sweep:#}");
}

#[test]
fn a_worker_that_kills_itself_is_a_failed_attempt_too() {
    let repo = Repo::new();
    let id = repo.new_task(&["self-destructing worker"]);
    let run = repo
        .tasks(&["exec", &id, "--as", "w1", "--", "sh", "-c", "kill -9 $$"])
        .expect(137);
    assert!(run.stderr.contains("signal 9"), "{}", run.stderr);
    let t = repo.show(&id);
    assert_eq!(t["outcome"], "failed");
    assert!(t["reason"].as_str().unwrap().contains("signal 9"), "{t:#}");
    assert_eq!(tombstone(&repo, &id)["exit"], 137);
}

#[test]
fn while_exec_runs_the_worker_has_its_environment_and_the_lease_its_pid() {
    let repo = Repo::new();
    write_config(&repo, "identities: { w1: [worker-one@example.com] }\n");
    repo.git(&["add", ".tasks"]);
    repo.git(&["commit", "-qm", "config"]);
    let id = committed_task(&repo, "observed worker");
    let wt = start(&repo, &id, "w1");

    let env_file = repo.home.join("worker.env");
    let pid_file = repo.home.join("worker.pid");
    let go = repo.home.join("go");
    let script = format!(
        "printf '%s\\n' \"$TASKS_TASK\" \"$TASKS_AGENT\" \"$TASKS_WORKTREE\" \"$(pwd)\" > '{env}.tmp'; mv '{env}.tmp' '{env}'; echo $$ > '{pid}'; {wait}; echo worker-finished",
        env = env_file.display(),
        pid = pid_file.display(),
        wait = wait_for_file_script(&go),
    );
    let mut cmd = repo.command_in(&repo.root);
    cmd.args([
        "exec",
        &id,
        "--as",
        "Worker-One@example.com",
        "--lease",
        "3s",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    let exec = Running::spawn(cmd);

    // The worker sees its task, its (canonical) agent name and its worktree, and runs there.
    let env = wait_for("the worker's environment", || {
        std::fs::read_to_string(&env_file).ok()
    });
    let lines: Vec<&str> = env.lines().collect();
    let wt_text = wt.display().to_string();
    assert_eq!(
        lines,
        [id.as_str(), "w1", wt_text.as_str(), wt_text.as_str()],
        "TASKS_TASK, TASKS_AGENT, TASKS_WORKTREE, cwd"
    );

    // While it runs, the lease records its pid on this host, and the claim is live.
    let own = wait_for("the worker's own pid", || read_pid(&pid_file));
    let lease = wait_for("the worker's pid in the lease", || {
        let text = std::fs::read_to_string(lease_path(&repo, &id)).ok()?;
        let lease: Value = serde_json::from_str(&text).ok()?;
        lease["pid"].as_u64().is_some().then_some(lease)
    });
    assert_eq!(lease["pid"], own, "{lease:#}");
    assert_eq!(lease["holder"], "w1");
    assert!(lease["host"].is_string(), "{lease:#}");
    assert!(
        Path::new(&format!("/proc/{own}")).exists(),
        "the worker is running"
    );
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["claimed_by"].as_str()),
        (Some("in_progress"), Some("w1"))
    );
    // The lease is renewed while the worker runs (every third of the 3s lease).
    let first = lease["renewed_at"].as_str().unwrap().to_string();
    let renewed = wait_for("a renewal of the lease", || {
        let text = std::fs::read_to_string(lease_path(&repo, &id)).ok()?;
        let lease: Value = serde_json::from_str(&text).ok()?;
        (lease["renewed_at"].as_str()? > first.as_str()).then_some(lease)
    });
    assert_eq!(renewed["pid"], own, "{renewed:#}");
    // A sweep now sees a live worker: no worker_gone.
    let sweep = repo.tasks(&["heartbeat", "--json"]).ok().json();
    assert!(
        !kinds(&sweep, &id).contains(&"worker_gone".to_string()),
        "{sweep:#}"
    );

    // Let it finish: it never recorded an outcome, so exec releases the claim.
    std::fs::write(&go, "").unwrap();
    let run = exec.wait().ok();
    assert!(run.stdout.contains("worker-finished"), "{}", run.stdout);
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("open"), Some("released"))
    );
    let tomb = tombstone(&repo, &id);
    assert_eq!(tomb["pid"], own);
    assert_eq!(tomb["state"], "released");
}

#[test]
fn exec_claims_nothing_when_nothing_is_ready_or_the_task_is_held() {
    let repo = Repo::new();
    let ran = repo.home.join("worker-ran");
    let script = format!("touch '{}'", ran.display());

    // Nothing at all: exit 4, and the worker never runs.
    let run = repo
        .tasks(&["exec", "--next", "--as", "w1", "--", "sh", "-c", &script])
        .expect(4);
    assert!(!ran.exists(), "{}", run.stderr);

    // Held by another: exit 3 by id, 4 with --next; nothing changes for the holder.
    let id = repo.new_task(&["taken"]);
    repo.tasks(&["claim", &id, "--as", "other"]).ok();
    let before = repo.task_file(&id);
    let run = repo
        .tasks(&["exec", &id, "--as", "w1", "--", "sh", "-c", &script])
        .expect(3);
    assert!(
        run.stderr.contains("other"),
        "names the holder: {}",
        run.stderr
    );
    repo.tasks(&["exec", "--next", "--as", "w1", "--", "sh", "-c", &script])
        .expect(4);
    assert!(!ran.exists(), "the worker ran without a claim");
    assert_eq!(repo.task_file(&id), before);
    assert!(!tombstone_path(&repo, &id).exists());
    assert_eq!(repo.show(&id)["claimed_by"], "other");
}

#[test]
fn exec_with_a_worker_that_cannot_start_releases_the_task() {
    let repo = Repo::new();
    let id = repo.new_task(&["no such worker"]);
    repo.tasks(&["exec", &id, "--as", "w1", "--", "/nonexistent/worker"])
        .expect(127);
    // Not the task's fault, nor the agent's: no attempt is counted.
    let t = repo.show(&id);
    assert_eq!(t["status"], "open");
    assert_eq!(t["outcome"], "released");
    assert!(
        t["reason"].as_str().unwrap().contains("could not start"),
        "{t:#}"
    );
    assert!(
        t.get("attempts").is_none() && t.get("failed_agents").is_none(),
        "{t:#}"
    );
    assert_eq!(tombstone(&repo, &id)["state"], "released");
}

#[test]
fn stopping_exec_stops_its_worker_and_still_records_the_outcome() {
    let repo = Repo::new();
    let id = repo.new_task(&["stopped by the operator"]);
    let pid_file = repo.home.join("worker.pid");
    let never = repo.home.join("never");
    let script = format!(
        "echo $$ > '{}'; {}",
        pid_file.display(),
        wait_for_file_script(&never)
    );
    let mut cmd = repo.command_in(&repo.root);
    cmd.args(["exec", &id, "--as", "w1", "--", "sh", "-c", &script]);
    let exec = Running::spawn(cmd);
    let exec_pid = exec.0.as_ref().unwrap().id();
    let worker = wait_for("the worker's pid", || read_pid(&pid_file));
    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &exec_pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let run = exec.wait();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "exec stopped promptly"
    );
    assert_eq!(run.code, 128 + 15, "{run:?}");
    assert!(
        !Path::new(&format!("/proc/{worker}")).exists(),
        "the worker is not left running"
    );
    let t = repo.show(&id);
    assert_eq!(t["status"], "open");
    assert_eq!(t["outcome"], "released");
    assert!(t["reason"].as_str().unwrap().contains("SIGTERM"), "{t:#}");
    assert_eq!(tombstone(&repo, &id)["signal"], 15);
}

#[test]
fn a_worker_that_finishes_in_its_worktree_copy_is_left_for_reconcile_not_worker_gone() {
    let repo = Repo::new();
    let id = committed_task(&repo, "finished in the worktree");
    let wt = start(&repo, &id, "w1");
    let copy = wt.join(".tasks").join(format!("{id}.md"));
    assert!(copy.is_file());

    // The worker marks its own copy done (in its worktree, its current folder) and exits 0
    // once the test has seen its pid recorded in the lease.
    let go = repo.home.join("go");
    let script = format!(
        "sed -i 's/^status: .*/status: done/' \".tasks/$TASKS_TASK.md\"; {}",
        wait_for_file_script(&go)
    );
    let mut cmd = repo.command_in(&repo.root);
    cmd.args([
        "exec", &id, "--as", "w1", "--json", "--", "sh", "-c", &script,
    ]);
    let exec = Running::spawn(cmd);
    let pid = wait_for("the worker's pid in the lease", || {
        let text = std::fs::read_to_string(lease_path(&repo, &id)).ok()?;
        let lease: Value = serde_json::from_str(&text).ok()?;
        lease["pid"].as_u64()
    });
    std::fs::write(&go, "").unwrap();
    let run = exec.wait().ok();
    assert!(
        std::fs::read_to_string(&copy)
            .unwrap()
            .contains("\nstatus: done\n"),
        "the worker edited its copy"
    );
    let doc = run.json();
    assert_eq!(doc["exit"], 0);
    assert_eq!(doc["state"], "completed_unreconciled");
    assert_eq!(doc["task"]["status"], "in_progress");

    // The claim is left as it is: no release, no outcome, for reconcile to finish.
    let t = repo.show(&id);
    assert_eq!(t["status"], "in_progress");
    assert_eq!(t["claimed_by"], "w1");
    assert!(t.get("outcome").is_none(), "{t:#}");
    let tomb = tombstone(&repo, &id);
    assert_eq!(tomb["state"], "completed_unreconciled");
    assert!(tomb["outcome"].is_null(), "{tomb:#}");
    // The lease still names the worker's pid, and the worker has ended: without the
    // tombstone, that is what `worker_gone` looks for.
    let lease: Value =
        serde_json::from_str(&std::fs::read_to_string(lease_path(&repo, &id)).unwrap()).unwrap();
    assert_eq!(lease["pid"], pid, "{lease:#}");
    assert_eq!(tomb["pid"], pid, "{tomb:#}");

    // The sweep says what is missing (a reconcile), not that the worker is gone.
    let sweep = repo.tasks(&["heartbeat", "--json"]).expect(7).json();
    let signals = kinds(&sweep, &id);
    assert!(
        signals.contains(&"completed_unreconciled".to_string()),
        "{sweep:#}"
    );
    assert!(!signals.contains(&"worker_gone".to_string()), "{sweep:#}");

    // Reconcile closes it.
    repo.tasks(&["reconcile"]).ok();
    let t = repo.show(&id);
    assert_eq!(t["status"], "done");
    assert_eq!(t["outcome"], "completed");
    assert!(t.get("claimed_by").is_none(), "{t:#}");
    assert!(!lease_path(&repo, &id).exists());
    let sweep = repo.tasks(&["heartbeat", "--json"]).ok().json();
    let signals = kinds(&sweep, &id);
    assert!(
        !signals
            .iter()
            .any(|k| k == "completed_unreconciled" || k == "worker_gone"),
        "{sweep:#}"
    );
}

#[test]
fn checks_do_not_run_for_a_task_the_caller_cannot_finish() {
    let repo = Repo::new();
    write_config(&repo, "done: { checks: ['touch check-ran'] }\n");
    let id = repo.new_task(&["someone else's"]);
    at(&repo, T0, &["claim", &id, "--as", "ann"]).ok();
    let run = at(&repo, T0, &["done", &id, "--as", "bob", "--json"]).expect(3);
    assert_eq!(run.json()["error"]["code"], "held_by_other");
    assert!(!repo.path("check-ran").exists(), "the checks ran for bob");
    assert!(
        !repo.task_file(&id).contains("done check"),
        "{}",
        repo.task_file(&id)
    );
    assert_eq!(repo.show(&id)["claimed_by"], "ann");
}

/// A worker that records its outcome and then goes on running (it prints a summary, cleans
/// up) for longer than exec's renewal period: here 1 s, a third of a 3 s lease. The worker's
/// two seconds only give exec the chance to renew; the assertions do not depend on timing.
fn exec_a_worker_that_outlives_its_outcome(repo: &Repo, id: &str, who: &str, command: &str) {
    let script = format!("'{}' {command}; sleep 2", bin().display());
    repo.tasks(&[
        "exec", id, "--as", who, "--lease", "3s", "--", "sh", "-c", &script,
    ])
    .ok();
}

#[test]
fn exec_leaves_no_lease_once_the_worker_has_recorded_an_outcome() {
    let repo = Repo::new();
    let id = repo.new_task(&["done early"]);
    exec_a_worker_that_outlives_its_outcome(&repo, &id, "w1", "done \"$TASKS_TASK\"");
    assert_eq!(repo.show(&id)["status"], "done");
    assert_eq!(tombstone(&repo, &id)["state"], "recorded");
    assert!(
        !lease_path(&repo, &id).exists(),
        "a done task has a lease: {}",
        std::fs::read_to_string(lease_path(&repo, &id)).unwrap_or_default()
    );
}

#[test]
fn a_new_claim_after_exec_is_not_flagged_worker_gone() {
    let repo = Repo::new();
    let id = repo.new_task(&["given back"]);
    exec_a_worker_that_outlives_its_outcome(
        &repo,
        &id,
        "w1",
        "unclaim \"$TASKS_TASK\" --reason 'not mine'",
    );
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("open"), Some("released"))
    );
    assert!(
        !lease_path(&repo, &id).exists(),
        "an open task has a lease: {}",
        std::fs::read_to_string(lease_path(&repo, &id)).unwrap_or_default()
    );
    // The same agent claims it again, by hand: a fresh, healthy claim.
    repo.tasks(&["claim", &id, "--as", "w1"]).ok();
    let sweep = repo.tasks(&["heartbeat", "--json"]).ok().json();
    assert!(
        !kinds(&sweep, &id).contains(&"worker_gone".to_string()),
        "a fresh claim is flagged worker_gone: {sweep:#}"
    );
}

/// Whether `pid` is gone (or only a zombie waiting to be reaped).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[test]
fn stopping_exec_stops_everything_its_worker_started() {
    let repo = Repo::new();
    let id = repo.new_task(&["a worker with a child"]);
    let child_pid = repo.home.join("child.pid");
    let never = repo.home.join("never");
    // The worker starts a child that would outlive it, then waits.
    let script = format!(
        "sh -c 'echo $$ > \"{}\"; {}' & wait",
        child_pid.display(),
        wait_for_file_script(&never).replace('\'', "\"")
    );
    let mut cmd = repo.command_in(&repo.root);
    cmd.args(["exec", &id, "--as", "w1", "--", "sh", "-c", &script]);
    let exec = Running::spawn(cmd);
    let exec_pid = exec.0.as_ref().unwrap().id();
    let child = wait_for("the child's pid", || read_pid(&child_pid));
    Command::new("kill")
        .args(["-TERM", &exec_pid.to_string()])
        .status()
        .unwrap();
    let run = exec.wait();
    assert_eq!(run.code, 128 + 15, "{run:?}");
    wait_for("the child to be stopped too", || gone(child).then_some(()));
    assert_eq!(repo.show(&id)["outcome"], "released");
}

#[test]
fn a_claim_that_vanished_under_the_worker_is_reported_lost_not_recorded() {
    let repo = Repo::new();
    let id = repo.new_task(&["vanishing claim"]);
    repo.git(&["add", ".tasks"]);
    repo.git(&["commit", "-qm", "task"]);
    // The worker throws away the root's uncommitted claim.
    let run = repo
        .tasks(&[
            "exec", &id, "--as", "w1", "--json", "--", "git", "checkout", "-q", "--", ".tasks",
        ])
        .ok();
    let doc = run.json();
    assert_eq!(doc["state"], "lost", "{doc:#}");
    assert_eq!(tombstone(&repo, &id)["state"], "lost");
}
