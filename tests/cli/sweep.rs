//! The sweep end to end: `tasks heartbeat` without an id checks every task and says so in one
//! row per task, writes the snapshot `tasks status` reads, repairs what is safe with `--fix`,
//! and runs from git hooks without ever failing a git command. Time is pinned with `TASKS_NOW`
//! (and git dates), never waited for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{Repo, Run};

/// When the fixtures are set up. Far after any real commit, so real commit times are old.
const T0: &str = "2035-01-01T00:00:00Z";
/// Ten minutes before the sweep: claims made then are healthy at the sweep.
const RECENT: &str = "2035-01-02T23:50:00Z";
/// When the fixture is swept: two days after T0.
const SWEEP: &str = "2035-01-03T00:00:00Z";

const IDENTITIES: &str = "identities: { dave.fowler: [dave] }\n";

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

/// A git command in `dir` with the harness's hermetic environment plus `env` (a `PATH` in
/// `env` replaces the inherited one).
fn git_cmd(repo: &Repo, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new("git");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &repo.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .env("TASKS_LOCK_TIMEOUT", "30");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from_output(cmd.args(args).current_dir(dir).output().unwrap())
}

/// A task file by hand: `extra` is more frontmatter lines, each ending in a newline.
fn task_text(id: &str, extra: &str) -> String {
    format!(
        "---\nid: {id}\ntitle: Task {id}\n{extra}created_at: {T0}\nupdated_at: {T0}\n---\nBody of {id}.\n"
    )
}

fn put(repo: &Repo, id: &str, extra: &str) {
    repo.write(&format!(".tasks/{id}.md"), task_text(id, extra));
}

fn commit_all(repo: &Repo, message: &str) {
    repo.git(&["add", "-A", ".tasks"]);
    repo.git(&["commit", "-qm", message]);
}

fn write_config(repo: &Repo, text: &str) {
    repo.write(".tasks/config.yaml", text);
}

/// The pid of a process that has exited (and been reaped).
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} is still there"
    );
    pid
}

fn snapshot_path(repo: &Repo) -> PathBuf {
    repo.state_dir().join("heartbeat.json")
}

fn snapshot(repo: &Repo) -> Value {
    let text = std::fs::read_to_string(snapshot_path(repo)).expect("a snapshot");
    serde_json::from_str(&text).unwrap()
}

fn lease_path(repo: &Repo, id: &str) -> PathBuf {
    repo.state_dir().join("leases").join(format!("{id}.json"))
}

fn lease(repo: &Repo, id: &str) -> Value {
    let text = std::fs::read_to_string(lease_path(repo, id))
        .unwrap_or_else(|e| panic!("no lease for {id}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn events_text(repo: &Repo) -> String {
    std::fs::read_to_string(repo.state_dir().join("events.jsonl")).unwrap_or_default()
}

fn events(repo: &Repo) -> Vec<Value> {
    events_text(repo)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap()
        .trim()
        .to_string()
}

/// Every row of a sweep document: id → its (kind, severity) pairs, in order.
fn rows(doc: &Value) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    for row in doc["tasks"].as_array().expect("tasks array") {
        let id = row["id"].as_str().unwrap().to_string();
        let signals = row["signals"]
            .as_array()
            .expect("signals array")
            .iter()
            .map(|s| {
                (
                    s["kind"].as_str().unwrap().to_string(),
                    s["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert!(
            out.insert(id.clone(), signals).is_none(),
            "two rows for {id} in {doc:#}"
        );
    }
    out
}

fn row<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row for {id} in {doc:#}"))
}

fn pair(kind: &str, severity: &str) -> (String, String) {
    (kind.to_string(), severity.to_string())
}

/// Every task file's bytes, by path under `.tasks/`.
fn task_files(repo: &Repo) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                out.insert(
                    path.strip_prefix(base).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    let dir = repo.path(".tasks");
    walk(&dir, &dir, &mut out);
    out
}

/// `tasks start ID --as alice` at `now`; returns the worktree.
fn start(repo: &Repo, now: &str, id: &str) -> PathBuf {
    PathBuf::from(at(repo, now, &["start", id, "--as", "alice"]).ok().line())
}

fn wt_task(wt: &Path, id: &str) -> PathBuf {
    wt.join(".tasks").join(format!("{id}.md"))
}

/// Replaces `from` with `to` in a file, panicking when it is not there.
fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(from),
        "no {from:?} in {}:\n{text}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Commits a new file in `dir` with both git dates at `date`.
fn commit_work_at(repo: &Repo, dir: &Path, name: &str, date: &str) {
    std::fs::write(dir.join(name), "work\n").unwrap();
    repo.git_in(dir, &["add", name]);
    git_cmd(
        repo,
        dir,
        &["commit", "-qm", "work"],
        &[("GIT_COMMITTER_DATE", date), ("GIT_AUTHOR_DATE", date)],
    )
    .ok();
}

// ---------------------------------------------------------------------------------------------
// 1. One case per signal
// ---------------------------------------------------------------------------------------------

#[test]
fn every_signal_fires_on_its_case_and_not_on_healthy_tasks() {
    let repo = Repo::new();
    write_config(&repo, IDENTITIES);

    // Healthy controls: one open, one claimed just before the sweep, one finished properly,
    // one assigned lately, one failed with retries left.
    put(&repo, "T-calm", "status: open\n");
    put(&repo, "T-ok", "status: open\n");
    put(&repo, "T-done", "status: open\n");
    put(
        &repo,
        "T-pick2",
        "status: open\nassignee: carol\nassigned_at: 2035-01-02T23:00:00Z\n",
    );
    put(
        &repo,
        "T-fail1",
        "status: failed\nattempts: 1\nmax_attempts: 3\n",
    );

    // Broken files.
    repo.write(
        ".tasks/T-bad.md",
        "---\nid: T-bad\ntitle: [unclosed\nstatus: open\n---\n",
    );
    repo.write(".tasks/dup-1.md", task_text("T-dup", "status: open\n"));
    repo.write(".tasks/dup-2.md", task_text("T-dup", "status: open\n"));
    // The dependency graph.
    put(&repo, "T-cyc1", "status: open\ndepends_on: [T-cyc2]\n");
    put(&repo, "T-cyc2", "status: open\ndepends_on: [T-cyc1]\n");
    put(&repo, "T-dang", "status: open\ndepends_on: [T-nope]\n");
    // Tasks claimed, started or finished below.
    for id in [
        "T-stale", "T-fresh", "T-pid", "T-gonewt", "T-drift", "T-compl", "T-rev", "T-rev2",
        "T-unv", "T-fin",
    ] {
        put(&repo, id, "status: open\n");
    }
    // Orphan claim fields on a task nobody holds.
    put(
        &repo,
        "T-orph",
        &format!("status: open\nclaimed_by: bob\nclaimed_at: {T0}\n"),
    );
    // Routing.
    put(
        &repo,
        "T-pick",
        &format!("status: open\nassignee: carol\nassigned_at: {T0}\n"),
    );
    put(&repo, "T-alias", "status: open\nowner: dave\n");
    put(&repo, "T-unr", "status: open\nowner: role:nobody\n");
    // Outcomes.
    put(
        &repo,
        "T-retry",
        "status: failed\nattempts: 3\nmax_attempts: 3\n",
    );
    commit_all(&repo, "fixture tasks");

    // Finished without verification, and finished properly (before review is required).
    for id in ["T-unv", "T-done"] {
        at(&repo, T0, &["claim", id, "--as", "alice"]).ok();
    }
    at(
        &repo,
        T0,
        &[
            "done",
            "T-unv",
            "--as",
            "alice",
            "--no-verify",
            "--reason",
            "no CI",
        ],
    )
    .ok();
    at(&repo, T0, &["done", "T-done", "--as", "alice"]).ok();
    assert_eq!(repo.show("T-unv")["status"], "done");

    // In review since T0 (stuck by the sweep) and since an hour before it (not stuck).
    write_config(&repo, &format!("{IDENTITIES}review: required\n"));
    at(&repo, T0, &["claim", "T-rev", "--as", "alice"]).ok();
    at(&repo, T0, &["done", "T-rev", "--as", "alice"]).ok();
    at(
        &repo,
        "2035-01-02T23:00:00Z",
        &["claim", "T-rev2", "--as", "alice"],
    )
    .ok();
    at(
        &repo,
        "2035-01-02T23:00:00Z",
        &["done", "T-rev2", "--as", "alice"],
    )
    .ok();
    assert_eq!(repo.show("T-rev")["status"], "in_review");
    assert_eq!(repo.show("T-rev2")["status"], "in_review");

    // A one-minute lease taken two days before the sweep.
    at(
        &repo,
        T0,
        &["claim", "T-stale", "--as", "alice", "--lease", "1m"],
    )
    .ok();
    // Started at T0: the lease runs out, but a commit on its branch may keep it alive.
    let fresh_wt = start(&repo, T0, "T-fresh");
    // Healthy claims.
    at(&repo, RECENT, &["claim", "T-ok", "--as", "alice"]).ok();
    // A worker whose process has exited.
    let pid = dead_pid().to_string();
    at(
        &repo,
        RECENT,
        &["claim", "T-pid", "--as", "alice", "--pid", &pid],
    )
    .ok();
    // A worktree deleted under a live claim.
    let gone = start(&repo, RECENT, "T-gonewt");
    std::fs::remove_dir_all(&gone).unwrap();
    // A worktree copy with a change the root lacks, and one that says done.
    let drift_wt = start(&repo, RECENT, "T-drift");
    replace_in(
        &wt_task(&drift_wt, "T-drift"),
        "\nstatus: open\n",
        "\nstatus: open\npriority: 1\n",
    );
    let compl_wt = start(&repo, RECENT, "T-compl");
    replace_in(
        &wt_task(&compl_wt, "T-compl"),
        "\nstatus: open\n",
        "\nstatus: done\n",
    );
    // A worktree left by a cancelled task, and a task branch for a task that does not exist.
    start(&repo, RECENT, "T-fin");
    at(
        &repo,
        RECENT,
        &["cancel", "T-fin", "--as", "alice", "--reason", "not needed"],
    )
    .ok();
    repo.git(&["branch", "tasks/T-ghost"]);

    // Before any commit on its branch, the long-expired T-fresh is stale.
    let before = at(&repo, SWEEP, &["heartbeat", "--json"]).expect(7).json();
    assert_eq!(
        rows(&before)["T-fresh"],
        vec![pair("stale_claim", "warn")],
        "{before:#}"
    );

    // Half an hour before the sweep the worker commits on its branch: a sign of life.
    commit_work_at(&repo, &fresh_wt, "work.txt", "2035-01-02T23:30:00Z");

    let doc = at(&repo, SWEEP, &["heartbeat", "--json"]).expect(7).json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["generated_at"], SWEEP);
    assert_eq!(doc["global"], json!([]), "{doc:#}");
    let got = rows(&doc);
    let one = |kind: &str, severity: &str| vec![pair(kind, severity)];
    let expected: BTreeMap<String, Vec<(String, String)>> = [
        // Claimed tasks always get a row; healthy ones have no signals.
        ("T-ok", vec![]),
        ("T-fresh", vec![]),
        ("T-rev2", vec![]),
        ("T-bad", one("invalid_file", "error")),
        (
            "T-dup",
            vec![pair("duplicate_id", "error"), pair("duplicate_id", "error")],
        ),
        ("T-cyc1", one("dependency_cycle", "error")),
        ("T-cyc2", one("dependency_cycle", "error")),
        ("T-dang", one("dangling_dependency", "warn")),
        ("T-stale", one("stale_claim", "warn")),
        ("T-pid", one("worker_gone", "error")),
        ("T-gonewt", one("worker_gone", "error")),
        ("T-orph", one("orphan_claim", "warn")),
        ("T-drift", one("metadata_drift", "warn")),
        ("T-compl", one("completed_unreconciled", "error")),
        ("T-ghost", one("orphan_worktree", "warn")),
        ("T-fin", one("orphan_worktree", "warn")),
        ("T-pick", one("pickup_overdue", "warn")),
        ("T-alias", one("owner_alias", "warn")),
        ("T-unr", one("unroutable_owner", "warn")),
        ("T-retry", one("retry_exhausted", "error")),
        ("T-unv", one("unverified_done", "warn")),
        // In review the worker is done: its lease running out is not a stale claim.
        ("T-rev", one("stuck_in_review", "warn")),
    ]
    .into_iter()
    .map(|(id, s)| (id.to_string(), s))
    .collect();
    assert_eq!(got, expected, "{doc:#}");
    // The unclaimed healthy tasks have no row at all.
    for id in ["T-calm", "T-done", "T-pick2", "T-fail1"] {
        assert!(!got.contains_key(id), "{id} has a row: {doc:#}");
    }
    // With --all they are listed too, with no signals; the other rows are the same.
    let all = at(&repo, SWEEP, &["heartbeat", "--json", "--all"])
        .expect(7)
        .json();
    let mut all_rows = rows(&all);
    for id in ["T-calm", "T-done", "T-pick2", "T-fail1"] {
        assert_eq!(all_rows.remove(id), Some(vec![]), "{id} in {all:#}");
    }
    let listed: BTreeSet<&String> = all_rows.keys().collect();
    assert_eq!(listed, got.keys().collect::<BTreeSet<_>>());

    // The rows say what they are about.
    let detail = |id: &str, i: usize| {
        row(&doc, id)["signals"][i]["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(row(&doc, "T-ghost")["status"], "missing");
    assert_eq!(row(&doc, "T-fin")["status"], "cancelled");
    assert!(
        detail("T-fin", 0).contains(".worktrees/T-fin"),
        "{}",
        detail("T-fin", 0)
    );
    assert_eq!(row(&doc, "T-bad")["status"], "unreadable");
    assert_eq!(row(&doc, "T-ok")["status"], "in_progress");
    assert_eq!(row(&doc, "T-ok")["holder"], "alice");
    assert_eq!(row(&doc, "T-ok")["age_seconds"], 600);
    assert_eq!(row(&doc, "T-rev")["status"], "in_review");
    assert!(
        detail("T-bad", 0).contains(".tasks/T-bad.md:"),
        "{}",
        detail("T-bad", 0)
    );
    assert!(detail("T-dang", 0).contains("T-nope"));
    assert!(detail("T-pid", 0).contains(&pid), "{}", detail("T-pid", 0));
    assert!(
        detail("T-gonewt", 0).contains("worktree"),
        "{}",
        detail("T-gonewt", 0)
    );
    assert!(detail("T-orph", 0).contains("claimed_by"));
    assert!(detail("T-alias", 0).contains("dave.fowler"));
    assert!(detail("T-unr", 0).contains("role:nobody"));
    assert_eq!(
        row(&doc, "T-stale")["signals"][0]["evidence"]["expired_at"],
        "2035-01-01T00:01:00Z"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. One row per task
// ---------------------------------------------------------------------------------------------

#[test]
fn a_task_with_three_signals_is_one_row_worst_first() {
    let repo = Repo::new();
    // A claim whose worktree is gone (error), whose lease ran out (warn), and that depends on
    // a task nobody has (warn).
    put(
        &repo,
        "T-multi",
        &format!(
            "status: in_progress\ndepends_on: [T-nope]\nclaimed_by: alice\nclaimed_at: {T0}\nworktree: .worktrees/T-multi\n"
        ),
    );
    put(&repo, "T-warn", "status: open\ndepends_on: [T-nope]\n");
    let doc = at(&repo, SWEEP, &["heartbeat", "--json"]).expect(7).json();
    let rows_ = doc["tasks"].as_array().unwrap();
    assert_eq!(
        rows_.iter().filter(|r| r["id"] == "T-multi").count(),
        1,
        "{doc:#}"
    );
    let signals = &rows(&doc)["T-multi"];
    assert_eq!(signals.len(), 3, "{doc:#}");
    assert_eq!(signals[0], pair("worker_gone", "error"));
    let warns: BTreeSet<&(String, String)> = signals[1..].iter().collect();
    assert_eq!(
        warns,
        BTreeSet::from([
            &pair("dangling_dependency", "warn"),
            &pair("stale_claim", "warn")
        ])
    );
    // The worst row comes first.
    assert_eq!(rows_[0]["id"], "T-multi", "{doc:#}");
    assert_eq!(rows_[1]["id"], "T-warn", "{doc:#}");

    // The human table has one line for it, all three signals on it.
    let human = at(&repo, SWEEP, &["heartbeat"]).expect(7);
    let lines: Vec<&str> = human
        .stdout
        .lines()
        .filter(|l| l.contains("T-multi"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", human.stdout);
    for kind in ["worker_gone", "stale_claim", "dangling_dependency"] {
        assert!(lines[0].contains(kind), "{}", lines[0]);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. The snapshot
// ---------------------------------------------------------------------------------------------

/// A small repository with a signal of each severity and an unreadable file.
fn status_fixture() -> Repo {
    let repo = Repo::new();
    write_config(&repo, IDENTITIES);
    put(&repo, "T-a", "status: open\n");
    put(&repo, "T-b", "status: open\nowner: role:nobody\n");
    put(&repo, "T-c", "status: open\nowner: role:ghosts\n");
    put(
        &repo,
        "T-d",
        "status: failed\nattempts: 3\nmax_attempts: 3\n",
    );
    repo.write(".tasks/T-bad.md", "---\nid: T-bad\ntitle: [oops\n---\n");
    at(&repo, T0, &["claim", "T-a", "--as", "dave"]).ok();
    repo
}

#[test]
fn the_sweep_writes_a_snapshot_of_what_it_printed() {
    let repo = status_fixture();
    assert!(!snapshot_path(&repo).exists());
    let run = at(
        &repo,
        "2035-01-01T00:10:00Z",
        &["heartbeat", "--json", "--as", "dave"],
    )
    .expect(7);
    let doc = run.json();
    let snap = snapshot(&repo);
    // The snapshot sits in the git common dir.
    let common = repo.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
    assert_eq!(
        snapshot_path(&repo),
        Path::new(common.trim()).join("tasks/heartbeat.json")
    );

    let keys: BTreeSet<&str> = snap
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "schema_version",
        "generated_at",
        "generated_by",
        "host",
        "duration_ms",
        "counts",
        "tasks",
    ] {
        assert!(keys.contains(k), "snapshot lacks {k}: {snap:#}");
    }
    assert_eq!(snap["schema_version"], 1);
    assert_eq!(snap["generated_at"], "2035-01-01T00:10:00Z");
    assert_eq!(
        snap["generated_by"], "dave.fowler",
        "canonical, not the alias"
    );
    assert_eq!(snap["host"], hostname());
    assert!(snap["duration_ms"].is_u64(), "{snap:#}");
    assert_eq!(snap["tasks"], doc["tasks"]);
    assert_eq!(
        snap["counts"]["by_status"],
        json!({
            "open": 2, "in_progress": 1, "in_review": 0, "blocked": 0, "done": 0,
            "failed": 1, "cancelled": 0, "unreadable": 1,
        })
    );
    assert_eq!(
        snap["counts"]["by_signal"],
        json!({
            "invalid_file": 1, "retry_exhausted": 1, "unroutable_owner": 2,
        })
    );
    assert_eq!(
        snap["counts"]["by_severity"],
        json!({"error": 2, "warn": 2})
    );

    // The counts agree with the rows.
    let mut by_signal = BTreeMap::new();
    for signals in rows(&doc).values() {
        for (kind, _) in signals {
            *by_signal.entry(kind.clone()).or_insert(0u64) += 1;
        }
    }
    let counted: BTreeMap<String, u64> = snap["counts"]["by_signal"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(counted, by_signal);

    // A later sweep replaces it.
    at(&repo, SWEEP, &["heartbeat", "--as", "alice"]).expect(7);
    let again = snapshot(&repo);
    assert_eq!(again["generated_at"], SWEEP);
    assert_eq!(again["generated_by"], "alice");
}

// ---------------------------------------------------------------------------------------------
// 4. tasks status
// ---------------------------------------------------------------------------------------------

#[test]
fn status_without_a_snapshot_says_so_and_warns() {
    let repo = status_fixture();
    let run = at(&repo, RECENT, &["status"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "open 2 · in_progress 1 · in_review 0 · blocked 0 · done 0 · failed 1 · cancelled 0 · unreadable 1"
    );
    assert_eq!(lines[1], "last sweep: none");
    assert!(
        run.stderr.contains("no sweep has run yet"),
        "{}",
        run.stderr
    );

    let doc = at(&repo, RECENT, &["status", "--json"]).ok().json();
    assert_eq!(doc["snapshot"], Value::Null);
    assert_eq!(doc["top_signals"], json!([]));
    assert_eq!(doc["counts"]["open"], 2);
}

#[test]
fn status_shows_counts_the_last_sweep_and_its_top_signals() {
    let repo = status_fixture();
    let host = hostname();
    at(&repo, T0, &["heartbeat", "--as", "dave"]).expect(7);

    // Ten minutes on: fresh, no warning.
    let run = at(&repo, "2035-01-01T00:10:00Z", &["status"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "open 2 · in_progress 1 · in_review 0 · blocked 0 · done 0 · failed 1 · cancelled 0 · unreadable 1"
    );
    assert!(
        lines[1].starts_with(&format!("last sweep: 10m ago by dave.fowler on {host} (")),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "signals: invalid_file 1 (error), retry_exhausted 1 (error), unroutable_owner 2 (warn)"
    );
    assert!(!run.stderr.contains("max-age"), "{}", run.stderr);
    assert!(!run.stderr.contains("no sweep"), "{}", run.stderr);

    // Counts come from the files now, not from the snapshot.
    put(&repo, "T-e", "status: open\n");
    let run = at(&repo, "2035-01-01T00:10:00Z", &["status"]).ok();
    assert!(run.stdout.starts_with("open 3 · "), "{}", run.stdout);

    // Older than --max-age (default 1h): a warning on stderr, still exit 0.
    let run = at(&repo, "2035-01-01T02:00:00Z", &["status"]).ok();
    assert!(run.stdout.contains("last sweep: 2h ago"), "{}", run.stdout);
    assert!(run.stderr.contains("--max-age 1h"), "{}", run.stderr);
    let run = at(
        &repo,
        "2035-01-01T02:00:00Z",
        &["status", "--max-age", "3h"],
    )
    .ok();
    assert!(!run.stderr.contains("max-age"), "{}", run.stderr);
    let run = at(
        &repo,
        "2035-01-01T00:40:00Z",
        &["status", "--max-age", "30m"],
    )
    .ok();
    assert!(run.stderr.contains("--max-age 30m"), "{}", run.stderr);

    // The JSON shape.
    let doc = at(&repo, "2035-01-01T00:10:00Z", &["status", "--json"])
        .ok()
        .json();
    let keys: BTreeSet<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["schema_version", "counts", "snapshot", "top_signals"])
    );
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(
        doc["counts"],
        json!({
            "open": 3, "in_progress": 1, "in_review": 0, "blocked": 0, "done": 0,
            "failed": 1, "cancelled": 0, "unreadable": 1,
        })
    );
    let snap = &doc["snapshot"];
    assert_eq!(snap["generated_at"], T0);
    assert_eq!(snap["generated_by"], "dave.fowler");
    assert_eq!(snap["host"], host.as_str());
    assert!(snap["duration_ms"].is_u64());
    assert_eq!(snap["age_seconds"], 600);
    assert_eq!(snap["stale"], false);
    assert_eq!(
        doc["top_signals"],
        json!([
            {"kind": "invalid_file", "severity": "error", "count": 1},
            {"kind": "retry_exhausted", "severity": "error", "count": 1},
            {"kind": "unroutable_owner", "severity": "warn", "count": 2},
        ])
    );
    let stale = at(&repo, "2035-01-01T02:00:00Z", &["status", "--json"])
        .ok()
        .json();
    assert_eq!(stale["snapshot"]["stale"], true);
    assert_eq!(stale["snapshot"]["age_seconds"], 7200);
}

// ---------------------------------------------------------------------------------------------
// 5. --fix
// ---------------------------------------------------------------------------------------------

/// When --fix runs: 3h01m after T0.
const FIX: &str = "2035-01-01T03:01:00Z";

const ORPHAN: &str = "---\nid: T-orph\ntitle: Left behind\nstatus: open\npriority: 1\n\
claimed_by: bob\nclaimed_at: 2035-01-01T00:00:00Z\nworktree: .worktrees/T-orph\n\
branch: tasks/T-orph\nlabels: [keep]\nupdated_at: 2035-01-01T00:00:00Z\n# a comment\n\
custom: 'kept'\n---\nBody stays.\n\n## Notes\n- a note\n";

const ORPHAN_FIXED: &str = "---\nid: T-orph\ntitle: Left behind\nstatus: open\npriority: 1\n\
labels: [keep]\nupdated_at: 2035-01-01T03:01:00Z\n# a comment\n\
custom: 'kept'\n---\nBody stays.\n\n## Notes\n- a note\n";

const BROKEN: &str = "---\nid: T-broken\ntitle: [oops\nstatus: open\nclaimed_by: bob\n---\nbody\n";

fn fix_fixture() -> Repo {
    let repo = Repo::new();
    put(&repo, "T-old", "status: open\n");
    put(&repo, "T-recent", "status: open\n");
    repo.write(".tasks/T-orph.md", ORPHAN);
    repo.write(".tasks/T-broken.md", BROKEN);
    // Silent since T0 with a 1h lease: expired 2h01m before FIX, past reclaim_after (2h).
    at(&repo, T0, &["claim", "T-old", "--as", "alice"]).ok();
    // Claimed at 02:00 with a 30m lease: expired 31m before FIX, within reclaim_after.
    at(
        &repo,
        "2035-01-01T02:00:00Z",
        &["claim", "T-recent", "--as", "bob", "--lease", "30m"],
    )
    .ok();
    repo
}

fn set_age(path: &Path, secs: u64) {
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

#[test]
fn fix_releases_long_silent_claims_clears_orphan_fields_and_removes_stale_temp_files() {
    let repo = fix_fixture();
    let old_tmp = repo.path(".tasks/.tasks-tmp-1-2-T-old.md");
    let new_tmp = repo.path(".tasks/.tasks-tmp-3-4-T-recent.md");
    repo.write(
        ".tasks/.tasks-tmp-1-2-T-old.md",
        task_text("T-old", "status: open\n"),
    );
    repo.write(
        ".tasks/.tasks-tmp-3-4-T-recent.md",
        task_text("T-recent", "status: open\n"),
    );
    set_age(&old_tmp, 600);
    let recent_before = repo.read_bytes(".tasks/T-recent.md");
    let recent_lease = std::fs::read(lease_path(&repo, "T-recent")).unwrap();
    let events_before = events(&repo).len();

    // Without --fix nothing changes.
    let files_before = task_files(&repo);
    at(&repo, FIX, &["heartbeat"]).expect(7);
    assert_eq!(task_files(&repo), files_before);

    let run = at(&repo, FIX, &["heartbeat", "--fix", "--as", "sweeper"]).expect(7);
    // Each fix is printed.
    let fixed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("fixed: "))
        .collect();
    assert_eq!(fixed.len(), 3, "{}", run.stdout);
    assert!(
        fixed
            .iter()
            .any(|l| l.contains("T-old") && l.contains("expired")),
        "{fixed:?}"
    );
    assert!(
        fixed
            .iter()
            .any(|l| l.contains("T-orph") && l.contains("claimed_by")),
        "{fixed:?}"
    );
    assert!(
        fixed.iter().any(|l| l.contains(".tasks-tmp-1-2-T-old.md")),
        "{fixed:?}"
    );

    // The long-silent claim is released: outcome expired, no claim fields, no lease.
    let old = repo.show("T-old");
    assert_eq!(old["status"], "open");
    assert_eq!(old["outcome"], "expired");
    assert_eq!(old["outcome_at"], FIX);
    assert_eq!(old["outcome_by"], "sweeper");
    for key in ["claimed_by", "claimed_at", "worktree", "branch"] {
        assert!(old.get(key).is_none(), "{key} left on T-old: {old:#}");
    }
    assert!(!lease_path(&repo, "T-old").exists());

    // The claim that expired only lately is left alone (it is still stale).
    assert_eq!(repo.read_bytes(".tasks/T-recent.md"), recent_before);
    assert_eq!(
        std::fs::read(lease_path(&repo, "T-recent")).unwrap(),
        recent_lease
    );
    let doc = at(&repo, FIX, &["heartbeat", "--json"]).expect(7).json();
    assert_eq!(rows(&doc)["T-recent"], vec![pair("stale_claim", "warn")]);
    assert!(!rows(&doc).contains_key("T-old"), "{doc:#}");
    assert!(!rows(&doc).contains_key("T-orph"), "{doc:#}");

    // Orphan claim fields: only those lines and updated_at changed.
    assert_eq!(repo.read(".tasks/T-orph.md"), ORPHAN_FIXED);

    // The old temp file is gone; the fresh one stays.
    assert!(!old_tmp.exists());
    assert!(new_tmp.exists());

    // The file that cannot be parsed is untouched, and still reported.
    assert_eq!(repo.read_bytes(".tasks/T-broken.md"), BROKEN.as_bytes());
    assert_eq!(rows(&doc)["T-broken"], vec![pair("invalid_file", "error")]);

    // Every fix is logged.
    let log = events(&repo);
    let new: Vec<&Value> = log[events_before..].iter().collect();
    assert_eq!(new.len(), 3, "{new:#?}");
    let released = new
        .iter()
        .find(|e| e["task"] == "T-old")
        .expect("T-old event");
    assert_eq!(released["outcome"], "expired");
    assert_eq!(released["from"], "in_progress");
    assert_eq!(released["to"], "open");
    assert_eq!(released["actor"], "sweeper");
    assert_eq!(released["time"], FIX);
    let cleared = new
        .iter()
        .find(|e| e["task"] == "T-orph")
        .expect("T-orph event");
    assert_eq!(cleared["fix"], "cleared_claim_fields");
    let removed = new
        .iter()
        .find(|e| e["fix"] == "removed_temp_file")
        .expect("temp file event");
    assert!(
        removed["path"]
            .as_str()
            .unwrap()
            .contains(".tasks-tmp-1-2-T-old.md"),
        "{removed:#}"
    );

    // A second run changes nothing more.
    let files = task_files(&repo);
    let lines = events_text(&repo).lines().count();
    let again = at(
        &repo,
        FIX,
        &["heartbeat", "--fix", "--json", "--as", "sweeper"],
    )
    .expect(7)
    .json();
    assert_eq!(again["fixes"], json!([]));
    assert_eq!(task_files(&repo), files);
    assert_eq!(events_text(&repo).lines().count(), lines);
}

#[test]
fn fix_reports_its_repairs_in_json() {
    let repo = fix_fixture();
    let doc = at(&repo, FIX, &["heartbeat", "--fix", "--json"])
        .expect(7)
        .json();
    let kinds: BTreeSet<(String, String)> = doc["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["task"].as_str().unwrap().to_string(),
                f["fix"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            ("T-old".to_string(), "released_expired_claim".to_string()),
            ("T-orph".to_string(), "cleared_claim_fields".to_string()),
        ])
    );
    // The rows are those of the repaired store.
    let got = rows(&doc);
    assert!(!got.contains_key("T-old"), "{doc:#}");
    assert!(!got.contains_key("T-orph"), "{doc:#}");
    assert_eq!(got["T-recent"], vec![pair("stale_claim", "warn")]);
}

#[test]
fn fix_leaves_a_task_in_review_alone() {
    let repo = Repo::new();
    write_config(&repo, "review: required\n");
    put(&repo, "T-rev", "status: open\n");
    at(&repo, T0, &["claim", "T-rev", "--as", "alice"]).ok();
    at(&repo, T0, &["done", "T-rev", "--as", "alice"]).ok();
    assert_eq!(repo.show("T-rev")["status"], "in_review");
    let before = repo.read(".tasks/T-rev.md");
    // The worker is done; the task waits for a reviewer, well within sla.review (24h).
    at(&repo, FIX, &["heartbeat", "--fix"]).ok();
    assert_eq!(repo.read(".tasks/T-rev.md"), before);
    assert_eq!(repo.show("T-rev")["status"], "in_review");
}

// ---------------------------------------------------------------------------------------------
// 6. Exit codes
// ---------------------------------------------------------------------------------------------

#[test]
fn fail_on_decides_the_exit_code() {
    let repo = Repo::new();
    put(&repo, "T-a", "status: open\n");
    for level in ["warn", "error", "never"] {
        at(&repo, SWEEP, &["heartbeat", "--fail-on", level]).ok();
    }

    // Only warnings.
    put(&repo, "T-w", "status: open\ndepends_on: [T-nope]\n");
    at(&repo, SWEEP, &["heartbeat"]).ok();
    at(&repo, SWEEP, &["heartbeat", "--fail-on", "error"]).ok();
    at(&repo, SWEEP, &["heartbeat", "--fail-on", "never"]).ok();
    let run = at(&repo, SWEEP, &["heartbeat", "--fail-on", "warn"]).expect(7);
    assert!(run.stdout.contains("dangling_dependency"), "{}", run.stdout);

    // And an error.
    put(
        &repo,
        "T-e",
        "status: failed\nattempts: 3\nmax_attempts: 3\n",
    );
    at(&repo, SWEEP, &["heartbeat"]).expect(7);
    at(&repo, SWEEP, &["heartbeat", "--fail-on", "error"]).expect(7);
    at(&repo, SWEEP, &["heartbeat", "--fail-on", "warn"]).expect(7);
    let run = at(&repo, SWEEP, &["heartbeat", "--fail-on", "never", "--json"]).ok();
    assert_eq!(
        rows(&run.json())["T-e"],
        vec![pair("retry_exhausted", "error")]
    );
    // The snapshot is written whatever the exit code.
    assert_eq!(snapshot(&repo)["generated_at"], SWEEP);
}

// ---------------------------------------------------------------------------------------------
// 7. Hooks
// ---------------------------------------------------------------------------------------------

const HOOK_BEGIN: &str = "# >>> tasks hooks >>>";

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A shell post-commit hook that writes `marker`.
fn marker_hook(marker: &Path) -> String {
    format!("#!/bin/sh\necho ran >> '{}'\n", marker.display())
}

/// Makes a commit (an empty one) in `dir`, with `env` on git and so on its hooks.
fn commit(repo: &Repo, dir: &Path, env: &[(&str, &str)]) -> Run {
    git_cmd(
        repo,
        dir,
        &["commit", "-q", "--allow-empty", "-m", "c"],
        env,
    )
}

fn head(repo: &Repo) -> String {
    repo.git(&["rev-parse", "HEAD"]).trim().to_string()
}

#[test]
fn hooks_run_the_sweep_after_an_existing_hook_keeps_running() {
    let repo = Repo::new();
    let hooks = repo.root.join(".git/hooks");
    let marker = repo.home.join("marker");
    let old = marker_hook(&marker);
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(hooks.join("post-commit"), &old).unwrap();
    make_executable(&hooks.join("post-commit"));

    let run = repo.tasks(&["hooks", "install", "--json"]).ok().json();
    assert_eq!(
        run["installed"],
        json!(["post-commit", "post-merge", "post-checkout"])
    );
    for hook in ["post-commit", "post-merge", "post-checkout"] {
        let text = std::fs::read_to_string(hooks.join(hook)).unwrap();
        assert!(text.starts_with("#!/bin/sh\n"), "{hook}: {text}");
        assert!(text.contains(HOOK_BEGIN), "{hook}: {text}");
    }
    let post_commit = std::fs::read_to_string(hooks.join("post-commit")).unwrap();
    assert!(post_commit.contains(&format!("echo ran >> '{}'", marker.display())));
    // Installing again changes nothing.
    let again = repo.tasks(&["hooks", "install", "--json"]).ok().json();
    assert_eq!(again["installed"], json!([]));
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-commit")).unwrap(),
        post_commit
    );

    assert!(!snapshot_path(&repo).exists());
    assert!(!marker.exists());
    commit(&repo, &repo.root, &[("TASKS_NOW", SWEEP)]).ok();
    assert!(marker.exists(), "the old hook still ran");
    assert_eq!(snapshot(&repo)["generated_at"], SWEEP, "the sweep ran");

    // Uninstall: the old hook comes back byte for byte, our own hooks go.
    repo.tasks(&["hooks", "uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-commit")).unwrap(),
        old
    );
    assert!(!hooks.join("post-merge").exists());
    assert!(!hooks.join("post-checkout").exists());
    // And the sweep no longer runs on commit.
    std::fs::remove_file(snapshot_path(&repo)).unwrap();
    commit(&repo, &repo.root, &[]).ok();
    assert!(!snapshot_path(&repo).exists());
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\nran\n");
}

#[test]
fn hooks_go_where_core_hooks_path_says() {
    let repo = Repo::new();
    repo.git(&["config", "core.hooksPath", "custom-hooks"]);
    let sub = repo.path("sub");
    std::fs::create_dir_all(&sub).unwrap();
    // Run from a subfolder: the relative hooksPath is still the repository's.
    let doc = repo
        .tasks_in(&sub, &["hooks", "install", "--json"])
        .ok()
        .json();
    let custom = repo.path("custom-hooks");
    assert_eq!(
        std::fs::canonicalize(doc["hooks_dir"].as_str().unwrap()).unwrap(),
        custom
    );
    for hook in ["post-commit", "post-merge", "post-checkout"] {
        assert!(
            std::fs::read_to_string(custom.join(hook))
                .unwrap()
                .contains(HOOK_BEGIN),
            "{hook}"
        );
        assert!(!repo.root.join(".git/hooks").join(hook).exists(), "{hook}");
    }
    commit(&repo, &repo.root, &[("TASKS_NOW", SWEEP)]).ok();
    assert_eq!(snapshot(&repo)["generated_at"], SWEEP);
}

#[test]
fn uninstall_keeps_a_hook_that_was_there_before_even_an_empty_one() {
    let repo = Repo::new();
    let hooks = repo.root.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(hooks.join("post-commit"), "#!/bin/sh\n").unwrap();
    std::fs::write(hooks.join("post-merge"), "#!/bin/sh").unwrap();
    make_executable(&hooks.join("post-commit"));
    make_executable(&hooks.join("post-merge"));
    repo.tasks(&["hooks", "install"]).ok();
    repo.tasks(&["hooks", "uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-commit"))
            .ok()
            .as_deref(),
        Some("#!/bin/sh\n")
    );
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-merge"))
            .ok()
            .as_deref(),
        Some("#!/bin/sh")
    );
    assert!(!hooks.join("post-checkout").exists(), "ours alone goes");
}

#[test]
fn a_hook_in_another_language_is_left_alone_and_the_others_installed() {
    let repo = Repo::new();
    let hooks = repo.root.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let python = "#!/usr/bin/env python3\nprint('merged')\n";
    std::fs::write(hooks.join("post-merge"), python).unwrap();
    make_executable(&hooks.join("post-merge"));

    let run = repo.tasks(&["hooks", "install", "--json"]).expect(1);
    let doc = run.json();
    assert_eq!(doc["installed"], json!(["post-commit", "post-checkout"]));
    assert_eq!(doc["skipped"][0]["hook"], "post-merge");
    assert_eq!(doc["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-merge")).unwrap(),
        python
    );
    for hook in ["post-commit", "post-checkout"] {
        assert!(
            std::fs::read_to_string(hooks.join(hook))
                .unwrap()
                .contains(HOOK_BEGIN)
        );
    }
    // Said on stderr for people.
    let run = repo.tasks(&["hooks", "install"]).expect(1);
    assert!(
        run.stderr.contains("post-merge") && run.stderr.contains("not a shell script"),
        "{}",
        run.stderr
    );
    repo.tasks(&["hooks", "uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-merge")).unwrap(),
        python
    );
    assert!(!hooks.join("post-commit").exists());
}

/// Runs a git command of each hook: a commit (post-commit), two checkouts (post-checkout,
/// whose exit status becomes git's) and a fast-forward merge (post-merge). Each must succeed.
fn run_hooked_git_commands(repo: &Repo, env: &[(&str, &str)], branch: &str) {
    let before = head(repo);
    let run = commit(repo, &repo.root, env).ok();
    assert_ne!(head(repo), before, "the commit was made");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    git_cmd(repo, &repo.root, &["checkout", "-q", "-b", branch], env).ok();
    commit(repo, &repo.root, env).ok();
    let side = head(repo);
    git_cmd(repo, &repo.root, &["checkout", "-q", "main"], env).ok();
    git_cmd(repo, &repo.root, &["merge", "-q", "--ff-only", branch], env).ok();
    assert_eq!(head(repo), side, "the merge was made");
}

#[test]
fn a_hook_never_fails_a_git_command_when_the_sweep_fails() {
    let repo = Repo::new();
    repo.tasks(&["hooks", "install"]).ok();

    // The sweep finds an error (exit 7 when run by hand).
    repo.write(".tasks/T-bad.md", "---\nid: T-bad\ntitle: [oops\n---\n");
    repo.tasks(&["heartbeat"]).expect(7);
    run_hooked_git_commands(&repo, &[("TASKS_NOW", SWEEP)], "side-1");
    assert_eq!(snapshot(&repo)["generated_at"], SWEEP, "the hooks swept");

    // The config is broken: the sweep cannot even start (exit 1 by hand).
    std::fs::remove_file(snapshot_path(&repo)).unwrap();
    write_config(&repo, "no_such_key: 1\n");
    let run = repo.tasks(&["heartbeat"]).expect(1);
    assert!(run.stderr.contains("no_such_key"), "{}", run.stderr);
    run_hooked_git_commands(&repo, &[("TASKS_NOW", SWEEP)], "side-2");
    assert!(!snapshot_path(&repo).exists());
}

#[test]
fn a_hook_never_fails_a_git_command_when_the_binary_is_gone() {
    let repo = Repo::new();
    let hooks = repo.root.join(".git/hooks");
    let marker = repo.home.join("marker");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(hooks.join("post-commit"), marker_hook(&marker)).unwrap();
    make_executable(&hooks.join("post-commit"));
    repo.tasks(&["hooks", "install"]).ok();

    // Point the section at a binary that is not there.
    let path = hooks.join("post-commit");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("tasks_bin='"))
        .expect("a tasks_bin line")
        .to_string();
    std::fs::write(
        &path,
        text.replace(&line, "  tasks_bin='/nonexistent/bin/tasks'"),
    )
    .unwrap();
    // And keep any `tasks` off PATH.
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path_var)
        .filter(|d| !d.join("tasks").exists())
        .collect();
    let path_var = std::env::join_paths(dirs).unwrap();
    let path_var = path_var.to_str().unwrap();

    let before = head(&repo);
    commit(&repo, &repo.root, &[("PATH", path_var)]).ok();
    assert_ne!(head(&repo), before, "the commit was made");
    assert!(marker.exists(), "the rest of the hook still ran");
    // The same in the other hooks.
    for hook in ["post-merge", "post-checkout"] {
        let path = hooks.join(hook);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace(&line, "  tasks_bin='/nonexistent/bin/tasks'"),
        )
        .unwrap();
    }
    run_hooked_git_commands(&repo, &[("PATH", path_var)], "side");
    assert!(!snapshot_path(&repo).exists());
}

#[test]
fn a_commit_in_a_task_worktree_renews_its_lease() {
    let repo = Repo::new();
    put(&repo, "T-wt", "status: open\n");
    put(&repo, "T-other", "status: open\n");
    commit_all(&repo, "tasks");
    repo.tasks(&["hooks", "install"]).ok();
    let wt = start(&repo, T0, "T-wt");
    at(&repo, T0, &["claim", "T-other", "--as", "alice"]).ok();
    assert_eq!(lease(&repo, "T-wt")["renewed_at"], T0);
    let other = std::fs::read(lease_path(&repo, "T-other")).unwrap();

    let later = "2035-01-01T00:30:00Z";
    commit(&repo, &wt, &[("TASKS_NOW", later)]).ok();
    let renewed = lease(&repo, "T-wt");
    assert_eq!(renewed["renewed_at"], later);
    assert_eq!(renewed["expires_at"], "2035-01-01T01:30:00Z");
    assert_eq!(renewed["acquired_at"], T0);
    assert_eq!(
        std::fs::read(lease_path(&repo, "T-other")).unwrap(),
        other,
        "only the worktree's claim is renewed"
    );
    // A commit in the root renews nothing.
    commit(&repo, &repo.root, &[("TASKS_NOW", "2035-01-01T00:40:00Z")]).ok();
    assert_eq!(lease(&repo, "T-wt")["renewed_at"], later);
}

// ---------------------------------------------------------------------------------------------
// 8. heartbeat ID and --here
// ---------------------------------------------------------------------------------------------

#[test]
fn heartbeat_with_an_id_renews_the_lease() {
    let repo = Repo::new();
    put(&repo, "T-a", "status: open\n");
    at(
        &repo,
        T0,
        &["claim", "T-a", "--as", "alice", "--lease", "30m"],
    )
    .ok();
    let later = "2035-01-01T00:20:00Z";
    let doc = at(
        &repo,
        later,
        &["heartbeat", "T-a", "--as", "alice", "--json"],
    )
    .ok()
    .json();
    assert_eq!(doc["task"]["id"], "T-a");
    let l = lease(&repo, "T-a");
    assert_eq!(l["renewed_at"], later);
    assert_eq!(
        l["expires_at"], "2035-01-01T00:50:00Z",
        "the same 30m length"
    );
    assert!(!snapshot_path(&repo).exists(), "renewing is not a sweep");

    // Somebody else cannot renew it.
    let bytes = std::fs::read(lease_path(&repo, "T-a")).unwrap();
    at(
        &repo,
        "2035-01-01T00:25:00Z",
        &["heartbeat", "T-a", "--as", "bob"],
    )
    .expect(3);
    assert_eq!(std::fs::read(lease_path(&repo, "T-a")).unwrap(), bytes);
}

#[test]
fn heartbeat_here_renews_the_claim_of_this_worktree_and_nothing_elsewhere() {
    let repo = Repo::new();
    put(&repo, "T-wt", "status: open\n");
    put(&repo, "T-b", "status: open\n");
    commit_all(&repo, "tasks");
    let wt = start(&repo, T0, "T-wt");
    at(&repo, T0, &["claim", "T-b", "--as", "bob"]).ok();
    let unrelated = repo.worktree("unrelated");
    let leases = || {
        (
            std::fs::read(lease_path(&repo, "T-wt")).unwrap(),
            std::fs::read(lease_path(&repo, "T-b")).unwrap(),
        )
    };
    let files = task_files(&repo);

    // Elsewhere: exit 0, nothing renewed, no sweep.
    let before = leases();
    for dir in [&repo.root, &unrelated] {
        at_in(&repo, dir, "2035-01-01T00:10:00Z", &["heartbeat", "--here"]).ok();
        let doc = at_in(
            &repo,
            dir,
            "2035-01-01T00:10:00Z",
            &["heartbeat", "--here", "--json"],
        )
        .ok()
        .json();
        assert_eq!(doc, json!({"schema_version": 1, "task": null}));
    }
    assert_eq!(leases(), before);
    assert!(!snapshot_path(&repo).exists());

    // In the worktree (from a subfolder, too): its claim, and only it.
    let sub = wt.join("deep");
    std::fs::create_dir_all(&sub).unwrap();
    at_in(
        &repo,
        &sub,
        "2035-01-01T00:15:00Z",
        &["heartbeat", "--here"],
    )
    .ok();
    assert_eq!(lease(&repo, "T-wt")["renewed_at"], "2035-01-01T00:15:00Z");
    assert_eq!(leases().1, before.1);
    assert_eq!(task_files(&repo), files, "no task file changes");
    assert!(!snapshot_path(&repo).exists());
}

#[test]
fn a_disabled_hook_is_neither_enabled_nor_changed() {
    let repo = Repo::new();
    let hooks = repo.root.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    // Not executable: git skips it, so the user has it switched off.
    std::fs::write(hooks.join("post-merge"), "#!/bin/sh\necho off\n").unwrap();
    let run = repo.tasks(&["hooks", "install"]).expect(1);
    assert!(run.stderr.contains("not executable"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-merge")).unwrap(),
        "#!/bin/sh\necho off\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(hooks.join("post-merge"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0, "still switched off");
    assert!(
        hooks.join("post-commit").exists(),
        "the others are installed"
    );
}

#[test]
fn a_claim_nothing_dates_is_stale_but_never_released() {
    let repo = Repo::new();
    repo.write(
        ".tasks/Y-1.md",
        "---\nid: Y-1\ntitle: Claimed by hand\nstatus: in_progress\nclaimed_by: ghost\n---\n",
    );
    let doc = repo
        .tasks(&["heartbeat", "--json", "--fail-on", "never"])
        .ok()
        .json();
    let row = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "Y-1")
        .expect("a row for Y-1")
        .clone();
    let kinds: Vec<&str> = row["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["stale_claim"], "{row:#}");
    // Without any time, nothing says how long it has been silent: --fix leaves it.
    let before = repo.read_bytes(".tasks/Y-1.md");
    repo.tasks(&["heartbeat", "--fix", "--fail-on", "never"])
        .ok();
    assert_eq!(repo.read_bytes(".tasks/Y-1.md"), before);
}

#[test]
fn a_linked_hook_is_left_alone() {
    let repo = Repo::new();
    let hooks = repo.root.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let shared = repo.root.join("scripts-post-commit");
    std::fs::write(&shared, "#!/bin/sh\necho shared\n").unwrap();
    make_executable(&shared);
    std::os::unix::fs::symlink(&shared, hooks.join("post-commit")).unwrap();
    let run = repo.tasks(&["hooks", "install"]).expect(1);
    assert!(run.stderr.contains("link"), "{}", run.stderr);
    assert!(
        std::fs::read_link(hooks.join("post-commit")).is_ok(),
        "still a link"
    );
    assert_eq!(
        std::fs::read_to_string(&shared).unwrap(),
        "#!/bin/sh\necho shared\n"
    );
    repo.tasks(&["hooks", "uninstall"]).ok();
    assert!(std::fs::read_link(hooks.join("post-commit")).is_ok());
}
