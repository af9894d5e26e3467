//! Benchmark: how the scan-heavy commands compare with `grep` reading the same files.
//!
//! Run with `cargo bench --bench scan` (optionally `-- 20000` for a task count). It builds a
//! temporary git repository with N task files (each with a long body, which `list` and
//! `ready` should never read), then prints the median wall time of each command and its
//! ratio to the floor: `grep -r` over the same files, measured in the same run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 7;

fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    git(root, &["init", "-q"]);
    std::fs::create_dir_all(root.join(".tasks")).unwrap();
    let body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n".repeat(200);
    for i in 0..count {
        let deps = if i % 3 == 0 && i > 0 {
            format!("depends_on: [B-{:05}]\n", i - 1)
        } else {
            String::new()
        };
        let text = format!(
            "---\nid: B-{i:05}\ntitle: benchmark task {i}\nstatus: open\npriority: {}\nlabels: [bench]\n{deps}---\n{body}",
            i % 5
        );
        std::fs::write(root.join(".tasks").join(format!("B-{i:05}.md")), text).unwrap();
    }
    let bytes: u64 = std::fs::read_dir(root.join(".tasks"))
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{count} task files, {:.1} MiB in all, median of {RUNS} runs",
        bytes as f64 / 1048576.0
    );

    let floor = median(|| {
        run(
            root,
            "grep",
            &["-r", "-l", "--include=*.md", "^status:", ".tasks"],
        )
    });
    println!(
        "{:<44} {:>9.1} ms   (floor)",
        "grep -r over the same files",
        ms(floor)
    );
    let tasks = env!("CARGO_BIN_EXE_tasks");
    for args in [
        &["list", "--all"][..],
        &["ready"],
        &["ready", "--json"],
        &["blocked"],
        &["show", "B-02500"],
        &["heartbeat", "--fail-on", "never", "--as", "bench"],
    ] {
        let t = median(|| run(root, tasks, args));
        println!(
            "{:<44} {:>9.1} ms   {:>5.2}x floor",
            format!("tasks {}", args.join(" ")),
            ms(t),
            ratio(t, floor)
        );
    }
    // Claims write: each takes the lock, re-reads and rewrites one file, logs an event.
    let started = Instant::now();
    let claims = 50;
    for n in 0..claims {
        let status = Command::new(tasks)
            .current_dir(root)
            .args(["claim", "--next", "--as", &format!("bench-{n}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let per_claim = started.elapsed() / claims;
    println!(
        "{:<44} {:>9.1} ms   {:>5.2}x floor",
        "tasks claim --next (each)",
        ms(per_claim),
        ratio(per_claim, floor)
    );
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .current_dir(dir)
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new(program)
        .current_dir(dir)
        .args(args)
        .env("TASKS_AGENT", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let took = started.elapsed();
    assert!(status.success(), "{program} {args:?} failed");
    took
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    f(); // warm the page cache
    let mut times: Vec<Duration> = (0..RUNS).map(|_| f()).collect();
    times.sort();
    times[RUNS / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(t: Duration, floor: Duration) -> f64 {
    t.as_secs_f64() / floor.as_secs_f64()
}
