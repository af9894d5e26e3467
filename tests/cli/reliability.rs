//! Reliability under load and under crashes: many real processes writing at once, a lock
//! holder frozen with SIGSTOP, and writers killed with SIGKILL at random moments.
//!
//! `TASKS_STRESS=1` runs the heavier variants (more rounds, thousands of killed writes);
//! `TASKS_STRESS_SEED=N` replays the random choices of a run (each run prints its seed).
//! docs/reliability.md lists the guarantees and the numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::common::{Repo, Run};

fn stress() -> bool {
    std::env::var_os("TASKS_STRESS").is_some_and(|v| v != "0" && !v.is_empty())
}

/// A small, seedable random source (xorshift64*): the tests need no cryptography, only
/// variety that a seed can replay.
struct Rng(u64);

impl Rng {
    fn from_env(test: &str) -> Rng {
        let seed = std::env::var("TASKS_STRESS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{test}: TASKS_STRESS_SEED={seed}");
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A prepared `tasks` command (the hermetic environment of `repo`) that can be sent to a
/// thread.
#[derive(Clone)]
struct Launcher {
    program: std::ffi::OsString,
    dir: PathBuf,
    envs: Vec<(std::ffi::OsString, std::ffi::OsString)>,
}

impl Launcher {
    fn new(repo: &Repo, extra: &[(&str, &str)]) -> Launcher {
        let mut base = repo.command_in(&repo.root);
        for (k, v) in extra {
            base.env(k, v);
        }
        Launcher {
            program: base.get_program().to_owned(),
            dir: repo.root.clone(),
            envs: base
                .get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
                .collect(),
        }
    }

    fn command(&self, args: &[String]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.env_clear()
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.dir)
            .args(args);
        cmd
    }

    fn run(&self, args: &[String]) -> Run {
        Run::from_output(self.command(args).output().unwrap())
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn events(repo: &Repo) -> Vec<Value> {
    std::fs::read_to_string(repo.state_dir().join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("torn event ({e}): {l}")))
        .collect()
}

/// Every regular file under `dir` whose name is `.md`, by path relative to `dir`, with its
/// bytes (temp files included: they start with a dot and are listed separately).
fn md_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for path in files_under(dir) {
        let rel = path.strip_prefix(dir).unwrap().display().to_string();
        if rel.ends_with(".md") && !rel.ends_with("README.md") && !is_temp(&path) {
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn is_temp(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(".tasks-tmp-"))
}

/// Temp files left by interrupted writes, in the task folder and in the state folder.
fn temp_files(repo: &Repo) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = files_under(&repo.path(".tasks"))
        .into_iter()
        .chain(files_under(&repo.state_dir()))
        .filter(|p| is_temp(p))
        .collect();
    out.sort();
    out
}

/// Parses every task file with the library itself (not through the binary), by id.
fn parse_all(dir: &Path) -> BTreeMap<String, tasks::task::Task> {
    let mut out = BTreeMap::new();
    for (rel, bytes) in md_files(dir) {
        let text = std::str::from_utf8(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let parts = tasks::task::split::split(text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let task = tasks::task::Task::parse(&parts).unwrap_or_else(|e| panic!("{rel}: {e}"));
        out.insert(task.id.clone(), task);
    }
    out
}

/// Is the state lock free? Asked without waiting, the way the store takes it (flock(2)).
fn lock_is_free(repo: &Repo) -> bool {
    let status = Command::new("flock")
        .args(["--nonblock", "--conflict-exit-code", "99"])
        .arg(repo.state_dir().join("lock"))
        .arg("true")
        .status()
        .expect("flock(1) from util-linux");
    match status.code() {
        Some(0) => true,
        Some(99) => false,
        other => panic!("flock probe failed: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Contention: 32 processes at once over 1,000 tasks.

const AGENTS: usize = 32;
const LOAD_TASKS: usize = 1000;

/// One command an agent ran, and how it ended.
#[derive(Debug)]
struct Op {
    agent: String,
    kind: &'static str,
    id: String,
    note: Option<String>,
    code: i32,
    stderr: String,
}

#[test]
fn thirty_two_agents_claim_note_set_and_finish_a_thousand_tasks() {
    let rounds = if stress() { 12 } else { 3 };
    let repo = Repo::new();
    for i in 0..LOAD_TASKS {
        repo.write(
            &format!(".tasks/load/L-{i:04}.md"),
            format!(
                "---\nid: L-{i:04}\ntitle: load {i}\npriority: {}\ncreated_at: 2026-01-01T00:00:00Z\n---\nWork {i}.\n",
                i % 5
            ),
        );
    }
    let launcher = Launcher::new(&repo, &[("TASKS_LOCK_TIMEOUT", "300")]);
    let started = Instant::now();
    let handles: Vec<_> = (0..AGENTS)
        .map(|n| {
            let launcher = launcher.clone();
            std::thread::spawn(move || {
                let agent = format!("agent-{n:02}");
                let mut ops = Vec::new();
                let mut run =
                    |kind: &'static str, id: &str, args: Vec<String>, note: Option<String>| {
                        let mut full = args;
                        full.extend(strings(&["--as", &agent]));
                        let r = launcher.run(&full);
                        ops.push(Op {
                            agent: agent.clone(),
                            kind,
                            id: id.to_string(),
                            note,
                            code: r.code,
                            stderr: r.stderr.clone(),
                        });
                        r
                    };
                for round in 0..rounds {
                    let claim = run("claim", "", strings(&["claim", "--next", "--json"]), None);
                    if claim.code != 0 {
                        break;
                    }
                    let id = claim.json()["task"]["id"].as_str().unwrap().to_string();
                    let own = format!("note-{agent}-r{round}-own");
                    run(
                        "note",
                        &id,
                        strings(&["note", &id, &own]),
                        Some(own.clone()),
                    );
                    // A note on somebody else's task, held or not: notes need no claim.
                    let other = format!("L-{:04}", (n * 7919 + round * 131) % LOAD_TASKS);
                    let text = format!("note-{agent}-r{round}-other");
                    run(
                        "note",
                        &other,
                        strings(&["note", &other, &text]),
                        Some(text.clone()),
                    );
                    let set = [
                        format!("priority={}", round % 5),
                        format!("labels=by-{agent}"),
                    ];
                    run(
                        "set",
                        &id,
                        [strings(&["set", &id]), set.to_vec()].concat(),
                        None,
                    );
                    if (n + round) % 2 == 0 {
                        run("done", &id, strings(&["done", &id]), None);
                    } else {
                        let reason = format!("round {round} over");
                        run(
                            "unclaim",
                            &id,
                            strings(&["unclaim", &id, "--reason", &reason]),
                            None,
                        );
                    }
                }
                ops
            })
        })
        .collect();
    let ops: Vec<Op> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    eprintln!(
        "contention: {AGENTS} agents, {rounds} rounds, {} processes over {LOAD_TASKS} tasks in {:?}",
        ops.len(),
        started.elapsed()
    );

    // Every command succeeded: a claim held by two would make one holder's done/unclaim
    // fail with exit 3.
    for op in &ops {
        assert_eq!(
            op.code, 0,
            "{} {} {}: {}",
            op.agent, op.kind, op.id, op.stderr
        );
    }
    assert_eq!(ops.len(), AGENTS * rounds * 5, "no agent ran dry");

    // The log, in lock order, shows each claim exclusive: claimed only when free, released
    // only by its holder. Exactly one line per successful transition.
    let log = events(&repo);
    let transitions = ops
        .iter()
        .filter(|o| matches!(o.kind, "claim" | "done" | "unclaim"))
        .count();
    assert_eq!(log.len(), transitions, "one event per transition");
    let mut holder: BTreeMap<String, String> = BTreeMap::new();
    let mut claims_logged: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in &log {
        let task = e["task"].as_str().unwrap().to_string();
        let actor = e["actor"].as_str().unwrap().to_string();
        match (e["from"].as_str(), e["to"].as_str()) {
            (Some("open"), Some("in_progress")) => {
                if let Some(other) = holder.insert(task.clone(), actor.clone()) {
                    panic!("{task} claimed by {actor} while {other} held it");
                }
                *claims_logged.entry((actor, task)).or_default() += 1;
            }
            (Some("in_progress"), Some("done" | "open")) => {
                let was = holder.remove(&task);
                assert_eq!(was.as_deref(), Some(actor.as_str()), "{e}");
            }
            _ => panic!("unexpected event {e}"),
        }
    }
    assert!(holder.is_empty(), "claims left open: {holder:?}");
    let mut claims_run: BTreeMap<(String, String), usize> = BTreeMap::new();
    for op in ops
        .iter()
        .filter(|o| o.kind == "done" || o.kind == "unclaim")
    {
        *claims_run
            .entry((op.agent.clone(), op.id.clone()))
            .or_default() += 1;
    }
    assert_eq!(
        claims_logged, claims_run,
        "each claim logged once, by its agent"
    );

    // Every note is in its task exactly once.
    let files = md_files(&repo.path(".tasks"));
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (rel, bytes) in &files {
        for word in String::from_utf8_lossy(bytes).split_whitespace() {
            if word.starts_with("note-agent-") {
                found.entry(word.to_string()).or_default().push(rel.clone());
            }
        }
    }
    let notes: Vec<&Op> = ops.iter().filter(|o| o.note.is_some()).collect();
    assert_eq!(
        found.len(),
        notes.len(),
        "every note written, none invented"
    );
    for op in notes {
        let text = op.note.as_ref().unwrap();
        let want = format!("load/{}.md", op.id);
        assert_eq!(found.get(text), Some(&vec![want]), "{text}");
    }

    // Every file parses, through the binary and directly, and the states add up.
    let list = repo.tasks(&["list", "--all", "--json"]).ok();
    assert!(list.stderr.is_empty(), "{}", list.stderr);
    assert_eq!(list.json()["tasks"].as_array().unwrap().len(), LOAD_TASKS);
    let parsed = parse_all(&repo.path(".tasks"));
    assert_eq!(parsed.len(), LOAD_TASKS);
    let done: BTreeSet<&str> = ops
        .iter()
        .filter(|o| o.kind == "done")
        .map(|o| o.id.as_str())
        .collect();
    for (id, task) in &parsed {
        let want = if done.contains(id.as_str()) {
            "done"
        } else {
            "open"
        };
        assert_eq!(task.status.as_str(), want, "{id}");
        assert!(task.claimed_by().is_none(), "{id}");
    }
    assert!(temp_files(&repo).is_empty(), "{:?}", temp_files(&repo));
    assert!(lock_is_free(&repo));
}

// ---------------------------------------------------------------------------------------------
// A lock holder frozen with SIGSTOP.

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig} {pid}");
}

/// The state letter of a process in /proc (`T` when stopped).
fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The name in parentheses may hold spaces: the state follows the last `)`.
    stat.rsplit(')')
        .next()
        .unwrap()
        .trim_start()
        .chars()
        .next()
        .unwrap()
}

/// Polls `what` until it holds (for an event another process brings about), failing after
/// 30 s. Never a guess at how long something takes.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_lock_holder_stopped_with_sigstop_times_others_out_and_resumes_on_sigcont() {
    let repo = Repo::new();
    for id in ["S-1", "S-2", "S-3"] {
        repo.tasks(&["new", id, "--id", id]).ok();
    }
    repo.tasks(&["claim", "S-1", "--as", "holder"]).ok();

    // A real `tasks` process that holds the lock while it waits on something we control:
    // `heartbeat S-1` renews the lease under the lock, and reads the lease file first. Made a
    // named pipe, the lease file blocks that read until we write to it.
    let lease = repo.state_dir().join("leases").join("S-1.json");
    let saved = std::fs::read(&lease).unwrap();
    std::fs::remove_file(&lease).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&lease)
            .status()
            .unwrap()
            .success()
    );
    let mut holder = repo
        .command_in(&repo.root)
        .args(["heartbeat", "S-1", "--as", "holder", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = holder.id();
    wait_until("the heartbeat holds the lock", || {
        assert!(
            holder.try_wait().unwrap().is_none(),
            "heartbeat ended early"
        );
        !lock_is_free(&repo)
    });
    signal(pid, "-STOP");
    wait_until("the heartbeat is stopped", || proc_state(pid) == 'T');

    // Frozen holder: writers wait out their timeout, exit 5, name the lock, write nothing.
    let lock = repo.state_dir().join("lock");
    let before = md_files(&repo.path(".tasks"));
    let events_before = std::fs::read(repo.state_dir().join("events.jsonl")).unwrap();
    let short = Launcher::new(&repo, &[("TASKS_LOCK_TIMEOUT", "1")]);
    let writers: Vec<Vec<String>> = vec![
        strings(&["claim", "S-2", "--as", "w1"]),
        strings(&["claim", "--next", "--as", "w2", "--json"]),
        strings(&["note", "S-3", "waiting", "--as", "w3"]),
        strings(&["set", "S-3", "priority=0", "--as", "w4"]),
        strings(&["new", "Never", "--id", "S-4"]),
    ];
    let started = Instant::now();
    let children: Vec<(Vec<String>, Child)> = writers
        .iter()
        .map(|args| {
            let child = short
                .command(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (args.clone(), child)
        })
        .collect();
    for (args, child) in children {
        let run = Run::from_output(child.wait_with_output().unwrap());
        assert_eq!(run.code, 5, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains(&format!(
                "timed out after 1.0s waiting for the lock on {}",
                lock.display()
            )),
            "{args:?}: {}",
            run.stderr
        );
        if args.contains(&"--json".to_string()) {
            assert_eq!(run.json()["error"]["code"], "lock_timeout");
        }
    }
    assert!(started.elapsed() >= Duration::from_secs(1));
    // Readers take no lock.
    let list = repo.tasks(&["list", "--json"]).ok();
    assert_eq!(list.json()["tasks"].as_array().unwrap().len(), 3);
    assert_eq!(md_files(&repo.path(".tasks")), before, "nothing written");
    assert_eq!(
        std::fs::read(repo.state_dir().join("events.jsonl")).unwrap(),
        events_before
    );
    assert_eq!(proc_state(pid), 'T', "still stopped");
    assert!(!lock_is_free(&repo), "still held by the stopped process");

    // SIGCONT, then the lease it waits for: it finishes, and everybody else gets through.
    signal(pid, "-CONT");
    std::fs::write(&lease, &saved).unwrap();
    let out = holder.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let renewed: Value = serde_json::from_slice(&std::fs::read(&lease).unwrap()).unwrap();
    assert_eq!(renewed["holder"], "holder");
    for args in &writers {
        let run = short.run(args);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
    }
    let shown = repo.show("S-3");
    assert_eq!(shown["priority"], 0);
    assert!(repo.task_file("S-3").contains(": waiting\n"));
    assert_eq!(repo.show("S-2")["claimed_by"], "w1");
    assert!(lock_is_free(&repo));
}

// ---------------------------------------------------------------------------------------------
// Writers killed with SIGKILL at random moments.

const CRASH_TASKS: usize = 24;
const CRASH_PARALLEL: usize = 8;
const NOW: &str = "2026-03-01T12:00:00Z";

/// What a killed writer may leave: its target's old bytes (none for a new file) or the new
/// bytes its twin wrote running to completion.
struct Expect {
    rel: String,
    old: Option<Vec<u8>>,
    new: Option<Vec<u8>>,
    code: i32,
}

/// A writer command for round-write `n`, aimed at task `target`.
fn writer(rng: &mut Rng, n: usize, target: &str) -> (String, Vec<String>) {
    let agent = format!("agent-{}", rng.below(3));
    let text = format!("write {n}");
    let (id, mut args) = match rng.below(5) {
        0 => {
            let prio = format!("priority={}", n % 5);
            let title = format!("title={text}");
            (target.to_string(), strings(&["set", target, &title, &prio]))
        }
        1 => (target.to_string(), strings(&["note", target, &text])),
        2 => (target.to_string(), strings(&["claim", target])),
        3 => (
            target.to_string(),
            strings(&["unclaim", target, "--reason", &text]),
        ),
        _ => {
            let id = format!("N-{n:05}");
            (id.clone(), strings(&["new", &text, "--id", &id]))
        }
    };
    args.extend(strings(&["--as", &agent]));
    (id, args)
}

fn crash_repo() -> Repo {
    let repo = Repo::new();
    for i in 0..CRASH_TASKS {
        repo.write(
            &format!(".tasks/K-{i:02}.md"),
            format!("---\nid: K-{i:02}\ntitle: crash {i}\n---\nBody {i}.\n"),
        );
    }
    repo
}

#[test]
fn writers_killed_at_random_moments_leave_every_file_old_or_new() {
    let rounds = if stress() { 500 } else { 50 };
    let mut rng = Rng::from_env("crash");
    let victim = crash_repo();
    // The twin runs the same commands, with the same clock, to completion: its bytes are
    // what a finished write leaves.
    let twin = crash_repo();
    let env = [("TASKS_NOW", NOW), ("TASKS_LOCK_TIMEOUT", "60")];
    let (in_victim, in_twin) = (Launcher::new(&victim, &env), Launcher::new(&twin, &env));
    let tasks_dir = victim.path(".tasks");

    let (mut completed, mut killed, mut killed_old, mut killed_new) = (0, 0, 0, 0);
    for round in 0..rounds {
        // Distinct targets, so the twin's results do not depend on the order the writers
        // get the lock in.
        let mut targets: Vec<usize> = (0..CRASH_TASKS).collect();
        for i in 0..CRASH_PARALLEL {
            let j = i + rng.below((CRASH_TASKS - i) as u64) as usize;
            targets.swap(i, j);
        }
        let batch: Vec<(String, Vec<String>)> = targets[..CRASH_PARALLEL]
            .iter()
            .enumerate()
            .map(|(k, t)| writer(&mut rng, round * CRASH_PARALLEL + k, &format!("K-{t:02}")))
            .collect();

        // The twin starts from the victim's bytes and runs the batch to completion.
        let mut expect = Vec::new();
        for (id, _) in &batch {
            let rel = format!("{id}.md");
            let old = std::fs::read(tasks_dir.join(&rel)).ok();
            let twin_path = twin.path(".tasks").join(&rel);
            match &old {
                Some(bytes) => std::fs::write(&twin_path, bytes).unwrap(),
                None => assert!(!twin_path.exists()),
            }
            expect.push(Expect {
                rel,
                old,
                new: None,
                code: 0,
            });
        }
        let twin_started = Instant::now();
        let twin_children: Vec<Child> = batch
            .iter()
            .map(|(_, args)| {
                in_twin
                    .command(args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (e, mut child) in expect.iter_mut().zip(twin_children) {
            e.code = child.wait().unwrap().code().unwrap();
            e.new = std::fs::read(twin.path(".tasks").join(&e.rel)).ok();
        }
        let batch_time = twin_started.elapsed();

        // The victim runs the same batch, and each writer is killed at a random moment
        // within one and a half times what the batch took to finish.
        let untouched: BTreeMap<String, Vec<u8>> = md_files(&tasks_dir)
            .into_iter()
            .filter(|(rel, _)| !expect.iter().any(|e| &e.rel == rel))
            .collect();
        let started = Instant::now();
        let mut children: Vec<Child> = batch
            .iter()
            .map(|(_, args)| {
                in_victim
                    .command(args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let window = batch_time.as_micros() as u64 * 3 / 2 + 1;
        let mut kills: Vec<(Duration, usize)> = (0..children.len())
            .map(|i| (Duration::from_micros(rng.below(window)), i))
            .collect();
        kills.sort();
        for (at, i) in kills {
            if let Some(wait) = at.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
            // A writer that already finished is not running: killing it does nothing.
            let _ = children[i].kill();
        }
        for (e, child) in expect.iter().zip(children.iter_mut()) {
            let status = child.wait().unwrap();
            let now = std::fs::read(tasks_dir.join(&e.rel)).ok();
            let what = format!("round {round}, {}", e.rel);
            match status.code() {
                Some(code) => {
                    completed += 1;
                    assert_eq!(code, e.code, "{what}: the twin exited {}", e.code);
                    assert!(now == e.new, "{what}: finished, but not the twin's bytes");
                }
                None => {
                    assert_eq!(status.signal(), Some(9));
                    killed += 1;
                    if now == e.old {
                        killed_old += 1;
                    } else if now == e.new {
                        killed_new += 1;
                    } else {
                        panic!(
                            "{what}: torn by a kill:\n{}",
                            String::from_utf8_lossy(&now.unwrap_or_default())
                        );
                    }
                }
            }
        }
        let others: BTreeMap<String, Vec<u8>> = md_files(&tasks_dir)
            .into_iter()
            .filter(|(rel, _)| !expect.iter().any(|e| &e.rel == rel))
            .collect();
        assert_eq!(
            others, untouched,
            "round {round}: a file nobody wrote changed"
        );
    }
    let temps = temp_files(&victim);
    eprintln!(
        "crash: {} writes in {rounds} rounds: {completed} ran to the end, {killed} killed \
         ({killed_old} left the old file, {killed_new} the new one); {} temp files left",
        rounds * CRASH_PARALLEL,
        temps.len()
    );
    assert!(
        completed > 0 && killed > 0,
        "the kills came at every moment"
    );

    // Afterwards: every task file parses, through the binary and directly; no temp file is
    // read as a task, even one that holds a whole task.
    victim.write(
        ".tasks/.tasks-tmp-1-1-K-00.md",
        "---\nid: TMP-1\ntitle: a temp file\n---\n",
    );
    let on_disk = parse_all(&tasks_dir);
    let list = victim.tasks(&["list", "--all", "--json"]).ok();
    assert!(list.stderr.is_empty(), "{}", list.stderr);
    let listed: BTreeSet<String> = list.json()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, on_disk.keys().cloned().collect());
    assert!(!listed.contains("TMP-1"));
    let _ = events(&victim);

    // The lock was never left held: free at once, and a short timeout is enough.
    assert!(lock_is_free(&victim));
    let quick = Launcher::new(&victim, &[("TASKS_LOCK_TIMEOUT", "0.5")]);
    let run = quick.run(&strings(&[
        "note",
        "K-00",
        "after the crashes",
        "--as",
        "a",
    ]));
    assert_eq!(run.code, 0, "{run:?}");

    // `heartbeat --fix` removes the leftovers older than a minute, and only those.
    let fresh = victim.path(".tasks/.tasks-tmp-2-2-K-01.md");
    std::fs::write(&fresh, "partial").unwrap();
    let mut stale = temp_files(&victim);
    stale.retain(|p| p != &fresh);
    // Leases are written the same way, beside git: their leftovers go too.
    for planted in [
        victim.path(".tasks/.tasks-tmp-3-3-K-02.md"),
        victim.state_dir().join("leases/.tasks-tmp-4-4-K-03.json"),
    ] {
        std::fs::write(&planted, "partial").unwrap();
        stale.push(planted);
    }
    let two_minutes_ago = SystemTime::now() - Duration::from_secs(120);
    for p in &stale {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(two_minutes_ago)
            .unwrap();
    }
    let fix = victim.tasks(&["heartbeat", "--fix", "--as", "sweeper", "--json"]);
    assert!(matches!(fix.code, 0 | 7), "{fix:?}");
    let removed = fix.json()["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["fix"] == "removed_temp_file")
        .count();
    assert_eq!(removed, stale.len(), "{}", fix.stdout);
    assert_eq!(
        temp_files(&victim),
        vec![fresh],
        "only the fresh one is left"
    );
}
