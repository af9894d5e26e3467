//! Many processes at once: every task claimed exactly once, and a held lock means exit 5.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Repo, Run};

const AGENTS: usize = 16;
const TASKS: usize = 200;

#[test]
fn sixteen_agents_claim_two_hundred_tasks_exactly_once() {
    let repo = Repo::new();
    for i in 0..TASKS {
        repo.write(
            &format!(".tasks/batch/C-{i:03}.md"),
            format!(
                "---\nid: C-{i:03}\ntitle: task {i}\npriority: {}\n---\nwork {i}\n",
                i % 5
            ),
        );
    }
    // Half the agents work from a linked worktree: their writes must land in the root.
    let wt = repo.worktree("agents");

    let handles: Vec<_> = (0..AGENTS)
        .map(|n| {
            let dir = if n % 2 == 0 {
                repo.root.clone()
            } else {
                wt.clone()
            };
            let mut base = repo.command_in(&dir);
            base.env("TASKS_AGENT", format!("agent-{n:02}"));
            let program = base.get_program().to_owned();
            let envs: Vec<_> = base
                .get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
                .collect();
            std::thread::spawn(move || {
                let mut claimed = Vec::new();
                loop {
                    let mut cmd = std::process::Command::new(&program);
                    cmd.env_clear()
                        .current_dir(&dir)
                        .args(["claim", "--next", "--json"]);
                    for (k, v) in &envs {
                        if let Some(v) = v {
                            cmd.env(k, v);
                        }
                    }
                    let run = Run::from_output(cmd.output().unwrap());
                    match run.code {
                        0 => claimed.push(run.json()["task"]["id"].as_str().unwrap().to_string()),
                        4 => return claimed,
                        code => panic!("agent-{n:02}: claim exited {code}: {}", run.stderr),
                    }
                }
            })
        })
        .collect();

    let mut owner_of: BTreeMap<String, String> = BTreeMap::new();
    for (n, handle) in handles.into_iter().enumerate() {
        for id in handle.join().unwrap() {
            if let Some(first) = owner_of.insert(id.clone(), format!("agent-{n:02}")) {
                panic!("{id} was claimed twice: by {first} and agent-{n:02}");
            }
        }
    }
    assert_eq!(owner_of.len(), TASKS, "every task is claimed");

    // Every file still parses, and says who holds it.
    let list = repo.tasks(&["list", "--json"]).ok();
    assert!(list.stderr.is_empty(), "no file went bad: {}", list.stderr);
    let tasks = list.json()["tasks"].as_array().unwrap().clone();
    assert_eq!(tasks.len(), TASKS);
    for t in &tasks {
        let id = t["id"].as_str().unwrap();
        assert_eq!(t["status"], "in_progress", "{id}");
        assert_eq!(
            t["claimed_by"].as_str(),
            Some(owner_of[id].as_str()),
            "{id}"
        );
    }
    // The worktree's own copy of .tasks was never touched.
    assert!(!wt.join(".tasks/batch").exists());

    // One event and one lease per claim.
    let events = std::fs::read_to_string(repo.state_dir().join("events.jsonl")).unwrap();
    let claimed_events: BTreeSet<String> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["to"] == "in_progress")
        .map(|e| e["task"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events.lines().count(), TASKS);
    assert_eq!(claimed_events.len(), TASKS);
    let leases = std::fs::read_dir(repo.state_dir().join("leases"))
        .unwrap()
        .count();
    assert_eq!(leases, TASKS);
    // No temp file was left behind.
    let leftovers: Vec<_> = std::fs::read_dir(repo.path(".tasks/batch"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn concurrent_claims_of_one_task_have_exactly_one_winner() {
    let repo = Repo::new();
    let id = repo.new_task(&["contested"]);
    let children: Vec<_> = (0..8)
        .map(|n| {
            repo.command_in(&repo.root)
                .args(["claim", &id, "--as", &format!("racer-{n}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from_output(c.wait_with_output().unwrap()))
        .collect();
    let winners = runs.iter().filter(|r| r.code == 0).count();
    assert_eq!(winners, 1, "{runs:#?}");
    let holder = repo.show(&id)["claimed_by"].as_str().unwrap().to_string();
    for r in runs.iter().filter(|r| r.code != 0) {
        assert_eq!(r.code, 3, "{r:?}");
        assert!(
            r.stderr.contains(&format!("held by {holder}")),
            "{}",
            r.stderr
        );
    }
}

fn hold_lock(repo: &Repo) -> File {
    std::fs::create_dir_all(repo.state_dir()).unwrap();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(repo.state_dir().join("lock"))
        .unwrap();
    file.lock().unwrap();
    file
}

#[test]
fn a_held_lock_times_out_with_exit_5_and_writes_nothing() {
    let repo = Repo::new();
    let id = repo.new_task(&["locked out"]);
    let before = repo.task_file(&id);
    let events_before =
        std::fs::read_to_string(repo.state_dir().join("events.jsonl")).unwrap_or_default();
    let held = hold_lock(&repo);

    let started = Instant::now();
    let run = Run::from_output(
        repo.command_in(&repo.root)
            .env("TASKS_LOCK_TIMEOUT", "0.5")
            .args(["claim", &id, "--as", "waiter", "--json"])
            .output()
            .unwrap(),
    )
    .expect(5);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(500),
        "gave up early: {waited:?}"
    );
    let lock_path = repo.state_dir().join("lock");
    assert!(
        run.stderr.contains(&lock_path.display().to_string()),
        "names the lock: {}",
        run.stderr
    );
    assert_eq!(run.json()["error"]["code"], "lock_timeout");
    assert_eq!(repo.task_file(&id), before, "nothing written");
    assert!(
        !repo
            .state_dir()
            .join("leases")
            .join(format!("{id}.json"))
            .exists()
    );
    let events_after =
        std::fs::read_to_string(repo.state_dir().join("events.jsonl")).unwrap_or_default();
    assert_eq!(events_after, events_before);
    drop(held);
    repo.tasks(&["claim", &id, "--as", "waiter"]).ok();
}

#[test]
fn a_waiting_command_proceeds_when_the_lock_is_released() {
    let repo = Repo::new();
    let id = repo.new_task(&["patience"]);
    let held = hold_lock(&repo);
    let mut child = repo
        .command_in(&repo.root)
        .args(["claim", &id, "--as", "patient"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the command says it is blocked on the lock, then let go.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("Blocking: waiting for the lock"), "{line}");
    assert_eq!(
        repo.show(&id)["status"],
        "open",
        "nothing written while waiting"
    );
    drop(held);
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(repo.show(&id)["claimed_by"], "patient");
}

#[test]
fn a_crashed_holder_releases_the_lock() {
    let repo = Repo::new();
    let id = repo.new_task(&["after a crash"]);
    // A separate process takes the lock and is killed while holding it.
    std::fs::create_dir_all(repo.state_dir()).unwrap();
    let lock = repo.state_dir().join("lock");
    // `--close`: only flock itself holds the lock, not the command it runs.
    let mut holder = std::process::Command::new("flock")
        .arg("--close")
        .arg(&lock)
        .args(["-c", "echo held; exec sleep 30"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("flock(1) from util-linux");
    let mut out = BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "held");
    let blocked = Run::from_output(
        repo.command_in(&repo.root)
            .env("TASKS_LOCK_TIMEOUT", "0.2")
            .args(["claim", &id, "--as", "next"])
            .output()
            .unwrap(),
    );
    assert_eq!(blocked.code, 5, "{blocked:?}");
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(lock.exists(), "the lock file is never deleted");
    repo.tasks(&["claim", &id, "--as", "next"]).ok();
}
