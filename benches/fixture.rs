//! A deterministic generator of realistic task repositories, for the benchmark.
//!
//! Task `i` always gets the same id, title, status, owner, dependencies and ~1.5 KB body,
//! whatever the count, so runs at different sizes and on different machines compare.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// SplitMix64: small, fast and good enough to spread statuses and words.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

const WORDS: &[&str] = &[
    "queue",
    "pool",
    "acquire",
    "release",
    "lease",
    "worker",
    "retry",
    "timeout",
    "cache",
    "index",
    "schema",
    "migration",
    "endpoint",
    "handler",
    "request",
    "response",
    "token",
    "session",
    "parser",
    "config",
    "deploy",
    "build",
    "test",
    "flaky",
    "race",
    "lock",
    "shard",
    "replica",
    "backfill",
    "metric",
    "alert",
    "dashboard",
    "latency",
    "throughput",
    "memory",
    "leak",
    "panic",
    "error",
    "path",
    "file",
    "buffer",
    "stream",
    "batch",
    "job",
    "cron",
    "webhook",
    "client",
    "server",
    "module",
    "crate",
    "the",
    "a",
    "when",
    "after",
    "before",
    "with",
    "without",
    "under",
    "load",
    "slow",
    "fast",
    "again",
    "fails",
    "returns",
    "drops",
];

const OWNERS: &[&str] = &[
    "alice@example.com",
    "bob@example.com",
    "carol@example.com",
    "dave@example.com",
    "role:backend",
    "role:frontend",
    "role:infra",
];

const LABELS: &[&str] = &[
    "pool", "api", "db", "ui", "ci", "perf", "security", "docs", "tests", "infra",
];

const TYPES: &[&str] = &["task", "task", "task", "bug", "bug", "feature", "chore"];

/// The id of task `i`: `T-` and five base-36 digits, scattered so neighbours do not sort
/// together (as generated ids do not).
pub fn id(i: usize) -> String {
    // 7,919 is prime and does not divide 36^5, so this is a bijection below 36^5.
    const SPACE: u64 = 36u64.pow(5);
    let mut n = (i as u64 * 7_919 + 104_729) % SPACE;
    let mut digits = [b'0'; 5];
    for d in digits.iter_mut().rev() {
        *d = b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize];
        n /= 36;
    }
    format!("T-{}", String::from_utf8_lossy(&digits))
}

fn words(rng: &mut Rng, n: usize) -> String {
    let mut out = String::new();
    for k in 0..n {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    out
}

/// The status of task `i`: about 30% done, 10% in progress, 5% in review, 5% blocked,
/// 2% cancelled, the rest open.
pub fn status(i: usize) -> &'static str {
    match Rng::new(i as u64 ^ 0x5eed).below(100) {
        0..30 => "done",
        30..40 => "in_progress",
        40..45 => "in_review",
        45..50 => "blocked",
        50..52 => "cancelled",
        _ => "open",
    }
}

/// The whole file of task `i`.
pub fn task(i: usize) -> String {
    let mut rng = Rng::new(i as u64);
    let status = status(i);
    let mut s = String::with_capacity(2048);
    let title_words = 4 + rng.below(5) as usize;
    let title = words(&mut rng, title_words);
    let _ = writeln!(s, "---");
    let _ = writeln!(s, "id: {}", id(i));
    let _ = writeln!(s, "title: {title}");
    let _ = writeln!(s, "status: {status}");
    let _ = writeln!(s, "priority: {}", rng.below(5));
    let _ = writeln!(s, "type: {}", TYPES[rng.below(TYPES.len() as u64) as usize]);
    if rng.below(3) > 0 {
        let _ = writeln!(
            s,
            "owner: {}",
            OWNERS[rng.below(OWNERS.len() as u64) as usize]
        );
    }
    let a = LABELS[rng.below(LABELS.len() as u64) as usize];
    let b = LABELS[(rng.below(LABELS.len() as u64 - 1) as usize
        + 1
        + LABELS.iter().position(|l| *l == a).unwrap_or(0))
        % LABELS.len()];
    let _ = writeln!(s, "labels: [{a}, {b}]");
    // 0-2 dependencies, on earlier tasks (so there are no cycles).
    let deps = if i == 0 { 0 } else { rng.below(3) };
    if deps > 0 {
        let list: Vec<String> = (0..deps)
            .map(|_| id(rng.below(i as u64) as usize))
            .collect();
        let _ = writeln!(s, "depends_on: [{}]", list.join(", "));
    }
    let day = 1 + (i % 28);
    let _ = writeln!(s, "created_at: 2026-10-{day:02}T09:{:02}:00Z", i % 60);
    let _ = writeln!(s, "updated_at: 2026-11-{day:02}T10:{:02}:00Z", i % 60);
    match status {
        "in_progress" | "in_review" => {
            let agent = rng.below(20);
            let _ = writeln!(s, "claimed_by: agent-{agent}");
            let _ = writeln!(s, "claimed_at: 2026-11-{day:02}T10:{:02}:00Z", i % 60);
        }
        "done" => {
            let _ = writeln!(s, "outcome: completed");
            let _ = writeln!(s, "outcome_at: 2026-11-{day:02}T11:00:00Z");
            let _ = writeln!(s, "outcome_by: agent-{}", rng.below(20));
        }
        _ => {}
    }
    let _ = writeln!(s, "---");
    // About 1.5 KB of markdown: a description, a checklist, sometimes notes.
    let _ = writeln!(s, "{}.\n", capitalise(&words(&mut rng, 40)));
    let _ = writeln!(s, "{}.\n", capitalise(&words(&mut rng, 45)));
    let _ = writeln!(s, "## Acceptance\n");
    for _ in 0..4 {
        let _ = writeln!(s, "- [ ] {}", words(&mut rng, 8));
    }
    let _ = writeln!(s, "\n```text\n{}\n```\n", words(&mut rng, 12));
    let _ = writeln!(s, "## Notes\n");
    for n in 0..3 {
        let _ = writeln!(
            s,
            "- 2026-11-{day:02}T1{n}:00:00Z agent-{}: {}",
            rng.below(20),
            words(&mut rng, 12)
        );
    }
    s
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Writes `count` tasks, a config and a README into `root/.tasks/`.
pub fn write(root: &Path, count: usize) -> std::io::Result<u64> {
    let dir = root.join(".tasks");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("config.yaml"),
        "id_prefix: T\nroles:\n  backend: [alice@example.com, bob@example.com]\n  \
         frontend: [carol@example.com]\n  infra: [dave@example.com]\n",
    )?;
    std::fs::write(dir.join("README.md"), "# Tasks\n")?;
    let mut bytes = 0;
    for i in 0..count {
        let text = task(i);
        bytes += text.len() as u64;
        std::fs::File::create_new(dir.join(format!("{}.md", id(i))))?.write_all(text.as_bytes())?;
    }
    Ok(bytes)
}

/// Writes `count` open tasks with no dependencies: a queue for claimers to drain.
pub fn write_ready(root: &Path, count: usize) -> std::io::Result<u64> {
    let dir = root.join(".tasks");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("config.yaml"), "id_prefix: T\n")?;
    let mut bytes = 0;
    for i in 0..count {
        let text = format!(
            "---\nid: {}\ntitle: ready task {i}\nstatus: open\npriority: {}\n---\nSomething to do.\n",
            id(i),
            i % 5
        );
        bytes += text.len() as u64;
        std::fs::File::create_new(dir.join(format!("{}.md", id(i))))?.write_all(text.as_bytes())?;
    }
    Ok(bytes)
}
