//! The `--json` contract (DESIGN §3, §10): every command's document decoded into structs that
//! deny unknown fields, so any change to the schema is a deliberate act that breaks a test.
//!
//! Time is pinned with `TASKS_NOW`, so every timestamp (and every lease expiry) is asserted
//! exactly. Each task document is also checked against its file: the JSON carries exactly the
//! file's frontmatter keys, in file order, plus `path`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::common::{Repo, Run};

const T0: &str = "2030-01-02T03:00:00Z";
const T1: &str = "2030-01-02T04:00:00Z";
const T2: &str = "2030-01-02T04:30:00Z";
const T3: &str = "2030-01-02T05:00:00Z";

// ---------------------------------------------------------------------------------------------
// The schema.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Open,
    InProgress,
    InReview,
    Blocked,
    Done,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Task,
    Bug,
    Feature,
    Chore,
    Epic,
    Placeholder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Completed,
    CompletedWithPr,
    NeedsReview,
    NeedsReviewFix,
    Blocked,
    Failed,
    Released,
    Expired,
}

/// TASK as the tool writes it: the keys `tasks new` and the lifecycle commands produce.
/// `extra` adds fields for documents that extend TASK (e.g. `blocked`).
macro_rules! task_struct {
    ($name:ident { $($extra:tt)* }) => {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct $name {
            id: String,
            title: String,
            status: Status,
            priority: u8,
            #[serde(rename = "type")]
            kind: Option<Kind>,
            owner: Option<String>,
            labels: Option<Vec<String>>,
            depends_on: Option<Vec<String>>,
            claimed_by: Option<String>,
            claimed_at: Option<String>,
            attempts: Option<u32>,
            max_attempts: Option<u32>,
            failed_agents: Option<Vec<String>>,
            outcome: Option<Outcome>,
            outcome_at: Option<String>,
            outcome_by: Option<String>,
            reason: Option<String>,
            pr_url: Option<String>,
            pr_number: Option<u64>,
            commit: Option<String>,
            created_at: String,
            updated_at: String,
            path: String,
            $($extra)*
        }
    };
}

task_struct!(Task {});
task_struct!(BlockedTask {
    blocked_by: Vec<BlockedBy>,
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockedBy {
    kind: String,
    id: Option<String>,
    status: Option<Status>,
    detail: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InitDoc {
    schema_version: u32,
    root: String,
    tasks_dir: String,
    state_dir: String,
    created: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OneDoc {
    schema_version: u32,
    task: Task,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListDoc<T> {
    schema_version: u32,
    tasks: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowDoc {
    schema_version: u32,
    task: Task,
    body: String,
    lease: Option<Lease>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Lease {
    task: String,
    holder: String,
    acquired_at: String,
    renewed_at: String,
    expires_at: String,
    pid: Option<u32>,
    host: String,
    live: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorDoc {
    schema_version: u32,
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorBody {
    code: String,
    message: String,
    hints: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Runs `tasks ARGS` with the clock pinned at `now`.
fn at(repo: &Repo, now: &str, args: &[&str]) -> Run {
    Run::from_output(
        repo.command_in(&repo.root)
            .env("TASKS_NOW", now)
            .args(args)
            .output()
            .unwrap(),
    )
}

#[track_caller]
fn decode<T: DeserializeOwned>(run: &Run) -> T {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout does not match the schema ({e}):\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        )
    })
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

/// The top-level keys of a task file's frontmatter, in file order.
fn frontmatter_keys(text: &str) -> Vec<String> {
    let mut lines = text.lines();
    assert_eq!(lines.next().map(str::trim_end), Some("---"), "{text}");
    lines
        .take_while(|l| l.trim_end() != "---")
        .filter(|l| !l.starts_with([' ', '\t', '#', '-']) && !l.trim().is_empty())
        .map(|l| l.split(':').next().unwrap().trim().to_string())
        .collect()
}

/// A TASK object carries exactly its file's frontmatter keys, in order, then `path`.
#[track_caller]
fn assert_task_matches_file(repo: &Repo, task: &Value) {
    let path = task["path"].as_str().expect("path is a string");
    let rel = std::path::Path::new(path)
        .strip_prefix(&repo.root)
        .unwrap_or_else(|_| panic!("path {path} is not under {}", repo.root.display()));
    let mut expected = frontmatter_keys(&repo.read(rel.to_str().unwrap()));
    expected.push("path".into());
    assert_eq!(
        keys(task),
        expected,
        "JSON keys differ from the file's keys"
    );
}

fn abs(repo: &Repo, rel: &str) -> String {
    repo.path(rel).display().to_string()
}

/// Decodes `{"schema_version":1,"task":TASK}` from a successful run and checks it against the
/// file; returns the task and its key order.
#[track_caller]
fn one(repo: &Repo, run: Run) -> (Task, Vec<String>) {
    let run = run.ok();
    let doc: OneDoc = decode(&run);
    assert_eq!(doc.schema_version, 1);
    let raw = run.json();
    assert_task_matches_file(repo, &raw["task"]);
    assert_eq!(
        doc.task.path,
        abs(repo, &format!(".tasks/{}.md", doc.task.id))
    );
    (doc.task, keys(&raw["task"]))
}

#[track_caller]
fn list_ids<T>(tasks: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    tasks.iter().map(|t| id(t).to_string()).collect()
}

#[track_caller]
fn list(repo: &Repo, args: &[&str]) -> Vec<Task> {
    let run = at(repo, T3, args).ok();
    let doc: ListDoc<Task> = decode(&run);
    assert_eq!(doc.schema_version, 1);
    for t in run.json()["tasks"].as_array().unwrap() {
        assert_task_matches_file(repo, t);
    }
    doc.tasks
}

#[track_caller]
fn show(repo: &Repo, now: &str, id: &str) -> ShowDoc {
    let run = at(repo, now, &["show", id, "--json"]).ok();
    let doc: ShowDoc = decode(&run);
    assert_eq!(doc.schema_version, 1);
    assert_task_matches_file(repo, &run.json()["task"]);
    doc
}

/// Decodes an error document and checks the exit code and the human message on stderr.
#[track_caller]
fn error(run: Run, code: i32, error_code: &str) -> ErrorBody {
    let run = run.expect(code);
    let doc: ErrorDoc = decode(&run);
    assert_eq!(doc.schema_version, 1);
    assert_eq!(doc.error.code, error_code, "stdout: {}", run.stdout);
    assert!(!doc.error.message.trim().is_empty());
    assert!(
        run.stderr.contains("rror"),
        "no human error on stderr: {}",
        run.stderr
    );
    doc.error
}

fn new_at(repo: &Repo, now: &str, args: &[&str]) -> Task {
    let mut full = vec!["new", "--json"];
    full.extend_from_slice(args);
    one(repo, at(repo, now, &full)).0
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

const BASE_KEYS: [&str; 6] = [
    "id",
    "title",
    "status",
    "priority",
    "created_at",
    "updated_at",
];

fn with(base: &[&str], more: &[&str]) -> Vec<String> {
    base.iter().chain(more).map(|k| k.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// init, new, list, show, ready, blocked.

#[test]
fn init_reports_what_it_created() {
    let repo = Repo::bare_git();
    let run = repo.tasks(&["init", "--json"]).ok();
    let doc: InitDoc = decode(&run);
    assert_eq!(doc.schema_version, 1);
    assert_eq!(doc.root, repo.root.display().to_string());
    assert_eq!(doc.tasks_dir, abs(&repo, ".tasks"));
    assert_eq!(doc.state_dir, repo.state_dir().display().to_string());
    assert_eq!(doc.created, s(&[".tasks/config.yaml", ".tasks/README.md"]));
    assert!(repo.path(".tasks/config.yaml").is_file());
    assert!(repo.path(".tasks/README.md").is_file());

    // Again: nothing is created, and the document says so.
    let doc: InitDoc = decode(&repo.tasks(&["init", "--json"]).ok());
    assert_eq!(doc.schema_version, 1);
    assert!(doc.created.is_empty(), "{doc:?}");
}

#[test]
fn new_minimal_and_full() {
    let repo = Repo::new();
    let (plain, plain_keys) = one(&repo, at(&repo, T0, &["new", "Plain task", "--json"]));
    assert_eq!(plain_keys, with(&BASE_KEYS, &["path"]));
    let suffix = plain.id.strip_prefix("T-").expect("default prefix T-");
    assert_eq!(suffix.len(), 4, "{}", plain.id);
    assert!(
        suffix
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    );
    assert_eq!(plain.title, "Plain task");
    assert_eq!(plain.status, Status::Open);
    assert_eq!(plain.priority, 2);
    assert_eq!(
        (plain.created_at.as_str(), plain.updated_at.as_str()),
        (T0, T0)
    );
    assert_eq!(plain.kind, None);

    let (full, full_keys) = one(
        &repo,
        at(
            &repo,
            T1,
            &[
                "new",
                "Full task",
                "--json",
                "--id",
                "F-1",
                "-p",
                "1",
                "-t",
                "bug",
                "--owner",
                "role:backend",
                "-l",
                "x",
                "-l",
                "y",
                "-d",
                &plain.id,
                "--body",
                "hello",
            ],
        ),
    );
    assert_eq!(
        full_keys,
        s(&[
            "id",
            "title",
            "status",
            "priority",
            "type",
            "owner",
            "labels",
            "depends_on",
            "created_at",
            "updated_at",
            "path"
        ])
    );
    assert_eq!(full.id, "F-1");
    assert_eq!(full.priority, 1);
    assert_eq!(full.kind, Some(Kind::Bug));
    assert_eq!(full.owner.as_deref(), Some("role:backend"));
    assert_eq!(full.labels, Some(s(&["x", "y"])));
    assert_eq!(full.depends_on, Some(vec![plain.id.clone()]));
    assert_eq!(full.created_at, T1);
    assert_eq!(full.path, abs(&repo, ".tasks/F-1.md"));
}

#[test]
fn new_canonicalises_the_owner() {
    let repo = Repo::new();
    repo.write(
        ".tasks/config.yaml",
        "identities: { dave.fowler: [dave, dave@example.com] }\n",
    );
    let t = new_at(&repo, T0, &["Owned", "--owner", "Dave@Example.com"]);
    assert_eq!(t.owner.as_deref(), Some("dave.fowler"));
}

#[test]
fn list_ready_blocked_and_show() {
    let repo = Repo::new();
    let a = new_at(&repo, T0, &["A", "--id", "A-1"]);
    new_at(&repo, T0, &["B", "--id", "B-1", "-p", "1", "-d", &a.id]);
    new_at(
        &repo,
        T0,
        &["C", "--id", "C-1", "-p", "0", "-t", "placeholder"],
    );
    new_at(&repo, T0, &["D", "--id", "D-1", "-p", "3"]);
    new_at(
        &repo,
        T0,
        &["E", "--id", "E-1", "-p", "4", "--body", "Why.\n\nMore."],
    );
    one(
        &repo,
        at(
            &repo,
            T1,
            &["cancel", "D-1", "--reason", "dropped", "--json"],
        ),
    );
    one(
        &repo,
        at(
            &repo,
            T1,
            &["block", "E-1", "--reason", "needs infra", "--json"],
        ),
    );

    // list: unfinished tasks in ready order; --all adds the cancelled one.
    let tasks = list(&repo, &["list", "--json"]);
    assert_eq!(
        list_ids(&tasks, |t| &t.id),
        s(&["C-1", "B-1", "A-1", "E-1"])
    );
    let c = &tasks[0];
    assert_eq!(
        (c.kind, c.status, c.priority),
        (Some(Kind::Placeholder), Status::Open, 0)
    );
    assert_eq!(tasks[3].status, Status::Blocked);
    assert_eq!(tasks[3].reason.as_deref(), Some("needs infra"));
    let all = list(&repo, &["list", "--all", "--json"]);
    assert_eq!(
        list_ids(&all, |t| &t.id),
        s(&["C-1", "B-1", "A-1", "D-1", "E-1"])
    );
    assert_eq!(all[3].status, Status::Cancelled);
    let only_blocked = list(&repo, &["list", "--status", "blocked", "--json"]);
    assert_eq!(list_ids(&only_blocked, |t| &t.id), s(&["E-1"]));

    // ready: only A (B waits for A, C is a placeholder, D is cancelled, E is blocked).
    let ready = list(&repo, &["ready", "--json", "--as", "alice"]);
    assert_eq!(list_ids(&ready, |t| &t.id), s(&["A-1"]));
    assert_eq!(ready[0].path, abs(&repo, ".tasks/A-1.md"));
    // Global flags work before the subcommand too.
    let ready_again = list(&repo, &["--json", "ready", "--as", "alice"]);
    assert_eq!(list_ids(&ready_again, |t| &t.id), s(&["A-1"]));

    // blocked: B by its dependency, E by its status, each with `blocked_by`.
    let run = at(&repo, T3, &["blocked", "--json"]).ok();
    let doc: ListDoc<BlockedTask> = decode(&run);
    assert_eq!(doc.schema_version, 1);
    assert_eq!(list_ids(&doc.tasks, |t| &t.id), s(&["B-1", "E-1"]));
    let b = &doc.tasks[0];
    assert_eq!(b.blocked_by.len(), 1, "{b:?}");
    assert_eq!(b.blocked_by[0].kind, "dependency");
    assert_eq!(b.blocked_by[0].id.as_deref(), Some("A-1"));
    assert_eq!(b.blocked_by[0].status, Some(Status::Open));
    assert!(b.blocked_by[0].detail.contains("A-1"), "{b:?}");
    let e = &doc.tasks[1];
    assert_eq!(e.status, Status::Blocked);
    assert_eq!(e.blocked_by.len(), 1, "{e:?}");
    assert_eq!(e.blocked_by[0].kind, "status");
    assert_eq!(e.blocked_by[0].id, None);
    assert_eq!(e.blocked_by[0].detail, "needs infra");
    for t in run.json()["tasks"].as_array().unwrap() {
        let mut k = keys(t);
        assert_eq!(k.pop().as_deref(), Some("blocked_by"));
        let mut file =
            frontmatter_keys(&repo.read(&format!(".tasks/{}.md", t["id"].as_str().unwrap())));
        file.push("path".into());
        assert_eq!(k, file);
    }

    // show: the task, its body and no lease.
    let shown = show(&repo, T3, "E-1");
    assert_eq!(shown.task.id, "E-1");
    assert_eq!(shown.task.status, Status::Blocked);
    assert_eq!(shown.body, "Why.\n\nMore.\n");
    assert!(shown.lease.is_none());
    // A unique prefix is accepted wherever an id is.
    assert_eq!(show(&repo, T3, "A").task.id, "A-1");
}

#[test]
fn aliases_read_canonical_and_unknown_keys_pass_through() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Imported {
        id: String,
        title: String,
        status: Status,
        claimed_by: Option<String>,
        estimate: u32,
        meta: Meta,
        path: String,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Meta {
        team: String,
    }

    let repo = Repo::new();
    repo.write(
        ".tasks/I-1.md",
        "---\nid: I-1\ntitle: todo alias\nstatus: todo\nestimate: 3\nmeta: {team: core}\n---\n",
    );
    repo.write(
        ".tasks/I-2.md",
        "---\nid: I-2\ntitle: doing alias\nstatus: in-progress\nclaimed_by: zed\nestimate: 5\nmeta: {team: ops}\n---\n",
    );
    let run = repo.tasks(&["list", "--json"]).ok();
    let doc: ListDoc<Imported> = decode(&run);
    assert_eq!(doc.schema_version, 1);
    let mut tasks = doc.tasks;
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(tasks.len(), 2);
    assert_eq!((tasks[0].status, tasks[0].estimate), (Status::Open, 3));
    assert_eq!(tasks[0].meta.team, "core");
    assert_eq!(tasks[0].title, "todo alias");
    assert_eq!(tasks[0].path, abs(&repo, ".tasks/I-1.md"));
    assert_eq!(tasks[1].status, Status::InProgress);
    assert_eq!(tasks[1].claimed_by.as_deref(), Some("zed"));
    assert_eq!(tasks[1].meta.team, "ops");
    for t in run.json()["tasks"].as_array().unwrap() {
        assert_task_matches_file(&repo, t);
    }
    // Reading never rewrote the alias.
    assert!(repo.read(".tasks/I-1.md").contains("status: todo\n"));
}

// ---------------------------------------------------------------------------------------------
// claim, heartbeat, note.

#[test]
fn claim_by_id_and_next() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    new_at(&repo, T0, &["B", "--id", "B-1", "-p", "1"]);

    // --next takes the highest priority first.
    let (b, b_keys) = one(
        &repo,
        at(&repo, T1, &["claim", "--next", "--as", "alice", "--json"]),
    );
    assert_eq!(b.id, "B-1");
    assert_eq!(b.status, Status::InProgress);
    assert_eq!(b.claimed_by.as_deref(), Some("alice"));
    assert_eq!(b.claimed_at.as_deref(), Some(T1));
    assert_eq!(b.updated_at, T1);
    assert_eq!(b.created_at, T0);
    assert_eq!(
        b_keys,
        with(&BASE_KEYS, &["claimed_by", "claimed_at", "path"])
    );

    // By id, with a pid and a lease length.
    let (a, _) = one(
        &repo,
        at(
            &repo,
            T1,
            &[
                "claim", "A-1", "--as", "bob", "--pid", "4242", "--lease", "30m", "--json",
            ],
        ),
    );
    assert_eq!((a.id.as_str(), a.status), ("A-1", Status::InProgress));
    assert_eq!(a.claimed_by.as_deref(), Some("bob"));

    let shown = show(&repo, T1, "A-1");
    let lease = shown.lease.expect("a claimed task shows its lease");
    assert_eq!(lease.task, "A-1");
    assert_eq!(lease.holder, "bob");
    assert_eq!(lease.acquired_at, T1);
    assert_eq!(lease.renewed_at, T1);
    assert_eq!(lease.expires_at, "2030-01-02T04:30:00Z");
    assert_eq!(lease.pid, Some(4242));
    assert!(!lease.host.is_empty());
    assert!(lease.live);
    // The default lease is one hour.
    let lease_b = show(&repo, T1, "B-1").lease.unwrap();
    assert_eq!(
        (lease_b.holder.as_str(), lease_b.expires_at.as_str()),
        ("alice", "2030-01-02T05:00:00Z")
    );
    assert_eq!(lease_b.pid, None);
    // Past its expiry the lease is reported, but not live.
    assert!(
        !show(&repo, "2030-01-02T06:00:00Z", "A-1")
            .lease
            .unwrap()
            .live
    );

    // Claiming again as the holder succeeds, leaves the file alone and renews the lease.
    let before = repo.read_bytes(".tasks/A-1.md");
    let (again, _) = one(
        &repo,
        at(&repo, T2, &["claim", "A-1", "--as", "bob", "--json"]),
    );
    assert_eq!(again.claimed_at.as_deref(), Some(T1));
    assert_eq!(again.updated_at, T1);
    assert_eq!(repo.read_bytes(".tasks/A-1.md"), before);
    let lease = show(&repo, T2, "A-1").lease.unwrap();
    assert_eq!(lease.acquired_at, T1);
    assert_eq!(lease.renewed_at, T2);
    assert_eq!(
        lease.expires_at, "2030-01-02T05:00:00Z",
        "renewal keeps the 30m length"
    );
    assert_eq!(lease.pid, Some(4242));

    // Identities are canonicalised before they are written.
    repo.write(
        ".tasks/config.yaml",
        "identities: { dave.fowler: [dave, davefowler] }\n",
    );
    new_at(&repo, T0, &["C", "--id", "C-1"]);
    let (c, _) = one(
        &repo,
        at(&repo, T1, &["claim", "C-1", "--as", "DAVE", "--json"]),
    );
    assert_eq!(c.claimed_by.as_deref(), Some("dave.fowler"));
}

#[test]
fn heartbeat_renews_the_lease_without_touching_the_file() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    one(
        &repo,
        at(
            &repo,
            T1,
            &["claim", "A-1", "--as", "alice", "--lease", "2h", "--json"],
        ),
    );
    let before = repo.read_bytes(".tasks/A-1.md");

    let (t, _) = one(
        &repo,
        at(&repo, T2, &["heartbeat", "A-1", "--as", "alice", "--json"]),
    );
    assert_eq!(t.status, Status::InProgress);
    assert_eq!(t.claimed_by.as_deref(), Some("alice"));
    assert_eq!(t.claimed_at.as_deref(), Some(T1));
    assert_eq!(
        t.updated_at, T1,
        "liveness is not written to the tracked file"
    );
    assert_eq!(repo.read_bytes(".tasks/A-1.md"), before);
    let lease = show(&repo, T2, "A-1").lease.unwrap();
    assert_eq!(
        (lease.renewed_at.as_str(), lease.expires_at.as_str()),
        (T2, "2030-01-02T06:30:00Z")
    );

    // Only the claimant renews.
    let e = error(
        at(&repo, T2, &["heartbeat", "A-1", "--as", "bob", "--json"]),
        3,
        "held_by_other",
    );
    assert!(e.message.contains("alice"), "{e:?}");
    // An unclaimed task has no lease to renew.
    new_at(&repo, T0, &["B", "--id", "B-1"]);
    error(
        at(&repo, T2, &["heartbeat", "B-1", "--as", "alice", "--json"]),
        3,
        "not_claimed",
    );
}

#[test]
fn note_appends_and_reports_the_task() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1", "--body", "Intro."]);
    one(
        &repo,
        at(&repo, T1, &["claim", "A-1", "--as", "alice", "--json"]),
    );
    let (t, k) = one(
        &repo,
        at(
            &repo,
            T2,
            &["note", "A-1", "reproduced it", "--as", "alice", "--json"],
        ),
    );
    assert_eq!(t.status, Status::InProgress);
    assert_eq!(t.updated_at, T2);
    assert_eq!(k, with(&BASE_KEYS, &["claimed_by", "claimed_at", "path"]));
    let text = repo.read(".tasks/A-1.md");
    assert!(
        text.contains(&format!("- {T2} alice: reproduced it")),
        "{text}"
    );
    assert!(show(&repo, T2, "A-1").body.contains("reproduced it"));
}

// ---------------------------------------------------------------------------------------------
// done, block, unblock, fail, unclaim, reopen, cancel.

#[test]
fn done_with_pr_records_the_evidence_and_ends_the_claim() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    one(
        &repo,
        at(&repo, T1, &["claim", "A-1", "--as", "alice", "--json"]),
    );
    let (t, k) = one(
        &repo,
        at(
            &repo,
            T2,
            &[
                "done",
                "A-1",
                "--as",
                "alice",
                "--pr",
                "https://github.com/o/r/pull/7",
                "--commit",
                "abc1234",
                "--json",
            ],
        ),
    );
    assert_eq!(t.status, Status::Done);
    assert_eq!(t.outcome, Some(Outcome::CompletedWithPr));
    assert_eq!(t.pr_url.as_deref(), Some("https://github.com/o/r/pull/7"));
    assert_eq!(t.pr_number, Some(7));
    assert_eq!(t.commit.as_deref(), Some("abc1234"));
    assert_eq!(t.outcome_at.as_deref(), Some(T2));
    assert_eq!(t.outcome_by.as_deref(), Some("alice"));
    assert_eq!(t.updated_at, T2);
    assert_eq!(t.claimed_by, None);
    assert_eq!(
        k,
        with(
            &BASE_KEYS,
            &[
                "pr_url",
                "pr_number",
                "commit",
                "outcome",
                "outcome_at",
                "outcome_by",
                "path"
            ]
        )
    );
    assert!(
        show(&repo, T2, "A-1").lease.is_none(),
        "done releases the lease"
    );
    // Done is finished: not listed by default, not ready.
    assert!(list(&repo, &["list", "--json"]).is_empty());
    assert!(list(&repo, &["ready", "--json"]).is_empty());

    // Without a PR: outcome completed, no evidence keys.
    new_at(&repo, T0, &["B", "--id", "B-1"]);
    one(
        &repo,
        at(&repo, T1, &["claim", "B-1", "--as", "bob", "--json"]),
    );
    let (t, k) = one(
        &repo,
        at(&repo, T2, &["done", "B-1", "--as", "bob", "--json"]),
    );
    assert_eq!(
        (t.status, t.outcome),
        (Status::Done, Some(Outcome::Completed))
    );
    assert_eq!(t.pr_number, None);
    assert_eq!(
        k,
        with(&BASE_KEYS, &["outcome", "outcome_at", "outcome_by", "path"])
    );

    // Only the holder finishes; a finished task cannot be finished again.
    new_at(&repo, T0, &["C", "--id", "C-1"]);
    one(
        &repo,
        at(&repo, T1, &["claim", "C-1", "--as", "carol", "--json"]),
    );
    error(
        at(&repo, T2, &["done", "C-1", "--as", "bob", "--json"]),
        3,
        "held_by_other",
    );
    let e = error(
        at(&repo, T2, &["done", "A-1", "--as", "alice", "--json"]),
        3,
        "transition_not_allowed",
    );
    assert!(
        e.hints
            .unwrap_or_default()
            .iter()
            .any(|h| h.contains("reopen"))
    );
}

#[test]
fn review_required_goes_to_in_review_and_reopen_asks_for_a_fix() {
    let repo = Repo::new();
    repo.write(".tasks/config.yaml", "review: required\n");
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    one(
        &repo,
        at(&repo, T1, &["claim", "A-1", "--as", "alice", "--json"]),
    );
    let (t, k) = one(
        &repo,
        at(&repo, T2, &["done", "A-1", "--as", "alice", "--json"]),
    );
    assert_eq!(t.status, Status::InReview);
    assert_eq!(t.outcome, Some(Outcome::NeedsReview));
    assert_eq!(
        t.claimed_by.as_deref(),
        Some("alice"),
        "the claim lives on in review"
    );
    assert_eq!(
        k,
        with(
            &BASE_KEYS,
            &[
                "claimed_by",
                "claimed_at",
                "outcome",
                "outcome_at",
                "outcome_by",
                "path"
            ]
        )
    );

    let (t, k) = one(
        &repo,
        at(
            &repo,
            T3,
            &[
                "reopen",
                "A-1",
                "--reason",
                "missing tests",
                "--as",
                "rita",
                "--json",
            ],
        ),
    );
    assert_eq!(t.status, Status::Open);
    assert_eq!(t.outcome, Some(Outcome::NeedsReviewFix));
    assert_eq!(t.outcome_by.as_deref(), Some("rita"));
    assert_eq!(t.outcome_at.as_deref(), Some(T3));
    assert_eq!(t.reason.as_deref(), Some("missing tests"));
    assert_eq!(t.claimed_by, None);
    assert_eq!(
        k,
        with(
            &BASE_KEYS,
            &["outcome", "outcome_at", "outcome_by", "reason", "path"]
        )
    );
}

#[test]
fn block_and_unblock() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    one(
        &repo,
        at(&repo, T1, &["claim", "A-1", "--as", "alice", "--json"]),
    );
    let (t, k) = one(
        &repo,
        at(
            &repo,
            T2,
            &[
                "block",
                "A-1",
                "--reason",
                "waiting on infra",
                "--as",
                "alice",
                "--json",
            ],
        ),
    );
    assert_eq!(t.status, Status::Blocked);
    assert_eq!(t.outcome, Some(Outcome::Blocked));
    assert_eq!(t.reason.as_deref(), Some("waiting on infra"));
    assert_eq!(t.outcome_by.as_deref(), Some("alice"));
    assert_eq!(t.claimed_by, None);
    assert_eq!(
        k,
        with(
            &BASE_KEYS,
            &["outcome", "outcome_at", "outcome_by", "reason", "path"]
        )
    );
    assert!(show(&repo, T2, "A-1").lease.is_none());
    assert!(list(&repo, &["ready", "--json"]).is_empty());

    let (t, _) = one(
        &repo,
        at(&repo, T3, &["unblock", "A-1", "--as", "bob", "--json"]),
    );
    assert_eq!(t.status, Status::Open);
    assert_eq!(t.updated_at, T3);
    assert_eq!(t.claimed_by, None);
    assert_eq!(
        t.outcome,
        Some(Outcome::Blocked),
        "the last claim's outcome stays on record"
    );
    assert_eq!(
        list_ids(&list(&repo, &["ready", "--json"]), |t| &t.id),
        s(&["A-1"])
    );

    let e = error(
        at(&repo, T3, &["unblock", "A-1", "--json"]),
        3,
        "transition_not_allowed",
    );
    assert!(e.message.contains("A-1"));
}

#[test]
fn fail_counts_attempts_until_failed_and_reopen_resets_them() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    let (t, _) = one(
        &repo,
        at(&repo, T0, &["set", "A-1", "max_attempts=2", "--json"]),
    );
    assert_eq!(t.max_attempts, Some(2));

    one(
        &repo,
        at(&repo, T1, &["claim", "A-1", "--as", "dave", "--json"]),
    );
    let (t, k) = one(
        &repo,
        at(
            &repo,
            T2,
            &[
                "fail",
                "A-1",
                "--reason",
                "tests broke",
                "--as",
                "dave",
                "--json",
            ],
        ),
    );
    assert_eq!(t.status, Status::Open);
    assert_eq!(t.attempts, Some(1));
    assert_eq!(t.failed_agents, Some(s(&["dave"])));
    assert_eq!(t.outcome, Some(Outcome::Failed));
    assert_eq!(t.reason.as_deref(), Some("tests broke"));
    assert_eq!(t.outcome_by.as_deref(), Some("dave"));
    assert_eq!(t.claimed_by, None);
    assert_eq!(
        k,
        with(
            &BASE_KEYS,
            &[
                "max_attempts",
                "attempts",
                "failed_agents",
                "outcome",
                "outcome_at",
                "outcome_by",
                "reason",
                "path"
            ]
        )
    );

    // dave failed it: nothing is ready for him, and a claim by id says why.
    let e = error(
        at(&repo, T2, &["claim", "--next", "--as", "dave", "--json"]),
        4,
        "nothing_ready",
    );
    assert!(e.message.contains("dave"), "{e:?}");
    error(
        at(&repo, T2, &["claim", "A-1", "--as", "dave", "--json"]),
        3,
        "not_ready",
    );

    one(
        &repo,
        at(&repo, T2, &["claim", "--next", "--as", "erin", "--json"]),
    );
    let (t, _) = one(
        &repo,
        at(
            &repo,
            T3,
            &["fail", "A-1", "--reason", "again", "--as", "erin", "--json"],
        ),
    );
    assert_eq!(t.status, Status::Failed);
    assert_eq!(t.attempts, Some(2));
    assert_eq!(t.failed_agents, Some(s(&["dave", "erin"])));
    assert_eq!(t.outcome_by.as_deref(), Some("erin"));

    let (t, _) = one(
        &repo,
        at(
            &repo,
            T3,
            &["reopen", "A-1", "--reason", "flake fixed", "--json"],
        ),
    );
    assert_eq!(t.status, Status::Open);
    assert_eq!(t.attempts, Some(0));
    assert_eq!(t.reason.as_deref(), Some("flake fixed"));
    assert_eq!(t.failed_agents, Some(s(&["dave", "erin"])));
}

#[test]
fn unclaim_by_holder_and_by_force() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    one(
        &repo,
        at(&repo, T1, &["claim", "A-1", "--as", "alice", "--json"]),
    );
    let (t, k) = one(
        &repo,
        at(
            &repo,
            T2,
            &[
                "unclaim", "A-1", "--reason", "no time", "--as", "alice", "--json",
            ],
        ),
    );
    assert_eq!(t.status, Status::Open);
    assert_eq!(t.outcome, Some(Outcome::Released));
    assert_eq!(t.reason.as_deref(), Some("no time"));
    assert_eq!(t.outcome_by.as_deref(), Some("alice"));
    assert_eq!(t.claimed_by, None);
    assert_eq!(
        k,
        with(
            &BASE_KEYS,
            &["outcome", "outcome_at", "outcome_by", "reason", "path"]
        )
    );
    assert!(show(&repo, T2, "A-1").lease.is_none());

    one(
        &repo,
        at(&repo, T2, &["claim", "A-1", "--as", "carol", "--json"]),
    );
    let e = error(
        at(
            &repo,
            T3,
            &[
                "unclaim", "A-1", "--reason", "mine now", "--as", "bob", "--json",
            ],
        ),
        3,
        "held_by_other",
    );
    assert!(e.message.contains("carol"), "{e:?}");
    let (t, _) = one(
        &repo,
        at(
            &repo,
            T3,
            &[
                "unclaim",
                "A-1",
                "--reason",
                "worker gone",
                "--force",
                "--as",
                "bob",
                "--json",
            ],
        ),
    );
    assert_eq!(t.status, Status::Open);
    assert_eq!(t.outcome_by.as_deref(), Some("bob"));
    assert_eq!(t.reason.as_deref(), Some("worker gone"));
    assert_eq!(t.outcome_at.as_deref(), Some(T3));
}

#[test]
fn cancel_and_reopen() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    let (t, k) = one(
        &repo,
        at(
            &repo,
            T1,
            &["cancel", "A-1", "--reason", "obsolete", "--json"],
        ),
    );
    assert_eq!(t.status, Status::Cancelled);
    assert_eq!(t.reason.as_deref(), Some("obsolete"));
    assert_eq!(t.outcome, None, "no claim ended, so no outcome");
    assert_eq!(k, with(&BASE_KEYS, &["reason", "path"]));
    let e = error(
        at(&repo, T2, &["cancel", "A-1", "--reason", "again", "--json"]),
        3,
        "transition_not_allowed",
    );
    assert!(e.message.contains("cancelled"), "{e:?}");

    let (t, _) = one(
        &repo,
        at(
            &repo,
            T2,
            &["reopen", "A-1", "--reason", "needed after all", "--json"],
        ),
    );
    assert_eq!(t.status, Status::Open);
    assert_eq!(t.reason.as_deref(), Some("needed after all"));
    assert_eq!(t.updated_at, T2);

    // Cancelling a claimed task ends the claim with outcome released.
    one(
        &repo,
        at(&repo, T2, &["claim", "A-1", "--as", "alice", "--json"]),
    );
    let (t, k) = one(
        &repo,
        at(
            &repo,
            T3,
            &["cancel", "A-1", "--reason", "dup", "--as", "lead", "--json"],
        ),
    );
    assert_eq!(t.status, Status::Cancelled);
    assert_eq!(t.outcome, Some(Outcome::Released));
    assert_eq!(t.outcome_by.as_deref(), Some("lead"));
    assert_eq!(t.claimed_by, None);
    assert!(!k.contains(&"claimed_at".to_string()), "{k:?}");
    assert!(show(&repo, T3, "A-1").lease.is_none());

    // An open task cannot be reopened.
    new_at(&repo, T0, &["B", "--id", "B-1"]);
    error(
        at(&repo, T3, &["reopen", "B-1", "--reason", "x", "--json"]),
        3,
        "transition_not_allowed",
    );
}

// ---------------------------------------------------------------------------------------------
// set, dep.

#[test]
fn set_checks_and_writes_user_fields() {
    let repo = Repo::new();
    repo.write(
        ".tasks/config.yaml",
        "identities: { dave.fowler: [dave] }\n",
    );
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    let (t, k) = one(
        &repo,
        at(
            &repo,
            T1,
            &[
                "set",
                "A-1",
                "priority=0",
                "labels=a, b",
                "owner=Dave",
                "type=feature",
                "title=Renamed",
                "--json",
            ],
        ),
    );
    assert_eq!(t.priority, 0);
    assert_eq!(t.labels, Some(s(&["a", "b"])));
    assert_eq!(t.owner.as_deref(), Some("dave.fowler"));
    assert_eq!(t.kind, Some(Kind::Feature));
    assert_eq!(t.title, "Renamed");
    assert_eq!(t.updated_at, T1);
    assert_eq!(k, with(&BASE_KEYS, &["labels", "owner", "type", "path"]));

    // `key=` removes a key.
    let (t, k) = one(&repo, at(&repo, T2, &["set", "A-1", "labels=", "--json"]));
    assert_eq!(t.labels, None);
    assert_eq!(k, with(&BASE_KEYS, &["owner", "type", "path"]));

    let before = repo.read_bytes(".tasks/A-1.md");
    let e = error(
        at(&repo, T2, &["set", "A-1", "status=done", "--json"]),
        1,
        "lifecycle_field",
    );
    assert!(e.message.contains("status"), "{e:?}");
    let e = error(
        at(&repo, T2, &["set", "A-1", "priority=9", "--json"]),
        1,
        "invalid_input",
    );
    assert!(e.message.contains('9'), "{e:?}");
    error(
        at(&repo, T2, &["set", "A-1", "depends_on=B-1", "--json"]),
        1,
        "lifecycle_field",
    );
    error(
        at(&repo, T2, &["set", "A-1", "nonsense", "--json"]),
        2,
        "usage",
    );
    assert_eq!(
        repo.read_bytes(".tasks/A-1.md"),
        before,
        "a refused set writes nothing"
    );
}

#[test]
fn dep_add_and_rm() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    new_at(&repo, T0, &["B", "--id", "B-1"]);
    let (t, k) = one(
        &repo,
        at(&repo, T1, &["dep", "add", "A-1", "B-1", "--json"]),
    );
    assert_eq!(t.id, "A-1");
    assert_eq!(t.depends_on, Some(s(&["B-1"])));
    assert_eq!(t.updated_at, T1);
    assert_eq!(k, with(&BASE_KEYS, &["depends_on", "path"]));
    assert_eq!(
        list_ids(&list(&repo, &["ready", "--json"]), |t| &t.id),
        s(&["B-1"])
    );

    // Adding it again changes nothing.
    let before = repo.read_bytes(".tasks/A-1.md");
    let (t, _) = one(
        &repo,
        at(&repo, T2, &["dep", "add", "A-1", "B-1", "--json"]),
    );
    assert_eq!(t.depends_on, Some(s(&["B-1"])));
    assert_eq!(t.updated_at, T1);
    assert_eq!(repo.read_bytes(".tasks/A-1.md"), before);

    let e = error(
        at(&repo, T2, &["dep", "add", "B-1", "A-1", "--json"]),
        3,
        "dependency_cycle",
    );
    assert!(
        e.message.contains("A-1") && e.message.contains("B-1"),
        "{e:?}"
    );

    let (t, k) = one(&repo, at(&repo, T3, &["dep", "rm", "A-1", "B-1", "--json"]));
    assert_eq!(t.depends_on, None);
    assert_eq!(t.updated_at, T3);
    assert_eq!(k, with(&BASE_KEYS, &["path"]));
    error(
        at(&repo, T3, &["dep", "rm", "A-1", "B-1", "--json"]),
        1,
        "not_found",
    );
}

// ---------------------------------------------------------------------------------------------
// Errors.

#[test]
fn error_held_by_other() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    one(
        &repo,
        at(&repo, T1, &["claim", "A-1", "--as", "alice", "--json"]),
    );
    let before = repo.read_bytes(".tasks/A-1.md");
    let run = at(&repo, T2, &["claim", "A-1", "--as", "bob", "--json"]);
    let stderr = run.stderr.clone();
    let e = error(run, 3, "held_by_other");
    assert!(
        e.message.contains("A-1") && e.message.contains("alice"),
        "{e:?}"
    );
    let hints = e.hints.expect("held_by_other carries hints");
    assert!(!hints.is_empty());
    assert!(hints.iter().any(|h| h.contains("bob")), "{hints:?}");
    assert!(
        stderr.contains(&e.message),
        "the human message is on stderr too: {stderr}"
    );
    assert_eq!(repo.read_bytes(".tasks/A-1.md"), before);
    assert_eq!(show(&repo, T2, "A-1").lease.unwrap().holder, "alice");
}

#[test]
fn error_nothing_ready() {
    let repo = Repo::new();
    let e = error(
        at(&repo, T0, &["claim", "--next", "--as", "alice", "--json"]),
        4,
        "nothing_ready",
    );
    assert!(e.message.contains("alice"), "{e:?}");
    // Tasks exist but none routes to this agent.
    new_at(&repo, T0, &["Theirs", "--owner", "bob"]);
    error(
        at(&repo, T0, &["claim", "--next", "--as", "alice", "--json"]),
        4,
        "nothing_ready",
    );
    let (t, _) = one(
        &repo,
        at(&repo, T0, &["claim", "--next", "--as", "bob", "--json"]),
    );
    assert_eq!(t.claimed_by.as_deref(), Some("bob"));
}

#[test]
fn error_unknown_id() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    for cmd in [
        vec!["show", "ZZ-9"],
        vec!["claim", "ZZ-9", "--as", "alice"],
        vec!["heartbeat", "ZZ-9", "--as", "alice"],
        vec!["note", "ZZ-9", "hello"],
        vec!["done", "ZZ-9"],
        vec!["block", "ZZ-9", "--reason", "r"],
        vec!["unblock", "ZZ-9"],
        vec!["fail", "ZZ-9", "--reason", "r"],
        vec!["unclaim", "ZZ-9", "--reason", "r"],
        vec!["reopen", "ZZ-9", "--reason", "r"],
        vec!["cancel", "ZZ-9", "--reason", "r"],
        vec!["set", "ZZ-9", "priority=1"],
        vec!["dep", "add", "ZZ-9", "A-1"],
        vec!["dep", "add", "A-1", "ZZ-9"],
        vec!["new", "x", "-d", "ZZ-9"],
    ] {
        let mut args = cmd.clone();
        args.push("--json");
        let e = error(at(&repo, T1, &args), 1, "not_found");
        assert!(e.message.contains("ZZ-9"), "{cmd:?}: {e:?}");
    }
    assert!(!repo.path(".tasks/ZZ-9.md").exists());
}

#[test]
fn error_usage_from_clap_is_json_too() {
    let repo = Repo::new();
    for args in [
        vec!["list", "--bogus", "--json"],
        vec!["--json", "claim"],
        vec!["new", "--json"],
        vec!["claim", "A-1", "--next", "--json"],
        vec!["new", "x", "-p", "9", "--json"],
        vec!["frobnicate", "--json"],
    ] {
        let run = repo.tasks(&args);
        let stderr = run.stderr.clone();
        let e = error(run, 2, "usage");
        assert_eq!(e.hints, None, "{args:?}");
        assert!(
            stderr.starts_with("error: "),
            "{args:?}: clap's message on stderr: {stderr}"
        );
    }
    // The human usage error names the bad argument.
    assert!(
        repo.tasks(&["list", "--bogus", "--json"])
            .stderr
            .contains("--bogus")
    );
}

/// The JSON message of a clap error is clap's own message, so an agent learns what was wrong.
#[test]
fn error_usage_json_message_names_the_bad_argument() {
    let repo = Repo::new();
    let e = error(repo.tasks(&["list", "--bogus", "--json"]), 2, "usage");
    assert!(e.message.contains("--bogus"), "{e:?}");
    let e = error(repo.tasks(&["new", "x", "-p", "9", "--json"]), 2, "usage");
    assert!(
        e.message.contains("priority") && e.message.contains('9'),
        "{e:?}"
    );
}

#[test]
fn error_usage_after_parsing() {
    let repo = Repo::new();
    new_at(&repo, T0, &["A", "--id", "A-1"]);
    one(
        &repo,
        at(&repo, T1, &["claim", "A-1", "--as", "alice", "--json"]),
    );
    let before = repo.read_bytes(".tasks/A-1.md");
    let e = error(
        at(
            &repo,
            T2,
            &["block", "A-1", "--reason", "   ", "--as", "alice", "--json"],
        ),
        2,
        "usage",
    );
    assert!(e.message.contains("reason"), "{e:?}");
    error(
        at(&repo, T2, &["list", "--status", "nonsense", "--json"]),
        2,
        "usage",
    );
    error(at(&repo, T2, &["new", "   ", "--json"]), 2, "usage");
    error(at(&repo, T2, &["note", "A-1", "  ", "--json"]), 2, "usage");
    assert_eq!(repo.read_bytes(".tasks/A-1.md"), before);
}

#[test]
fn error_without_tasks_folder() {
    let repo = Repo::bare_git();
    let e = error(repo.tasks(&["list", "--json"]), 1, "not_initialized");
    assert!(
        e.hints
            .unwrap_or_default()
            .iter()
            .any(|h| h.contains("tasks init"))
    );
}
