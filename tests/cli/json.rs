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
            worktree: Option<String>,
            branch: Option<String>,
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

// ---------------------------------------------------------------------------------------------
// Worktrees: start, drift, orphans, reconcile, worktree prune (DESIGN §7, §8, §10).
//
// Each test builds the real situation: tasks committed in the root, `tasks start` making a
// linked worktree at `<root>/.worktrees/<id>` on `tasks/<id>`, and the worktree's copy of a task
// file edited (and usually committed) there with git.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartDoc {
    schema_version: u32,
    task: Task,
    /// The worktree's absolute path.
    path: String,
    branch: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Severity {
    Warn,
    Error,
}

/// The sweep shape shared by `drift`, `orphans` (and `heartbeat`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepDoc {
    schema_version: u32,
    generated_at: String,
    tasks: Vec<SweepRow>,
    global: Vec<SignalDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepRow {
    id: String,
    /// A canonical status, or `missing` when no task has the id.
    status: String,
    signals: Vec<SignalDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalDoc {
    kind: String,
    severity: Severity,
    detail: String,
    /// Decoded per kind with `evidence()`.
    evidence: Option<Value>,
}

impl SweepDoc {
    #[track_caller]
    fn row(&self, id: &str) -> &SweepRow {
        self.tasks
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no row for {id} in {self:#?}"))
    }

    fn ids(&self) -> Vec<String> {
        let mut ids = list_ids(&self.tasks, |r| &r.id);
        ids.sort();
        ids
    }
}

impl SweepRow {
    /// The row's only signal.
    #[track_caller]
    fn signal(&self) -> &SignalDoc {
        assert_eq!(self.signals.len(), 1, "{self:#?}");
        &self.signals[0]
    }
}

/// `evidence` of `metadata_drift` and `completed_unreconciled`. Which optional keys are present
/// depends on the case (merge, new file, deleted in the root); `drift_evidence_keys` checks that.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DriftEvidence {
    worktree: String,
    branch: Option<String>,
    file: String,
    worktree_status: Status,
    new_file: Option<bool>,
    deleted_in_root: Option<bool>,
    keys: Option<Vec<KeyDrift>>,
    body: Option<BodyDrift>,
    conflicts: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDrift {
    key: String,
    base: Option<Value>,
    root: Option<Value>,
    worktree: Option<Value>,
    resolution: Resolution,
    /// The value the root gets (`null` for a conflict or a removed key).
    result: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Resolution {
    TakeWorktree,
    Conflict,
    Preferred,
    Merged,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyDrift {
    added: usize,
    removed: usize,
    conflicts: usize,
}

/// `evidence` of `invalid_file`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvalidEvidence {
    path: String,
    line: usize,
}

/// `evidence` of `orphan_worktree`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrphanWorktreeEvidence {
    branch: String,
    worktree: Option<String>,
}

/// `evidence` of `worker_gone`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkerGoneEvidence {
    claimed_by: Option<String>,
    worktree: String,
}

/// `evidence` of `orphan_claim`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrphanClaimEvidence {
    keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReconcileDoc {
    schema_version: u32,
    dry_run: bool,
    tasks: Vec<Reconciled>,
    /// Tasks that could not be written, each with its error.
    failed: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reconciled {
    id: String,
    worktree: String,
    path: String,
    added: bool,
    changes: Vec<Change>,
    body: Option<BodyChange>,
    status: Option<StatusChange>,
    conflicts: Vec<Conflict>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    key: String,
    from: Option<Value>,
    to: Option<Value>,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyChange {
    added: usize,
    removed: usize,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    from: Status,
    to: Status,
    outcome: Option<Outcome>,
}

/// A key conflict (`key`, `base`, `root`, `worktree`) or a whole-file / body one (`key: null`,
/// `reason`, and `places` for the body); `reconcile_doc` checks which keys each carries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Conflict {
    key: Option<String>,
    base: Option<Value>,
    root: Option<Value>,
    worktree: Option<Value>,
    reason: Option<String>,
    places: Option<usize>,
}

impl ReconcileDoc {
    #[track_caller]
    fn task(&self, id: &str) -> &Reconciled {
        self.tasks
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no entry for {id} in {self:#?}"))
    }

    fn ids(&self) -> Vec<String> {
        let mut ids = list_ids(&self.tasks, |r| &r.id);
        ids.sort();
        ids
    }
}

impl Reconciled {
    fn changes(&self) -> Vec<(String, Option<Value>, Option<Value>)> {
        self.changes
            .iter()
            .map(|c| (c.key.clone(), c.from.clone(), c.to.clone()))
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PruneDoc {
    schema_version: u32,
    dry_run: bool,
    removed: Vec<Pruned>,
    kept: Vec<Kept>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pruned {
    task: String,
    branch: String,
    worktree: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kept {
    task: String,
    branch: String,
    worktree: Option<String>,
    reason: String,
}

impl PruneDoc {
    #[track_caller]
    fn kept(&self, id: &str) -> &Kept {
        self.kept
            .iter()
            .find(|k| k.task == id)
            .unwrap_or_else(|| panic!("{id} not kept in {self:#?}"))
    }
}

/// Runs `tasks ARGS` in `dir` with the clock pinned at `now`.
fn at_in(repo: &Repo, dir: &std::path::Path, now: &str, args: &[&str]) -> Run {
    Run::from_output(
        repo.command_in(dir)
            .env("TASKS_NOW", now)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// stdout is exactly one JSON document on one line, even when the command failed.
#[track_caller]
fn single_document(run: &Run) {
    assert!(
        run.stdout.ends_with('\n') && run.stdout.lines().count() == 1,
        "stdout must be exactly one JSON document on one line:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    let _: Value = decode(run);
}

#[track_caller]
fn assert_keys(v: &Value, expected: &[&str]) {
    assert_eq!(keys(v), s(expected), "{v}");
}

/// A signal carries `kind`, `severity`, `detail` and, when there are facts behind it, a
/// non-null `evidence`.
#[track_caller]
fn check_signal_keys(sig: &Value) {
    if sig.get("evidence").is_some() {
        assert!(
            !sig["evidence"].is_null(),
            "evidence is omitted, not null: {sig}"
        );
        assert_keys(sig, &["kind", "severity", "detail", "evidence"]);
    } else {
        assert_keys(sig, &["kind", "severity", "detail"]);
    }
}

/// Decodes a sweep document from a run that exited `code` (7: signals at or above --fail-on).
#[track_caller]
fn sweep(run: Run, code: i32) -> SweepDoc {
    let run = run.expect(code);
    single_document(&run);
    let doc: SweepDoc = decode(&run);
    assert_eq!(doc.schema_version, 1);
    let raw = run.json();
    assert_keys(&raw, &["schema_version", "generated_at", "tasks", "global"]);
    for row in raw["tasks"].as_array().unwrap() {
        assert_keys(row, &["id", "status", "signals"]);
        let signals = row["signals"].as_array().unwrap();
        assert!(!signals.is_empty(), "a row has at least one signal: {row}");
        signals.iter().for_each(check_signal_keys);
    }
    raw["global"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(check_signal_keys);
    // Worst first within a row.
    for row in &doc.tasks {
        let severities: Vec<Severity> = row.signals.iter().map(|s| s.severity).collect();
        let mut sorted = severities.clone();
        sorted.sort_by_key(|s| *s == Severity::Warn);
        assert_eq!(severities, sorted, "{row:#?}");
    }
    if code == 7 {
        assert!(
            run.stderr.contains("at or above"),
            "exit 7 says why on stderr: {}",
            run.stderr
        );
    }
    doc
}

#[track_caller]
fn evidence<T: DeserializeOwned>(sig: &SignalDoc) -> T {
    let v = sig
        .evidence
        .clone()
        .unwrap_or_else(|| panic!("no evidence: {sig:#?}"));
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("evidence does not match the schema ({e}): {v}"))
}

/// The evidence keys of a drift signal, in order: the common ones, then the case's.
#[track_caller]
fn drift_evidence_keys(sig: &SignalDoc, case: &[&str]) {
    let base = ["worktree", "branch", "file", "worktree_status"];
    let expected: Vec<&str> = base.iter().chain(case).copied().collect();
    assert_keys(sig.evidence.as_ref().expect("evidence"), &expected);
}

const MERGE_EVIDENCE: [&str; 3] = ["keys", "body", "conflicts"];

/// Decodes a reconcile document from a run that exited `code` (3: conflicts left alone).
#[track_caller]
fn reconcile_doc(run: Run, code: i32) -> ReconcileDoc {
    let run = run.expect(code);
    single_document(&run);
    let doc: ReconcileDoc = decode(&run);
    assert_eq!(doc.schema_version, 1);
    let raw = run.json();
    assert_keys(&raw, &["schema_version", "dry_run", "tasks", "failed"]);
    // Every task here can be written: nothing fails.
    assert!(doc.failed.is_empty(), "{raw:#}");
    for t in raw["tasks"].as_array().unwrap() {
        assert_keys(
            t,
            &[
                "id",
                "worktree",
                "path",
                "added",
                "changes",
                "body",
                "status",
                "conflicts",
            ],
        );
        for c in t["changes"].as_array().unwrap() {
            assert_keys(c, &["key", "from", "to"]);
        }
        if !t["status"].is_null() {
            assert_keys(&t["status"], &["from", "to", "outcome"]);
        }
        for c in t["conflicts"].as_array().unwrap() {
            if c["key"].is_null() {
                if c["reason"] == "body" {
                    assert_keys(c, &["key", "reason", "places"]);
                } else {
                    assert_keys(c, &["key", "reason"]);
                }
            } else {
                assert_keys(c, &["key", "base", "root", "worktree"]);
            }
        }
    }
    if code == 3 {
        assert!(
            run.stderr.contains("left alone"),
            "exit 3 says why on stderr: {}",
            run.stderr
        );
    }
    doc
}

#[track_caller]
fn prune_doc(run: Run) -> PruneDoc {
    let run = run.ok();
    single_document(&run);
    let doc: PruneDoc = decode(&run);
    assert_eq!(doc.schema_version, 1);
    let raw = run.json();
    assert_keys(&raw, &["schema_version", "dry_run", "removed", "kept"]);
    for r in raw["removed"].as_array().unwrap() {
        assert_keys(r, &["task", "branch", "worktree"]);
    }
    for k in raw["kept"].as_array().unwrap() {
        assert_keys(k, &["task", "branch", "worktree", "reason"]);
    }
    doc
}

/// `tasks start ID --as WHO --json`, checked against the schema and the task file.
#[track_caller]
fn start(repo: &Repo, now: &str, id: &str, who: &str) -> StartDoc {
    let run = at(repo, now, &["start", id, "--as", who, "--json"]).ok();
    single_document(&run);
    let doc: StartDoc = decode(&run);
    assert_eq!(doc.schema_version, 1);
    let raw = run.json();
    assert_keys(&raw, &["schema_version", "task", "path", "branch"]);
    assert_task_matches_file(repo, &raw["task"]);
    assert_eq!(doc.task.path, abs(repo, &format!(".tasks/{id}.md")));
    doc
}

/// Creates tasks with fixed ids at T0 and commits them, so worktrees branch off with them.
fn committed_tasks(repo: &Repo, ids: &[&str]) {
    for id in ids {
        new_at(repo, T0, &[&format!("Task {id}"), "--id", id]);
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "tasks"]);
}

fn wt_dir(repo: &Repo, id: &str) -> std::path::PathBuf {
    repo.root.join(".worktrees").join(id)
}

/// The worktree's copy of a task file.
fn wt_file(repo: &Repo, wt: &str, id: &str) -> std::path::PathBuf {
    wt_dir(repo, wt).join(".tasks").join(format!("{id}.md"))
}

/// Replaces `from` by `to` in a file (which must contain `from`).
#[track_caller]
fn rewrite(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(from),
        "{} lacks {from:?}:\n{text}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn commit_in(repo: &Repo, dir: &std::path::Path, message: &str) {
    repo.git_in(dir, &["add", "-A"]);
    repo.git_in(dir, &["commit", "-qm", message]);
}

/// The worktree copy of `id` says done with a PR, committed on the task's branch.
fn finish_in_worktree(repo: &Repo, id: &str) {
    let file = wt_file(repo, id, id);
    rewrite(
        &file,
        "status: open\n",
        "status: done\npr_url: https://github.com/o/r/pull/7\n",
    );
    commit_in(repo, &wt_dir(repo, id), &format!("finish {id}"));
}

#[test]
fn start_claims_and_reports_the_worktree() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "B-1"]);

    let doc = start(&repo, T1, "A-1", "alice");
    let wt = wt_dir(&repo, "A-1");
    assert_eq!(doc.path, wt.display().to_string());
    assert_eq!(doc.branch, "tasks/A-1");
    let t = &doc.task;
    assert_eq!((t.id.as_str(), t.status), ("A-1", Status::InProgress));
    assert_eq!(t.claimed_by.as_deref(), Some("alice"));
    assert_eq!(t.claimed_at.as_deref(), Some(T1));
    assert_eq!(t.updated_at, T1);
    assert_eq!(t.created_at, T0);
    assert_eq!(t.worktree.as_deref(), Some(".worktrees/A-1"));
    assert_eq!(t.branch.as_deref(), Some("tasks/A-1"));
    let mut file_keys = frontmatter_keys(&repo.read(".tasks/A-1.md"));
    file_keys.push("path".into());
    assert_eq!(
        file_keys,
        with(
            &BASE_KEYS,
            &["claimed_by", "claimed_at", "worktree", "branch", "path"]
        )
    );

    // A real linked worktree on the branch, holding the committed (open) copy of the task.
    assert!(wt.is_dir());
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    assert!(
        list.contains(&format!("worktree {}\n", wt.display()))
            && list.contains("branch refs/heads/tasks/A-1\n"),
        "{list}"
    );
    assert!(
        std::fs::read_to_string(wt_file(&repo, "A-1", "A-1"))
            .unwrap()
            .contains("status: open\n")
    );
    let lease = show(&repo, T1, "A-1").lease.expect("start takes a lease");
    assert_eq!((lease.holder.as_str(), lease.live), ("alice", true));

    // Starting it again as the holder renews the lease and reports the same worktree.
    let before = repo.read_bytes(".tasks/A-1.md");
    let again = start(&repo, T2, "A-1", "alice");
    assert_eq!(again.path, doc.path);
    assert_eq!(again.branch, "tasks/A-1");
    assert_eq!(again.task.updated_at, T1);
    assert_eq!(repo.read_bytes(".tasks/A-1.md"), before);
    assert_eq!(show(&repo, T2, "A-1").lease.unwrap().renewed_at, T2);

    // Held by someone else: exit 3 and the error document, nothing changed.
    let run = at(&repo, T2, &["start", "A-1", "--as", "bob", "--json"]);
    single_document(&run);
    let e = error(run, 3, "held_by_other");
    assert!(
        e.message.contains("A-1") && e.message.contains("alice"),
        "{e:?}"
    );
    assert!(
        e.hints
            .unwrap_or_default()
            .iter()
            .any(|h| h.contains("bob")),
        "the hint names who is acting"
    );
    assert_eq!(repo.read_bytes(".tasks/A-1.md"), before);

    let e = error(
        at(&repo, T2, &["start", "ZZ-9", "--as", "bob", "--json"]),
        1,
        "not_found",
    );
    assert!(e.message.contains("ZZ-9"), "{e:?}");

    // --next starts the first ready task, with the same document.
    let next = at(&repo, T2, &["start", "--next", "--as", "carol", "--json"]).ok();
    let doc: StartDoc = decode(&next);
    assert_eq!(doc.task.id, "B-1");
    assert_eq!(doc.task.claimed_by.as_deref(), Some("carol"));
    assert_eq!(doc.path, wt_dir(&repo, "B-1").display().to_string());
    assert_eq!(doc.branch, "tasks/B-1");
    assert_task_matches_file(&repo, &next.json()["task"]);
}

#[test]
fn start_undoes_the_claim_when_git_cannot_make_the_worktree() {
    let repo = Repo::new();
    committed_tasks(&repo, &["B-1"]);
    repo.git(&["branch", "tasks/B-1"]);
    let before = repo.read_bytes(".tasks/B-1.md");

    let run = at(&repo, T1, &["start", "B-1", "--as", "bob", "--json"]);
    single_document(&run);
    let e = error(run, 1, "worktree_failed");
    assert!(e.message.contains("B-1"), "{e:?}");
    let hints = e.hints.expect("worktree_failed carries hints");
    assert!(hints.iter().any(|h| h.contains("undone")), "{hints:?}");
    assert_eq!(
        repo.read_bytes(".tasks/B-1.md"),
        before,
        "the claim is undone"
    );
    assert!(show(&repo, T1, "B-1").lease.is_none());
    assert!(!wt_dir(&repo, "B-1").exists());
}

#[test]
fn start_outside_git_is_an_error_document() {
    let repo = Repo::new();
    let dir = tempfile::tempdir().unwrap();
    let run =
        |args: &[&str]| Run::from_output(repo.command_in(dir.path()).args(args).output().unwrap());
    run(&["init"]).ok();
    let e = error(
        run(&["start", "--next", "--as", "bob", "--json"]),
        1,
        "not_a_repository",
    );
    assert!(
        e.hints
            .unwrap_or_default()
            .iter()
            .any(|h| h.contains("tasks claim"))
    );
}

#[test]
fn drift_reports_a_task_finished_in_its_worktree() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "B-1"]);

    // Nothing to report yet.
    let doc = sweep(at(&repo, T1, &["drift", "--json"]), 0);
    assert_eq!(doc.generated_at, T1);
    assert!(doc.tasks.is_empty() && doc.global.is_empty(), "{doc:#?}");

    start(&repo, T1, "A-1", "alice");
    finish_in_worktree(&repo, "A-1");

    // completed_unreconciled is an error: exit 7, and stdout is still only the report.
    let doc = sweep(at(&repo, T2, &["drift", "--json"]), 7);
    assert_eq!(doc.generated_at, T2);
    assert_eq!(doc.ids(), s(&["A-1"]));
    assert!(doc.global.is_empty());
    let row = doc.row("A-1");
    assert_eq!(row.status, "in_progress", "the root's status");
    let sig = row.signal();
    assert_eq!(sig.kind, "completed_unreconciled");
    assert_eq!(sig.severity, Severity::Error);
    assert!(sig.detail.contains(".worktrees/A-1"), "{}", sig.detail);
    assert!(sig.detail.contains("done"), "{}", sig.detail);

    drift_evidence_keys(sig, &MERGE_EVIDENCE);
    let ev: DriftEvidence = evidence(sig);
    assert_eq!(ev.worktree, ".worktrees/A-1");
    assert_eq!(ev.branch.as_deref(), Some("tasks/A-1"));
    assert_eq!(ev.file, ".worktrees/A-1/.tasks/A-1.md");
    assert_eq!(ev.worktree_status, Status::Done);
    assert_eq!(ev.conflicts, Some(0));
    assert!(ev.body.is_none(), "the body did not change");
    let keys = ev.keys.expect("a merge lists its keys");
    assert_eq!(list_ids(&keys, |k| &k.key), s(&["status", "pr_url"]));
    let status = &keys[0];
    assert_eq!(
        (&status.base, &status.root, &status.worktree),
        (
            &Some(Value::from("open")),
            &Some(Value::from("in_progress")),
            &Some(Value::from("done"))
        )
    );
    assert_eq!(status.resolution, Resolution::TakeWorktree);
    assert_eq!(status.result, Some(Value::from("done")));
    let pr = &keys[1];
    assert_eq!((&pr.base, &pr.root), (&None, &None));
    assert_eq!(
        pr.worktree,
        Some(Value::from("https://github.com/o/r/pull/7"))
    );
    assert_eq!(pr.resolution, Resolution::TakeWorktree);

    // The same report under every --fail-on; only the exit code changes.
    let never = sweep(at(&repo, T2, &["drift", "--fail-on", "never", "--json"]), 0);
    assert_eq!(never.ids(), s(&["A-1"]));
    sweep(at(&repo, T2, &["drift", "--fail-on", "warn", "--json"]), 7);

    // One task, by id or unique prefix; a task without drift gives an empty report.
    assert_eq!(
        sweep(at(&repo, T2, &["drift", "A-", "--json"]), 7).ids(),
        s(&["A-1"])
    );
    let b = sweep(at(&repo, T2, &["drift", "B-1", "--json"]), 0);
    assert!(b.tasks.is_empty(), "{b:#?}");

    // From inside the worktree, drift still compares against the root.
    let inside = sweep(
        at_in(&repo, &wt_dir(&repo, "A-1"), T2, &["drift", "--json"]),
        7,
    );
    assert_eq!(inside.ids(), s(&["A-1"]));
    assert_eq!(inside.row("A-1").signal().kind, "completed_unreconciled");
}

/// Warn-level drift: changed keys (committed or not), a conflict, a body note, a task new in a
/// worktree, a task the root deleted, and a worktree `tasks start` did not make.
#[test]
fn drift_warns_of_metadata_changes_new_tasks_and_conflicts() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "B-1", "C-1", "D-1"]);
    start(&repo, T1, "A-1", "alice");
    start(&repo, T1, "B-1", "bob");
    let feature = repo.worktree("feature");

    // A-1: the worktree renames it and adds a note; the root renames it differently.
    let a = wt_file(&repo, "A-1", "A-1");
    rewrite(&a, "title: Task A-1\n", "title: Worktree title\n");
    std::fs::write(&a, std::fs::read_to_string(&a).unwrap() + "Worked on it.\n").unwrap();
    commit_in(&repo, &wt_dir(&repo, "A-1"), "retitle");
    one(
        &repo,
        at(&repo, T2, &["set", "A-1", "title=Root title", "--json"]),
    );
    // N-1: a new task file in A-1's worktree, not even committed.
    std::fs::write(
        wt_file(&repo, "A-1", "N-1"),
        format!("---\nid: N-1\ntitle: New in worktree\nstatus: open\npriority: 1\ncreated_at: {T0}\nupdated_at: {T0}\n---\n"),
    )
    .unwrap();
    // B-1: priority changed, uncommitted. C-1: changed in B-1's worktree, deleted in the root.
    rewrite(
        &wt_file(&repo, "B-1", "B-1"),
        "priority: 2\n",
        "priority: 1\n",
    );
    rewrite(
        &wt_file(&repo, "B-1", "C-1"),
        "title: Task C-1\n",
        "title: C changed\n",
    );
    repo.git(&["rm", "-q", ".tasks/C-1.md"]);
    // D-1: labels added in a plain worktree beside the root.
    let d = feature.join(".tasks/D-1.md");
    rewrite(&d, "priority: 2\n", "priority: 2\nlabels: [ui]\n");
    commit_in(&repo, &feature, "label D-1");

    let doc = sweep(at(&repo, T2, &["drift", "--json"]), 0);
    assert_eq!(doc.ids(), s(&["A-1", "B-1", "C-1", "D-1", "N-1"]));
    assert!(doc.global.is_empty());
    for row in &doc.tasks {
        let sig = row.signal();
        assert_eq!(
            (sig.kind.as_str(), sig.severity),
            ("metadata_drift", Severity::Warn),
            "{row:#?}"
        );
    }

    // A conflict on the title, plus the body.
    let row = doc.row("A-1");
    assert_eq!(row.status, "in_progress");
    let sig = row.signal();
    assert!(sig.detail.contains("conflict"), "{}", sig.detail);
    drift_evidence_keys(sig, &MERGE_EVIDENCE);
    let ev: DriftEvidence = evidence(sig);
    assert_eq!(ev.worktree_status, Status::Open);
    assert_eq!(ev.conflicts, Some(1));
    let keys = ev.keys.unwrap();
    assert_eq!(keys.len(), 1, "{keys:#?}");
    assert_eq!(keys[0].key, "title");
    assert_eq!(keys[0].base, Some(Value::from("Task A-1")));
    assert_eq!(keys[0].root, Some(Value::from("Root title")));
    assert_eq!(keys[0].worktree, Some(Value::from("Worktree title")));
    assert_eq!(keys[0].resolution, Resolution::Conflict);
    let body = ev.body.expect("the note is a body change");
    assert_eq!((body.added, body.removed, body.conflicts), (1, 0, 0));

    // New in the worktree: the row's status is the worktree's.
    let row = doc.row("N-1");
    assert_eq!(row.status, "open");
    drift_evidence_keys(row.signal(), &["new_file"]);
    let ev: DriftEvidence = evidence(row.signal());
    assert_eq!(ev.new_file, Some(true));
    assert_eq!(ev.file, ".worktrees/A-1/.tasks/N-1.md");
    assert_eq!(ev.worktree, ".worktrees/A-1");

    // Uncommitted changes count, with numbers as numbers.
    let row = doc.row("B-1");
    assert_eq!(row.status, "in_progress");
    drift_evidence_keys(row.signal(), &MERGE_EVIDENCE);
    let ev: DriftEvidence = evidence(row.signal());
    assert_eq!(ev.branch.as_deref(), Some("tasks/B-1"));
    let keys = ev.keys.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (
            &keys[0].key,
            &keys[0].base,
            &keys[0].root,
            &keys[0].worktree
        ),
        (
            &"priority".to_string(),
            &Some(Value::from(2)),
            &Some(Value::from(2)),
            &Some(Value::from(1))
        )
    );
    assert_eq!(keys[0].resolution, Resolution::TakeWorktree);
    assert!(ev.body.is_none());
    assert_eq!(ev.conflicts, Some(0));

    let row = doc.row("C-1");
    drift_evidence_keys(row.signal(), &["deleted_in_root"]);
    let ev: DriftEvidence = evidence(row.signal());
    assert_eq!(ev.deleted_in_root, Some(true));
    assert_eq!(ev.worktree, ".worktrees/B-1");

    // A worktree outside the root is shown by its absolute path, on its own branch.
    let row = doc.row("D-1");
    assert_eq!(row.status, "open");
    let ev: DriftEvidence = evidence(row.signal());
    assert_eq!(ev.worktree, feature.display().to_string());
    assert_eq!(ev.file, d.display().to_string());
    assert_eq!(ev.branch.as_deref(), Some("feature"));
    let keys = ev.keys.unwrap();
    assert_eq!(keys[0].key, "labels");
    assert_eq!(keys[0].base, None);
    assert_eq!(keys[0].worktree, Some(serde_json::json!(["ui"])));

    // Warnings fail only with --fail-on warn; the report is the same document.
    let warn = sweep(at(&repo, T2, &["drift", "--fail-on", "warn", "--json"]), 7);
    assert_eq!(warn.ids(), doc.ids());
}

#[test]
fn drift_flags_an_unreadable_worktree_copy() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1"]);
    start(&repo, T1, "A-1", "alice");
    rewrite(
        &wt_file(&repo, "A-1", "A-1"),
        "priority: 2\n",
        "priority: 1\n",
    );
    let feature = repo.worktree("feature");
    let broken = feature.join(".tasks/A-1.md");
    std::fs::write(&broken, "---\nid: A-1\ntitle: [unclosed\n---\n").unwrap();

    let doc = sweep(at(&repo, T2, &["drift", "--json"]), 7);
    assert_eq!(doc.ids(), s(&["A-1"]));
    let row = doc.row("A-1");
    assert_eq!(row.status, "in_progress");
    let kinds: Vec<(&str, Severity)> = row
        .signals
        .iter()
        .map(|s| (s.kind.as_str(), s.severity))
        .collect();
    assert_eq!(
        kinds,
        [
            ("invalid_file", Severity::Error),
            ("metadata_drift", Severity::Warn)
        ],
        "one row per task, worst first"
    );
    let sig = &row.signals[0];
    assert_keys(sig.evidence.as_ref().unwrap(), &["path", "line"]);
    let ev: InvalidEvidence = evidence(sig);
    assert_eq!(ev.path, broken.display().to_string());
    assert!(ev.line >= 1);
    assert!(
        sig.detail
            .starts_with(&format!("{}:{}: ", ev.path, ev.line)),
        "{}",
        sig.detail
    );
}

#[test]
fn orphans_reports_leftovers_gone_workers_and_stray_claim_fields() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "B-1"]);

    let clean = sweep(repo.tasks(&["orphans", "--json"]), 0);
    assert!(clean.tasks.is_empty() && clean.global.is_empty());
    // Unpinned, generated_at is the current time in RFC 3339 (UTC).
    let at_time = chrono::DateTime::parse_from_rfc3339(&clean.generated_at)
        .unwrap_or_else(|e| panic!("{}: {e}", clean.generated_at));
    assert_eq!(at_time.offset().local_minus_utc(), 0);
    assert!(clean.generated_at.ends_with('Z'), "{}", clean.generated_at);

    // A-1 finished in the root while its worktree stays: a leftover.
    start(&repo, T1, "A-1", "alice");
    one(
        &repo,
        at(&repo, T2, &["done", "A-1", "--as", "alice", "--json"]),
    );
    // B-1's worker lost its worktree folder.
    start(&repo, T1, "B-1", "bob");
    std::fs::remove_dir_all(wt_dir(&repo, "B-1")).unwrap();
    // A branch for a task that does not exist.
    repo.git(&["branch", "tasks/ZZ-9"]);
    // O-1 is done but still carries claim fields, and has a leftover branch.
    repo.write(
        ".tasks/O-1.md",
        format!("---\nid: O-1\ntitle: stray\nstatus: done\npriority: 2\nclaimed_by: zed\nclaimed_at: {T0}\ncreated_at: {T0}\nupdated_at: {T0}\n---\n"),
    );
    repo.git(&["branch", "tasks/O-1"]);

    // worker_gone is an error: exit 7, one document.
    let doc = sweep(at(&repo, T3, &["orphans", "--json"]), 7);
    assert_eq!(doc.generated_at, T3);
    assert_eq!(doc.ids(), s(&["A-1", "B-1", "O-1", "ZZ-9"]));
    assert!(doc.global.is_empty());

    let row = doc.row("A-1");
    assert_eq!(row.status, "done");
    let sig = row.signal();
    assert_eq!(
        (sig.kind.as_str(), sig.severity),
        ("orphan_worktree", Severity::Warn)
    );
    assert!(sig.detail.contains("done"), "{}", sig.detail);
    assert_keys(sig.evidence.as_ref().unwrap(), &["branch", "worktree"]);
    let ev: OrphanWorktreeEvidence = evidence(sig);
    assert_eq!(ev.branch, "tasks/A-1");
    assert_eq!(ev.worktree.as_deref(), Some(".worktrees/A-1"));

    let row = doc.row("B-1");
    assert_eq!(row.status, "in_progress");
    let sig = row.signal();
    assert_eq!(
        (sig.kind.as_str(), sig.severity),
        ("worker_gone", Severity::Error)
    );
    assert_keys(sig.evidence.as_ref().unwrap(), &["claimed_by", "worktree"]);
    let ev: WorkerGoneEvidence = evidence(sig);
    assert_eq!(ev.claimed_by.as_deref(), Some("bob"));
    assert_eq!(ev.worktree, ".worktrees/B-1");

    let row = doc.row("ZZ-9");
    assert_eq!(row.status, "missing");
    let sig = row.signal();
    assert_eq!(sig.kind, "orphan_worktree");
    assert!(sig.detail.contains("ZZ-9"), "{}", sig.detail);
    let ev: OrphanWorktreeEvidence = evidence(sig);
    assert_eq!(ev.branch, "tasks/ZZ-9");
    assert_eq!(ev.worktree, None, "a branch without a checkout");
    assert!(sig.evidence.as_ref().unwrap()["worktree"].is_null());

    // Two signals about one task share its row.
    let row = doc.row("O-1");
    assert_eq!(row.status, "done");
    assert_eq!(
        list_ids(&row.signals, |s| &s.kind),
        s(&["orphan_worktree", "orphan_claim"])
    );
    let claim = &row.signals[1];
    assert_eq!(claim.severity, Severity::Warn);
    assert_keys(claim.evidence.as_ref().unwrap(), &["keys"]);
    let ev: OrphanClaimEvidence = evidence(claim);
    assert_eq!(ev.keys, s(&["claimed_by", "claimed_at"]));

    // --fail-on never: exit 0, same report; one task by id.
    let never = sweep(
        at(&repo, T3, &["orphans", "--fail-on", "never", "--json"]),
        0,
    );
    assert_eq!(never.ids(), doc.ids());
    let one_task = sweep(at(&repo, T3, &["orphans", "ZZ-9", "--json"]), 0);
    assert_eq!(one_task.ids(), s(&["ZZ-9"]));
    let gone = sweep(at(&repo, T3, &["orphans", "B-1", "--json"]), 7);
    assert_eq!(gone.ids(), s(&["B-1"]));
}

#[test]
fn reconcile_applies_a_finished_worktree_task_to_the_root() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "B-1"]);

    let nothing = reconcile_doc(at(&repo, T1, &["reconcile", "--json"]), 0);
    assert!(!nothing.dry_run);
    assert!(nothing.tasks.is_empty());

    start(&repo, T1, "A-1", "alice");
    finish_in_worktree(&repo, "A-1");

    // --dry-run says what it would do and writes nothing.
    let before = repo.read_bytes(".tasks/A-1.md");
    let doc = reconcile_doc(at(&repo, T2, &["reconcile", "--dry-run", "--json"]), 0);
    assert!(doc.dry_run);
    assert_eq!(doc.ids(), s(&["A-1"]));
    assert_eq!(repo.read_bytes(".tasks/A-1.md"), before);
    assert!(show(&repo, T2, "A-1").lease.is_some());

    let doc = reconcile_doc(at(&repo, T3, &["reconcile", "--json"]), 0);
    assert!(!doc.dry_run);
    assert_eq!(doc.ids(), s(&["A-1"]));
    let r = doc.task("A-1");
    assert_eq!(r.worktree, ".worktrees/A-1");
    assert_eq!(r.path, ".tasks/A-1.md", "the root copy it wrote");
    assert!(!r.added);
    assert_eq!(
        r.changes(),
        vec![
            (
                "status".to_string(),
                Some(Value::from("in_progress")),
                Some(Value::from("done"))
            ),
            (
                "pr_url".to_string(),
                None,
                Some(Value::from("https://github.com/o/r/pull/7"))
            ),
            // The number is derived from the link, as `done --pr` derives it.
            ("pr_number".to_string(), None, Some(Value::from(7))),
        ]
    );
    assert_eq!(r.body, None);
    assert_eq!(
        r.status,
        Some(StatusChange {
            from: Status::InProgress,
            to: Status::Done,
            outcome: Some(Outcome::CompletedWithPr),
        })
    );
    assert!(r.conflicts.is_empty());

    // The root now says done; the claim ended as a transition would end it.
    let shown = show(&repo, T3, "A-1");
    let t = shown.task;
    assert_eq!(t.status, Status::Done);
    assert_eq!(t.pr_url.as_deref(), Some("https://github.com/o/r/pull/7"));
    assert_eq!(t.outcome, Some(Outcome::CompletedWithPr));
    assert_eq!(t.outcome_at.as_deref(), Some(T3));
    assert_eq!(t.outcome_by.as_deref(), Some("alice"));
    assert_eq!(t.updated_at, T3);
    assert_eq!(
        (t.claimed_by, t.claimed_at, t.worktree, t.branch),
        (None, None, None, None)
    );
    assert!(shown.lease.is_none(), "the lease is released");

    // Running it again changes nothing, and drift is clean.
    let after = repo.read_bytes(".tasks/A-1.md");
    let again = reconcile_doc(at(&repo, T3, &["reconcile", "--json"]), 0);
    assert!(again.tasks.is_empty(), "{again:#?}");
    assert_eq!(repo.read_bytes(".tasks/A-1.md"), after);
    assert!(
        sweep(at(&repo, T3, &["drift", "--json"]), 0)
            .tasks
            .is_empty()
    );
}

#[test]
fn reconcile_adds_new_tasks_and_leaves_conflicts_alone() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "B-1", "C-1"]);
    start(&repo, T1, "A-1", "alice");
    start(&repo, T1, "B-1", "bob");

    let a = wt_file(&repo, "A-1", "A-1");
    rewrite(&a, "title: Task A-1\n", "title: Worktree title\n");
    std::fs::write(&a, std::fs::read_to_string(&a).unwrap() + "Worked on it.\n").unwrap();
    let new_task = format!(
        "---\nid: N-1\ntitle: New in worktree\nstatus: open\npriority: 1\ncreated_at: {T0}\nupdated_at: {T0}\n---\n"
    );
    std::fs::write(wt_file(&repo, "A-1", "N-1"), &new_task).unwrap();
    commit_in(&repo, &wt_dir(&repo, "A-1"), "work");
    one(
        &repo,
        at(&repo, T1, &["set", "A-1", "title=Root title", "--json"]),
    );
    rewrite(
        &wt_file(&repo, "B-1", "B-1"),
        "priority: 2\n",
        "priority: 1\n",
    );
    rewrite(
        &wt_file(&repo, "B-1", "C-1"),
        "title: Task C-1\n",
        "title: C changed\n",
    );
    repo.git(&["rm", "-q", ".tasks/C-1.md"]);

    // A dry run with conflicts exits 3 too, and writes nothing.
    let a_before = repo.read_bytes(".tasks/A-1.md");
    let dry = reconcile_doc(at(&repo, T2, &["reconcile", "--dry-run", "--json"]), 3);
    assert!(dry.dry_run);
    assert_eq!(dry.ids(), s(&["A-1", "B-1", "C-1", "N-1"]));
    assert!(dry.task("N-1").added);
    assert!(!repo.path(".tasks/N-1.md").exists());
    assert_eq!(repo.read_bytes(".tasks/A-1.md"), a_before);

    let doc = reconcile_doc(at(&repo, T2, &["reconcile", "--json"]), 3);
    assert!(!doc.dry_run);
    assert_eq!(doc.ids(), dry.ids());

    // A-1: the body is taken, the title conflict is left alone.
    let r = doc.task("A-1");
    assert_eq!(r.worktree, ".worktrees/A-1");
    assert_eq!(r.path, ".tasks/A-1.md");
    assert!(r.changes.is_empty(), "{r:#?}");
    assert_eq!(
        r.body,
        Some(BodyChange {
            added: 1,
            removed: 0
        })
    );
    assert_eq!(r.status, None);
    assert_eq!(r.conflicts.len(), 1);
    let c = &r.conflicts[0];
    assert_eq!(c.key.as_deref(), Some("title"));
    assert_eq!(c.base, Some(Value::from("Task A-1")));
    assert_eq!(c.root, Some(Value::from("Root title")));
    assert_eq!(c.worktree, Some(Value::from("Worktree title")));
    assert_eq!((c.reason.as_deref(), c.places), (None, None));
    let text = repo.read(".tasks/A-1.md");
    assert!(
        text.contains("title: Root title\n") && text.ends_with("Worked on it.\n"),
        "{text}"
    );

    // N-1: copied to the same place in the root.
    let r = doc.task("N-1");
    assert!(r.added);
    assert_eq!(r.path, ".tasks/N-1.md");
    assert_eq!(r.worktree, ".worktrees/A-1");
    assert!(r.changes.is_empty() && r.conflicts.is_empty());
    assert_eq!((&r.body, &r.status), (&None, &None));
    assert_eq!(repo.read(".tasks/N-1.md"), new_task);

    // B-1: an uncommitted change is taken.
    let r = doc.task("B-1");
    assert_eq!(r.worktree, ".worktrees/B-1");
    assert_eq!(
        r.changes(),
        vec![(
            "priority".to_string(),
            Some(Value::from(2)),
            Some(Value::from(1))
        )]
    );
    assert!(r.conflicts.is_empty());
    assert_eq!(show(&repo, T2, "B-1").task.priority, 1);

    // C-1: deleted in the root, changed in the worktree: a conflict about the whole file.
    let r = doc.task("C-1");
    assert_eq!(r.worktree, ".worktrees/B-1");
    assert_eq!(r.path, ".worktrees/B-1/.tasks/C-1.md");
    assert!(!r.added && r.changes.is_empty());
    assert_eq!(r.conflicts.len(), 1);
    assert_eq!(r.conflicts[0].key, None);
    assert_eq!(
        r.conflicts[0].reason.as_deref(),
        Some("deleted in the root")
    );
    assert!(!repo.path(".tasks/C-1.md").exists());

    // Again: only the conflicts are left.
    let again = reconcile_doc(at(&repo, T3, &["reconcile", "--json"]), 3);
    assert_eq!(again.ids(), s(&["A-1", "C-1"]));
    let r = again.task("A-1");
    assert_eq!((&r.body, r.changes.len(), r.conflicts.len()), (&None, 0, 1));

    // --prefer worktree settles the key conflict with the worktree's value.
    let settled = reconcile_doc(
        at(
            &repo,
            T3,
            &["reconcile", "A-1", "--prefer", "worktree", "--json"],
        ),
        0,
    );
    assert_eq!(settled.ids(), s(&["A-1"]));
    let r = settled.task("A-1");
    assert_eq!(
        r.changes(),
        vec![(
            "title".to_string(),
            Some(Value::from("Root title")),
            Some(Value::from("Worktree title"))
        )]
    );
    assert!(r.conflicts.is_empty());
    assert_eq!(show(&repo, T3, "A-1").task.title, "Worktree title");
}

/// `--prefer root` keeps the root's side of every conflict, so a task the root deleted stays
/// deleted and nothing is left to report.
#[test]
fn reconcile_prefer_root_settles_a_task_deleted_in_the_root() {
    let repo = Repo::new();
    committed_tasks(&repo, &["B-1", "C-1"]);
    start(&repo, T1, "B-1", "bob");
    rewrite(
        &wt_file(&repo, "B-1", "C-1"),
        "title: Task C-1\n",
        "title: C changed\n",
    );
    repo.git(&["rm", "-q", ".tasks/C-1.md"]);

    let doc = reconcile_doc(
        at(&repo, T2, &["reconcile", "--prefer", "root", "--json"]),
        0,
    );
    assert!(doc.tasks.iter().all(|t| t.conflicts.is_empty()), "{doc:#?}");
    assert!(!repo.path(".tasks/C-1.md").exists());
}

/// DESIGN §10: any unique prefix of an id is accepted wherever an id is — and so an ambiguous
/// one is an `ambiguous_id` error, not a clean report.
#[test]
fn sweeps_refuse_an_ambiguous_id_prefix() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "A-2"]);
    start(&repo, T1, "A-1", "alice");
    finish_in_worktree(&repo, "A-1");
    sweep(at(&repo, T2, &["drift", "--json"]), 7);

    for cmd in ["drift", "orphans", "reconcile"] {
        let e = error(at(&repo, T2, &[cmd, "A", "--json"]), 1, "ambiguous_id");
        assert!(
            e.message.contains("A-1") && e.message.contains("A-2"),
            "{cmd}: {e:?}"
        );
    }
}

#[test]
fn worktree_prune_removes_only_finished_merged_clean_work() {
    let repo = Repo::new();
    let empty = prune_doc(repo.tasks(&["worktree", "prune", "--json"]));
    assert!(!empty.dry_run);
    assert!(empty.removed.is_empty() && empty.kept.is_empty());

    committed_tasks(&repo, &["A-1", "B-1", "C-1", "E-1"]);
    for id in ["A-1", "B-1", "C-1", "E-1"] {
        start(&repo, T1, id, "alice");
    }
    // A-1: done, clean, nothing unmerged: removable.
    one(
        &repo,
        at(&repo, T2, &["done", "A-1", "--as", "alice", "--json"]),
    );
    // B-1: done, but its worktree has an uncommitted file.
    one(
        &repo,
        at(&repo, T2, &["done", "B-1", "--as", "alice", "--json"]),
    );
    std::fs::write(wt_dir(&repo, "B-1").join("scratch.txt"), "wip\n").unwrap();
    // C-1: cancelled, with a commit HEAD lacks.
    one(
        &repo,
        at(&repo, T2, &["cancel", "C-1", "--reason", "dup", "--json"]),
    );
    std::fs::write(wt_dir(&repo, "C-1").join("README"), "more\n").unwrap();
    commit_in(&repo, &wt_dir(&repo, "C-1"), "more");
    // E-1: still in progress. ZZ-9: a branch with no task.
    repo.git(&["branch", "tasks/ZZ-9"]);

    let dry = prune_doc(at(&repo, T3, &["worktree", "prune", "--dry-run", "--json"]));
    assert!(dry.dry_run);
    assert_eq!(list_ids(&dry.removed, |p| &p.task), s(&["A-1"]));
    let a = &dry.removed[0];
    assert_eq!(a.branch, "tasks/A-1");
    assert_eq!(a.worktree.as_deref(), Some(".worktrees/A-1"));
    assert_eq!(
        list_ids(&dry.kept, |k| &k.task),
        s(&["B-1", "C-1", "E-1", "ZZ-9"])
    );
    let b = dry.kept("B-1");
    assert_eq!(
        (b.branch.as_str(), b.worktree.as_deref()),
        ("tasks/B-1", Some(".worktrees/B-1"))
    );
    assert!(
        b.reason.contains("uncommitted") && b.reason.contains("scratch.txt"),
        "{b:?}"
    );
    let c = dry.kept("C-1");
    assert!(c.reason.contains("1 commit not merged"), "{c:?}");
    let e = dry.kept("E-1");
    assert!(e.reason.contains("in_progress"), "{e:?}");
    let z = dry.kept("ZZ-9");
    assert_eq!(z.worktree, None);
    assert!(z.reason.contains("no task ZZ-9"), "{z:?}");
    // Nothing was removed.
    assert!(wt_dir(&repo, "A-1").is_dir());
    assert!(
        repo.git(&["branch", "--list", "tasks/A-1"])
            .contains("tasks/A-1")
    );

    let done = prune_doc(at(&repo, T3, &["worktree", "prune", "--json"]));
    assert!(!done.dry_run);
    assert_eq!(list_ids(&done.removed, |p| &p.task), s(&["A-1"]));
    assert_eq!(
        list_ids(&done.kept, |k| &k.task),
        s(&["B-1", "C-1", "E-1", "ZZ-9"])
    );
    assert!(!wt_dir(&repo, "A-1").exists());
    assert_eq!(repo.git(&["branch", "--list", "tasks/A-1"]), "");
    assert!(wt_dir(&repo, "B-1").join("scratch.txt").exists());
    assert!(wt_dir(&repo, "C-1").is_dir());

    let again = prune_doc(at(&repo, T3, &["worktree", "prune", "--json"]));
    assert!(again.removed.is_empty());
    assert_eq!(again.kept.len(), 4);
}

// ---------------------------------------------------------------------------------------------
// The sweep (`heartbeat` without an id), its snapshot and fixes, `status`, `hooks` (DESIGN §8).
//
// Each test builds its situation with the CLI and, where the CLI cannot make it (a broken file,
// a stray claim field, a leftover temp file), by writing files the way a crash or a careless
// hand would. Time is pinned; a temp file's age is set with its modification time.

/// 2.5 hours after T0: past `reclaim_after` (2h) for a claim taken at T0.
const T4: &str = "2030-01-02T05:30:00Z";
/// 27 hours after T0: past every default SLA.
const LATE: &str = "2030-01-03T06:00:00Z";

/// `heartbeat --json`: the sweep shape, each row with its age and holder; `fixes` only with
/// `--fix`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeartbeatDoc {
    schema_version: u32,
    generated_at: String,
    tasks: Vec<HeartbeatRow>,
    global: Vec<SignalDoc>,
    fixes: Option<Vec<FixDoc>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct HeartbeatRow {
    id: String,
    /// A canonical status, or `unreadable` for an id only a broken file carries.
    status: String,
    /// Seconds since `updated_at` (else `created_at`); `null` for an unreadable file.
    age_seconds: Option<i64>,
    /// `claimed_by` of a live claim, else `null`.
    holder: Option<String>,
    signals: Vec<SignalValue>,
}

/// A signal kept as its JSON, so rows can be compared with the snapshot's whole.
type SignalValue = Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixDoc {
    /// `null` for a temp file whose task cannot be told.
    task: Option<String>,
    fix: FixKind,
    detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FixKind {
    ReleasedExpiredClaim,
    ClearedClaimFields,
    RemovedTempFile,
}

impl HeartbeatDoc {
    #[track_caller]
    fn row(&self, id: &str) -> &HeartbeatRow {
        self.tasks
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no row for {id} in {self:#?}"))
    }

    fn ids(&self) -> Vec<String> {
        list_ids(&self.tasks, |r| &r.id)
    }

    fn fixes(&self) -> &[FixDoc] {
        self.fixes.as_deref().expect("a fixes array")
    }
}

impl HeartbeatRow {
    fn signals(&self) -> Vec<SignalDoc> {
        self.signals
            .iter()
            .map(|v| serde_json::from_value(v.clone()).unwrap())
            .collect()
    }

    fn kinds(&self) -> Vec<String> {
        self.signals().into_iter().map(|s| s.kind).collect()
    }

    /// The row's signal of `kind`.
    #[track_caller]
    fn signal(&self, kind: &str) -> SignalDoc {
        let mut found: Vec<SignalDoc> = self
            .signals()
            .into_iter()
            .filter(|s| s.kind == kind)
            .collect();
        assert_eq!(found.len(), 1, "one {kind} in {self:#?}");
        found.remove(0)
    }
}

/// `<state>/heartbeat.json`, pretty-printed: the sweep's rows plus who, where, how long and
/// the counts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotDoc {
    schema_version: u32,
    generated_at: String,
    generated_by: String,
    host: Option<String>,
    duration_ms: u64,
    counts: SnapshotCounts,
    tasks: Vec<HeartbeatRow>,
    global: Vec<SignalValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotCounts {
    by_status: StatusCounts,
    /// Kind → number of signals, in the order the kinds first appear in the rows.
    by_signal: serde_json::Map<String, Value>,
    by_severity: SeverityCounts,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusCounts {
    open: usize,
    in_progress: usize,
    in_review: usize,
    blocked: usize,
    done: usize,
    failed: usize,
    cancelled: usize,
    unreadable: usize,
}

const STATUS_COUNT_KEYS: [&str; 8] = [
    "open",
    "in_progress",
    "in_review",
    "blocked",
    "done",
    "failed",
    "cancelled",
    "unreadable",
];

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeverityCounts {
    error: usize,
    warn: usize,
}

/// `status --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusDoc {
    schema_version: u32,
    counts: StatusCounts,
    snapshot: Option<SnapshotSummary>,
    top_signals: Vec<TopSignal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotSummary {
    generated_at: String,
    generated_by: String,
    host: Option<String>,
    duration_ms: u64,
    age_seconds: i64,
    stale: bool,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopSignal {
    kind: String,
    severity: Severity,
    count: usize,
}

/// `hooks install --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HooksInstalledDoc {
    schema_version: u32,
    hooks_dir: String,
    installed: Vec<String>,
    skipped: Vec<SkippedHook>,
}

/// `hooks uninstall --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HooksRemovedDoc {
    schema_version: u32,
    hooks_dir: String,
    removed: Vec<String>,
    skipped: Vec<SkippedHook>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkippedHook {
    hook: String,
    reason: String,
}

/// One line of `<state>/events.jsonl`; `fix` and `path` only on a repair that is not a
/// transition.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventLine {
    time: String,
    actor: String,
    task: String,
    from: Option<String>,
    to: String,
    outcome: Option<String>,
    fix: Option<String>,
    path: Option<String>,
}

/// `evidence` of `stale_claim`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaleEvidence {
    holder: String,
    expired_at: String,
    last_sign: Option<String>,
    branch: String,
    commit: Option<String>,
}

/// `evidence` of `worker_gone` when the recorded worker is not running.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkerPidEvidence {
    claimed_by: Option<String>,
    pid: u32,
    host: Option<String>,
}

/// `evidence` of `dependency_cycle`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CycleEvidence {
    cycle: Vec<String>,
}

/// `evidence` of `dangling_dependency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DanglingEvidence {
    missing: Vec<String>,
}

/// `evidence` of `pickup_overdue`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PickupEvidence {
    assignee: Option<String>,
    assigned_at: Option<String>,
}

/// `evidence` of `stuck_in_review`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewEvidence {
    since: Option<String>,
}

/// One entry of the `evidence` list of `owner_alias`.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasEvidence {
    key: String,
    name: String,
    canonical: String,
}

/// `evidence` of `unroutable_owner`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerEvidence {
    owner: String,
}

/// `evidence` of `retry_exhausted`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryEvidence {
    attempts: u32,
    max_attempts: u32,
    failed_agents: Vec<String>,
}

/// `evidence` of `unverified_done`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnverifiedEvidence {
    outcome_by: Option<String>,
}

const ROW_KEYS: [&str; 5] = ["id", "status", "age_seconds", "holder", "signals"];

/// Decodes a `heartbeat` sweep from a run that exited `code`; `fix` says whether `--fix` was
/// given (and so whether `fixes` must be there).
#[track_caller]
fn heartbeat(run: Run, code: i32, fix: bool) -> HeartbeatDoc {
    let run = run.expect(code);
    single_document(&run);
    let doc: HeartbeatDoc = decode(&run);
    assert_eq!(doc.schema_version, 1);
    let raw = run.json();
    let mut top = vec!["schema_version", "generated_at", "tasks", "global"];
    if fix {
        top.push("fixes");
    }
    assert_keys(&raw, &top);
    check_rows(&raw["tasks"], &raw["global"]);
    for f in raw["fixes"].as_array().into_iter().flatten() {
        assert_keys(f, &["task", "fix", "detail"]);
    }
    if code == 7 {
        assert!(
            run.stderr.contains("at or above"),
            "exit 7 says why on stderr: {}",
            run.stderr
        );
    }
    doc
}

/// Rows of the full sweep: their keys, their signals' keys, worst signal first, and the rows
/// worst first (then more signals first, then by id); a row may have no signal (a live claim).
#[track_caller]
fn check_rows(tasks: &Value, global: &Value) {
    let rank = |sig: &Value| match sig["severity"].as_str() {
        Some("error") => 2,
        Some("warn") => 1,
        other => panic!("severity {other:?}"),
    };
    let mut order = Vec::new();
    for row in tasks.as_array().unwrap() {
        assert_keys(row, &ROW_KEYS);
        let signals = row["signals"].as_array().unwrap();
        signals.iter().for_each(check_signal_keys);
        let ranks: Vec<i32> = signals.iter().map(rank).collect();
        let mut sorted = ranks.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(ranks, sorted, "worst first in {row}");
        order.push((
            -ranks.first().copied().unwrap_or(0),
            -(signals.len() as i64),
            row["id"].as_str().unwrap().to_string(),
        ));
    }
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "rows worst first");
    global
        .as_array()
        .unwrap()
        .iter()
        .for_each(check_signal_keys);
}

#[track_caller]
fn evidence_of<T: DeserializeOwned>(sig: &SignalDoc, keys: &[&str]) -> T {
    assert_keys(sig.evidence.as_ref().expect("evidence"), keys);
    evidence(sig)
}

/// The snapshot file, checked for its shape and its counts.
#[track_caller]
fn snapshot_file(repo: &Repo) -> SnapshotDoc {
    let path = repo.state_dir().join("heartbeat.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no snapshot at {}: {e}", path.display()));
    assert!(
        text.ends_with("}\n") && text.lines().count() > 1,
        "pretty-printed, ending in a newline:\n{text}"
    );
    let raw: Value = serde_json::from_str(&text).unwrap();
    assert_keys(
        &raw,
        &[
            "schema_version",
            "generated_at",
            "generated_by",
            "host",
            "duration_ms",
            "counts",
            "tasks",
            "global",
        ],
    );
    assert_keys(&raw["counts"], &["by_status", "by_signal", "by_severity"]);
    assert_keys(&raw["counts"]["by_status"], &STATUS_COUNT_KEYS);
    assert_keys(&raw["counts"]["by_severity"], &["error", "warn"]);
    check_rows(&raw["tasks"], &raw["global"]);
    let doc: SnapshotDoc = serde_json::from_value(raw.clone())
        .unwrap_or_else(|e| panic!("the snapshot does not match the schema ({e}):\n{text}"));
    assert_eq!(doc.schema_version, 1);

    // The counts are the rows' and the global signals', kinds in order of first appearance.
    let all: Vec<&Value> = raw["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["signals"].as_array().unwrap())
        .chain(raw["global"].as_array().unwrap())
        .collect();
    let mut kinds: Vec<String> = Vec::new();
    for s in &all {
        let kind = s["kind"].as_str().unwrap().to_string();
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    assert_eq!(keys(&raw["counts"]["by_signal"]), kinds);
    for kind in &kinds {
        let n = all.iter().filter(|s| s["kind"] == kind.as_str()).count();
        assert_eq!(doc.counts.by_signal[kind], n, "{kind}");
    }
    let severity = |level: &str| all.iter().filter(|s| s["severity"] == level).count();
    assert_eq!(
        doc.counts.by_severity,
        SeverityCounts {
            error: severity("error"),
            warn: severity("warn"),
        }
    );
    doc
}

#[track_caller]
fn status_doc(run: Run) -> StatusDoc {
    let run = run.ok();
    single_document(&run);
    let doc: StatusDoc = decode(&run);
    assert_eq!(doc.schema_version, 1);
    let raw = run.json();
    assert_keys(
        &raw,
        &["schema_version", "counts", "snapshot", "top_signals"],
    );
    assert_keys(&raw["counts"], &STATUS_COUNT_KEYS);
    if !raw["snapshot"].is_null() {
        assert_keys(
            &raw["snapshot"],
            &[
                "generated_at",
                "generated_by",
                "host",
                "duration_ms",
                "age_seconds",
                "stale",
            ],
        );
    }
    for t in raw["top_signals"].as_array().unwrap() {
        assert_keys(t, &["kind", "severity", "count"]);
    }
    doc
}

/// Every line of the event log, each checked for its key order.
fn events(repo: &Repo) -> Vec<EventLine> {
    let text = std::fs::read_to_string(repo.state_dir().join("events.jsonl")).unwrap_or_default();
    text.lines()
        .map(|line| {
            let raw: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            let mut expected = vec!["time", "actor", "task", "from", "to", "outcome"];
            for optional in ["fix", "path"] {
                if raw.get(optional).is_some() {
                    expected.push(optional);
                }
            }
            assert_keys(&raw, &expected);
            serde_json::from_value(raw)
                .unwrap_or_else(|e| panic!("event does not match the schema ({e}): {line}"))
        })
        .collect()
}

/// Adds `lines` at the end of a task file's frontmatter, as a hand edit would.
#[track_caller]
fn add_to_frontmatter(repo: &Repo, rel: &str, lines: &str) {
    let text = repo.read(rel);
    let end = text[4..].find("\n---\n").expect("a closed frontmatter") + 5;
    repo.write(rel, format!("{}{lines}{}", &text[..end], &text[end..]));
}

/// The host name the tool writes into leases (and the snapshot), read back from a lease.
fn lease_host(repo: &Repo, id: &str) -> String {
    show(repo, T1, id).lease.expect("a lease").host
}

#[test]
fn heartbeat_sweep_lists_signals_and_live_claims_with_age_and_holder() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "B-1", "C-1", "D-1"]);
    // A-1: claimed at T1, so at T2 its lease (1h) is live: a row with no signal.
    one(
        &repo,
        at(&repo, T1, &["claim", "A-1", "--as", "alice", "--json"]),
    );
    // B-1: claimed at T0; its lease ran out at T1.
    one(
        &repo,
        at(&repo, T0, &["claim", "B-1", "--as", "bob", "--json"]),
    );
    // C-1: open and healthy: no row unless --all. D-1: depends on a task nobody has.
    add_to_frontmatter(&repo, ".tasks/D-1.md", "depends_on: [ZZ-9]\n");
    // X-1: a file that cannot be parsed.
    repo.write(".tasks/X-1.md", "---\nid: X-1\ntitle: [unclosed\n---\n");

    let doc = heartbeat(at(&repo, T2, &["heartbeat", "--json"]), 7, false);
    assert_eq!(doc.generated_at, T2);
    assert!(doc.fixes.is_none());
    assert!(doc.global.is_empty(), "{doc:#?}");
    assert_eq!(doc.ids(), s(&["X-1", "B-1", "D-1", "A-1"]));

    let x = doc.row("X-1");
    assert_eq!(
        (x.status.as_str(), x.age_seconds, &x.holder),
        ("unreadable", None, &None)
    );
    let sig = x.signal("invalid_file");
    assert_eq!(sig.severity, Severity::Error);
    assert!(sig.detail.starts_with(".tasks/X-1.md:"), "{}", sig.detail);
    let ev: InvalidEvidence = evidence_of(&sig, &["path", "line"]);
    assert_eq!(ev.path, ".tasks/X-1.md");

    let b = doc.row("B-1");
    assert_eq!(b.status, "in_progress");
    assert_eq!(
        b.age_seconds,
        Some(5400),
        "claimed (updated) at T0, swept at T2"
    );
    assert_eq!(b.holder.as_deref(), Some("bob"));
    assert_eq!(b.kinds(), s(&["stale_claim"]));
    let sig = b.signal("stale_claim");
    assert_eq!(sig.severity, Severity::Warn);
    let ev: StaleEvidence = evidence_of(
        &sig,
        &["holder", "expired_at", "last_sign", "branch", "commit"],
    );
    assert_eq!(ev.holder, "bob");
    assert_eq!(ev.expired_at, T1);
    assert_eq!(ev.last_sign.as_deref(), Some(T0));
    assert_eq!(ev.branch, "tasks/B-1");
    assert_eq!(ev.commit, None, "claim makes no branch");

    let d = doc.row("D-1");
    assert_eq!(
        (d.status.as_str(), d.age_seconds, &d.holder),
        ("open", Some(5400), &None)
    );
    let sig = d.signal("dangling_dependency");
    let ev: DanglingEvidence = evidence_of(&sig, &["missing"]);
    assert_eq!(ev.missing, s(&["ZZ-9"]));

    let a = doc.row("A-1");
    assert_eq!(a.status, "in_progress");
    assert_eq!(a.age_seconds, Some(1800));
    assert_eq!(a.holder.as_deref(), Some("alice"));
    assert!(a.signals.is_empty(), "{a:#?}");

    // --fail-on changes only the exit code.
    let never = heartbeat(
        at(&repo, T2, &["heartbeat", "--fail-on", "never", "--json"]),
        0,
        false,
    );
    assert_eq!(never.tasks, doc.tasks);
    let warn = heartbeat(
        at(&repo, T2, &["heartbeat", "--fail-on", "warn", "--json"]),
        7,
        false,
    );
    assert_eq!(warn.tasks, doc.tasks);

    // --all lists every task; a task nobody holds has no holder.
    let all = heartbeat(at(&repo, T2, &["heartbeat", "--all", "--json"]), 7, false);
    assert_eq!(all.ids(), s(&["X-1", "B-1", "D-1", "A-1", "C-1"]));
    let c = all.row("C-1");
    assert_eq!(
        (c.status.as_str(), c.age_seconds, &c.holder, c.signals.len()),
        ("open", Some(5400), &None, 0)
    );

    // Warnings alone do not reach the default --fail-on error.
    std::fs::remove_file(repo.path(".tasks/X-1.md")).unwrap();
    let clean = heartbeat(at(&repo, T2, &["heartbeat", "--json"]), 0, false);
    assert_eq!(clean.ids(), s(&["B-1", "D-1", "A-1"]));

    // No live claim and no signal: an empty report.
    let repo = Repo::new();
    let empty = heartbeat(at(&repo, T0, &["heartbeat", "--json"]), 0, false);
    assert!(empty.tasks.is_empty() && empty.global.is_empty());
}

/// The signals only the full sweep raises, each with its evidence, in one repository; plus the
/// checks `drift` and `orphans` share, which the sweep runs too.
#[test]
fn heartbeat_signals_carry_their_evidence() {
    let repo = Repo::new();
    repo.write(
        ".tasks/config.yaml",
        "review: required\nidentities: { dave.fowler: [dave] }\nroles: { backend: [alice] }\n",
    );
    committed_tasks(
        &repo,
        &[
            "C-1", "C-2", "G-1", "H-1", "I-1", "J-1", "K-1", "L-1", "M-1", "N-1", "O-1",
        ],
    );
    // C-1 ⇄ C-2: a loop. G-1: its file copied, so two files carry the id.
    add_to_frontmatter(&repo, ".tasks/C-1.md", "depends_on: [C-2]\n");
    add_to_frontmatter(&repo, ".tasks/C-2.md", "depends_on: [C-1]\n");
    repo.write(".tasks/sub/G-1-copy.md", repo.read(".tasks/G-1.md"));
    // H-1: assigned to bob at T0 and never claimed.
    at(
        &repo,
        T0,
        &["set", "H-1", "assignee=bob", &format!("assigned_at={T0}")],
    )
    .ok();
    // I-1: sent to review at T1.
    at(&repo, T1, &["claim", "I-1", "--as", "alice"]).ok();
    at(&repo, T1, &["done", "I-1", "--as", "alice"]).ok();
    // J-1: owned by an alias. K-1: owned by a role nobody holds.
    add_to_frontmatter(&repo, ".tasks/J-1.md", "owner: dave\n");
    at(&repo, T0, &["set", "K-1", "owner=role:ops"]).ok();
    // L-1: failed its only attempt.
    at(&repo, T0, &["set", "L-1", "max_attempts=1"]).ok();
    at(&repo, T1, &["claim", "L-1", "--as", "alice"]).ok();
    at(
        &repo,
        T1,
        &["fail", "L-1", "--as", "alice", "--reason", "times out"],
    )
    .ok();
    // M-1: done without the done checks (through review, approved).
    at(&repo, T1, &["claim", "M-1", "--as", "bob"]).ok();
    at(
        &repo,
        T1,
        &[
            "done",
            "M-1",
            "--as",
            "bob",
            "--no-verify",
            "--reason",
            "docs only",
        ],
    )
    .ok();
    at(&repo, T1, &["approve", "M-1", "--as", "carol"]).ok();
    // N-1: claimed for a worker process that has since exited.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    at(
        &repo,
        LATE,
        &["claim", "N-1", "--as", "bob", "--pid", &pid.to_string()],
    )
    .ok();
    // O-1: open, with a claim field left behind.
    add_to_frontmatter(&repo, ".tasks/O-1.md", "claimed_by: zed\n");

    let doc = heartbeat(at(&repo, LATE, &["heartbeat", "--json"]), 7, false);
    assert_eq!(doc.generated_at, LATE);
    assert!(doc.global.is_empty(), "{doc:#?}");
    let mut ids = doc.ids();
    ids.sort();
    assert_eq!(
        ids,
        s(&[
            "C-1", "C-2", "G-1", "H-1", "I-1", "J-1", "K-1", "L-1", "M-1", "N-1", "O-1"
        ])
    );

    for id in ["C-1", "C-2"] {
        let row = doc.row(id);
        let sig = row.signal("dependency_cycle");
        assert_eq!(sig.severity, Severity::Error);
        assert_eq!(sig.detail, "depends_on loops: C-1 → C-2 → C-1");
        let ev: CycleEvidence = evidence_of(&sig, &["cycle"]);
        assert_eq!(ev.cycle, s(&["C-1", "C-2"]));
    }

    // Both files of G-1 are unreadable as G-1: one row, one signal per file.
    let g = doc.row("G-1");
    assert_eq!(
        (g.status.as_str(), g.age_seconds, &g.holder),
        ("unreadable", None, &None)
    );
    assert_eq!(g.kinds(), s(&["duplicate_id", "duplicate_id"]));
    let paths: Vec<String> = g
        .signals()
        .iter()
        .map(|sig| {
            assert_eq!(sig.severity, Severity::Error);
            evidence_of::<InvalidEvidence>(sig, &["path", "line"]).path
        })
        .collect();
    assert_eq!(paths, s(&[".tasks/G-1.md", ".tasks/sub/G-1-copy.md"]));

    let h = doc.row("H-1");
    assert_eq!((h.status.as_str(), &h.holder), ("open", &None));
    let sig = h.signal("pickup_overdue");
    assert_eq!(sig.severity, Severity::Warn);
    let ev: PickupEvidence = evidence_of(&sig, &["assignee", "assigned_at"]);
    assert_eq!(ev.assignee.as_deref(), Some("bob"));
    assert_eq!(ev.assigned_at.as_deref(), Some(T0));

    // In review since T1. Its lease ran out long ago, but in review the worker is done:
    // waiting is the reviewer's, so no stale_claim.
    let i = doc.row("I-1");
    assert_eq!(
        (i.status.as_str(), i.holder.as_deref()),
        ("in_review", Some("alice"))
    );
    assert_eq!(i.age_seconds, Some(26 * 3600));
    let mut kinds = i.kinds();
    kinds.sort();
    assert_eq!(kinds, s(&["stuck_in_review"]));
    let sig = i.signal("stuck_in_review");
    assert_eq!(sig.severity, Severity::Warn);
    let ev: ReviewEvidence = evidence_of(&sig, &["since"]);
    assert_eq!(ev.since.as_deref(), Some(T1));

    let j = doc.row("J-1");
    let sig = j.signal("owner_alias");
    assert_eq!(sig.severity, Severity::Warn);
    let list = sig.evidence.clone().expect("evidence");
    for entry in list.as_array().expect("a list") {
        assert_keys(entry, &["key", "name", "canonical"]);
    }
    let ev: Vec<AliasEvidence> = evidence(&sig);
    assert_eq!(
        ev,
        vec![AliasEvidence {
            key: "owner".into(),
            name: "dave".into(),
            canonical: "dave.fowler".into(),
        }]
    );

    let sig = doc.row("K-1").signal("unroutable_owner");
    assert_eq!(sig.severity, Severity::Warn);
    let ev: OwnerEvidence = evidence_of(&sig, &["owner"]);
    assert_eq!(ev.owner, "role:ops");

    let l = doc.row("L-1");
    assert_eq!(l.status, "failed");
    let sig = l.signal("retry_exhausted");
    assert_eq!(sig.severity, Severity::Error);
    let ev: RetryEvidence = evidence_of(&sig, &["attempts", "max_attempts", "failed_agents"]);
    assert_eq!((ev.attempts, ev.max_attempts), (1, 1));
    assert_eq!(ev.failed_agents, s(&["alice"]));

    let m = doc.row("M-1");
    assert_eq!(m.status, "done");
    let sig = m.signal("unverified_done");
    assert_eq!(sig.severity, Severity::Warn);
    assert!(sig.detail.ends_with(": docs only"), "{}", sig.detail);
    let ev: UnverifiedEvidence = evidence_of(&sig, &["outcome_by"]);
    assert_eq!(ev.outcome_by.as_deref(), Some("carol"));

    // Claimed just now, so not stale; but its worker is gone.
    let n = doc.row("N-1");
    assert_eq!((n.age_seconds, n.holder.as_deref()), (Some(0), Some("bob")));
    assert_eq!(n.kinds(), s(&["worker_gone"]));
    let sig = n.signal("worker_gone");
    assert_eq!(sig.severity, Severity::Error);
    let ev: WorkerPidEvidence = evidence_of(&sig, &["claimed_by", "pid", "host"]);
    assert_eq!(ev.claimed_by.as_deref(), Some("bob"));
    assert_eq!(ev.pid, pid);
    assert_eq!(ev.host, Some(lease_host(&repo, "N-1")));

    let sig = doc.row("O-1").signal("orphan_claim");
    let ev: OrphanClaimEvidence = evidence_of(&sig, &["keys"]);
    assert_eq!(ev.keys, s(&["claimed_by"]));
}

/// `--fix`: each repair is listed in `fixes` and logged; a second run finds nothing to do; an
/// unreadable file is never touched, and the sweep that follows still reports it (exit 7, one
/// document).
#[test]
fn heartbeat_fix_lists_and_logs_each_repair() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "B-1", "C-1", "D-1", "E-1"]);
    // A-1: claimed at T0; by T4 the lease is out and reclaim_after (2h) has passed.
    at(&repo, T0, &["claim", "A-1", "--as", "alice"]).ok();
    // B-1: claimed at T2; its lease runs to T4 exactly, so it has not run out.
    at(&repo, T2, &["claim", "B-1", "--as", "bob"]).ok();
    // C-1: claimed at T0 for 4h: no sign of life for 2.5h, but the lease is live.
    at(
        &repo,
        T0,
        &["claim", "C-1", "--as", "carol", "--lease", "4h"],
    )
    .ok();
    // D-1: open, with claim fields left behind.
    add_to_frontmatter(
        &repo,
        ".tasks/D-1.md",
        "claimed_by: zed\nbranch: tasks/D-1\n",
    );
    // X-1: unreadable, with claim fields: never touched.
    let broken = "---\nid: X-1\ntitle: [unclosed\nclaimed_by: zed\n---\n";
    repo.write(".tasks/X-1.md", broken);
    // An interrupted write of E-1 from an hour ago, another of nobody, and one just made.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let stale_temp = ".tasks/.tasks-tmp-1-2-E-1.md";
    let anonymous_temp = ".tasks/sub/.tasks-tmp-1-3-junk.md";
    let fresh_temp = ".tasks/.tasks-tmp-1-4-E-1.md";
    repo.write(stale_temp, repo.read(".tasks/E-1.md"));
    repo.write(anonymous_temp, "half a fi");
    repo.write(fresh_temp, repo.read(".tasks/E-1.md"));
    for rel in [stale_temp, anonymous_temp] {
        std::fs::File::options()
            .write(true)
            .open(repo.path(rel))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let events_before = events(&repo);

    let doc = heartbeat(
        at(&repo, T4, &["heartbeat", "--fix", "--as", "ops", "--json"]),
        7,
        true,
    );
    let fixes = doc.fixes();
    let summary: Vec<(Option<&str>, FixKind)> =
        fixes.iter().map(|f| (f.task.as_deref(), f.fix)).collect();
    assert_eq!(
        summary,
        vec![
            (Some("A-1"), FixKind::ReleasedExpiredClaim),
            (Some("D-1"), FixKind::ClearedClaimFields),
            (Some("E-1"), FixKind::RemovedTempFile),
            (None, FixKind::RemovedTempFile),
        ]
    );
    assert_eq!(
        fixes[0].detail,
        "A-1: in_progress → open (expired): no sign of life from alice for 2h (reclaim_after 2h)"
    );
    assert_eq!(
        fixes[1].detail,
        "D-1: cleared claimed_by, branch (open holds no claim)"
    );
    assert_eq!(
        fixes[2].detail,
        format!("removed the leftover temp file {stale_temp}")
    );
    assert_eq!(
        fixes[3].detail,
        format!("removed the leftover temp file {anonymous_temp}")
    );

    // The sweep runs after the repairs: A-1 and D-1 are clean now; X-1 is still broken.
    assert_eq!(doc.ids(), s(&["X-1", "B-1", "C-1"]));
    assert!(doc.row("B-1").signals.is_empty() && doc.row("C-1").signals.is_empty());

    // A-1 was released as a transition would release it.
    let shown = show(&repo, T4, "A-1");
    let a = shown.task;
    assert_eq!(a.status, Status::Open);
    assert_eq!(a.outcome, Some(Outcome::Expired));
    assert_eq!(a.outcome_at.as_deref(), Some(T4));
    assert_eq!(a.outcome_by.as_deref(), Some("ops"));
    assert_eq!(
        a.reason.as_deref(),
        Some("no sign of life from alice for 2h (reclaim_after 2h)")
    );
    assert_eq!(a.updated_at, T4);
    assert_eq!((a.claimed_by, a.claimed_at), (None, None));
    assert!(shown.lease.is_none(), "the lease is removed");
    let d = show(&repo, T4, "D-1").task;
    assert_eq!(
        (d.claimed_by, d.branch, d.updated_at.as_str()),
        (None, None, T4)
    );
    assert_eq!(repo.read(".tasks/X-1.md"), broken);
    assert!(!repo.path(stale_temp).exists() && !repo.path(anonymous_temp).exists());
    assert!(repo.path(fresh_temp).exists(), "younger than a minute");

    // One event per repair, after the earlier ones.
    let log = events(&repo);
    assert_eq!(log[..events_before.len()], events_before[..]);
    let new = &log[events_before.len()..];
    assert_eq!(new.len(), 4, "{new:#?}");
    let event = |task: &str, from: &str, to: &str, outcome: Option<&str>| EventLine {
        time: T4.into(),
        actor: "ops".into(),
        task: task.into(),
        from: Some(from.into()),
        to: to.into(),
        outcome: outcome.map(Into::into),
        fix: None,
        path: None,
    };
    assert_eq!(new[0], event("A-1", "in_progress", "open", Some("expired")));
    assert_eq!(
        new[1],
        EventLine {
            fix: Some("cleared_claim_fields".into()),
            ..event("D-1", "open", "open", None)
        }
    );
    assert_eq!(
        new[2],
        EventLine {
            fix: Some("removed_temp_file".into()),
            path: Some(stale_temp.into()),
            ..event("E-1", "open", "open", None)
        }
    );
    assert_eq!(
        (
            new[3].time.as_str(),
            new[3].actor.as_str(),
            new[3].outcome.as_deref()
        ),
        (T4, "ops", None)
    );
    assert_eq!(new[3].fix.as_deref(), Some("removed_temp_file"));
    assert_eq!(new[3].path.as_deref(), Some(anonymous_temp));

    // Again: nothing left to repair, nothing written, nothing logged.
    let files: Vec<Vec<u8>> = ["A-1", "B-1", "C-1", "D-1"]
        .iter()
        .map(|id| repo.read_bytes(&format!(".tasks/{id}.md")))
        .collect();
    let again = heartbeat(
        at(&repo, T4, &["heartbeat", "--fix", "--as", "ops", "--json"]),
        7,
        true,
    );
    assert!(again.fixes().is_empty(), "{again:#?}");
    assert_eq!(again.tasks, doc.tasks);
    let after: Vec<Vec<u8>> = ["A-1", "B-1", "C-1", "D-1"]
        .iter()
        .map(|id| repo.read_bytes(&format!(".tasks/{id}.md")))
        .collect();
    assert_eq!(after, files);
    assert_eq!(events(&repo), log);
}

/// `--fix` writes under the lock, so a held lock is exit 5 with an error document (and no
/// snapshot); the sweep without `--fix` takes no lock.
#[test]
fn heartbeat_fix_times_out_on_a_held_lock() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1"]);
    at(&repo, T0, &["claim", "A-1", "--as", "alice"]).ok();
    let lock = std::fs::File::options()
        .write(true)
        .open(repo.state_dir().join("lock"))
        .unwrap();
    lock.lock().unwrap();

    let run = repo
        .command_in(&repo.root)
        .env("TASKS_NOW", T4)
        .env("TASKS_LOCK_TIMEOUT", "0")
        .args(["heartbeat", "--fix", "--as", "ops", "--json"])
        .output()
        .unwrap();
    let run = Run::from_output(run).expect(5);
    single_document(&run);
    let e = error(run, 5, "lock_timeout");
    assert!(e.message.contains("lock"), "{e:?}");
    assert!(!repo.state_dir().join("heartbeat.json").exists());
    assert_eq!(show(&repo, T4, "A-1").task.status, Status::InProgress);

    let doc = heartbeat(
        Run::from_output(
            repo.command_in(&repo.root)
                .env("TASKS_NOW", T4)
                .env("TASKS_LOCK_TIMEOUT", "0")
                .args(["heartbeat", "--as", "ops", "--json"])
                .output()
                .unwrap(),
        ),
        0,
        false,
    );
    assert_eq!(doc.row("A-1").kinds(), s(&["stale_claim"]));
    assert!(repo.state_dir().join("heartbeat.json").exists());
    drop(lock);
}

/// `heartbeat --here --json`: the task document of the claim recording this worktree, its
/// lease renewed; elsewhere `"task": null`.
#[test]
fn heartbeat_here_renews_the_claim_of_this_worktree() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1"]);
    start(&repo, T0, "A-1", "alice");

    let run = at(&repo, T1, &["heartbeat", "--here", "--json"]).ok();
    single_document(&run);
    assert_eq!(
        run.json(),
        serde_json::json!({"schema_version": 1, "task": null})
    );
    assert_eq!(show(&repo, T1, "A-1").lease.unwrap().renewed_at, T0);

    let run = at_in(
        &repo,
        &wt_dir(&repo, "A-1"),
        T1,
        &["heartbeat", "--here", "--json"],
    )
    .ok();
    single_document(&run);
    let doc: OneDoc = decode(&run);
    assert_eq!(doc.task.id, "A-1");
    assert_task_matches_file(&repo, &run.json()["task"]);
    let lease = show(&repo, T1, "A-1").lease.unwrap();
    assert_eq!(
        (lease.renewed_at.as_str(), lease.expires_at.as_str()),
        (T1, T3)
    );
}

/// The snapshot: written by every sweep, whatever the exit code, with who ran it, where, and
/// counts that match its rows.
#[test]
fn heartbeat_writes_a_snapshot() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "B-1", "C-1"]);
    at(&repo, T0, &["claim", "A-1", "--as", "alice"]).ok();
    at(&repo, T1, &["claim", "C-1", "--as", "carol"]).ok();
    at(
        &repo,
        T1,
        &["block", "C-1", "--as", "carol", "--reason", "waiting"],
    )
    .ok();
    add_to_frontmatter(&repo, ".tasks/B-1.md", "depends_on: [ZZ-9]\n");
    repo.write(".tasks/X-1.md", "---\nid: X-1\ntitle: [unclosed\n---\n");

    let doc = heartbeat(
        at(&repo, T2, &["heartbeat", "--as", "ops", "--json"]),
        7,
        false,
    );
    let snap = snapshot_file(&repo);
    assert_eq!(snap.generated_at, T2);
    assert_eq!(snap.generated_by, "ops");
    assert_eq!(snap.host, Some(lease_host(&repo, "A-1")));
    assert!(snap.global.is_empty(), "{snap:#?}");
    assert_eq!(
        snap.tasks, doc.tasks,
        "the snapshot holds the sweep's rows, in order"
    );
    assert_eq!(
        snap.counts.by_status,
        StatusCounts {
            open: 1,
            in_progress: 1,
            in_review: 0,
            blocked: 1,
            done: 0,
            failed: 0,
            cancelled: 0,
            unreadable: 1,
        }
    );
    assert_eq!(
        keys(&serde_json::to_value(&snap.counts.by_signal).unwrap()),
        s(&["invalid_file", "stale_claim", "dangling_dependency"])
    );
    assert_eq!(
        snap.counts.by_severity,
        SeverityCounts { error: 1, warn: 2 }
    );

    // A clean sweep replaces it, also under --fail-on never and in human mode.
    std::fs::remove_file(repo.path(".tasks/X-1.md")).unwrap();
    at(
        &repo,
        T3,
        &["heartbeat", "--as", "bob", "--fail-on", "never"],
    )
    .ok();
    let snap = snapshot_file(&repo);
    assert_eq!(
        (snap.generated_at.as_str(), snap.generated_by.as_str()),
        (T3, "bob")
    );
    assert_eq!(snap.counts.by_status.unreadable, 0);
    assert_eq!(
        snap.counts.by_severity,
        SeverityCounts { error: 0, warn: 2 }
    );
}

/// `status --json`: counts from the files now; the last snapshot's age and freshness; its most
/// frequent signals, errors first.
#[test]
fn status_reports_counts_and_the_last_sweep() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1", "B-1", "C-1", "D-1", "E-1", "F-1", "G-1"]);

    // Before any sweep: no snapshot, stale, a warning, exit 0.
    let run = at(&repo, T0, &["status", "--json"]);
    let stderr = run.stderr.clone();
    let doc = status_doc(run);
    assert!(
        doc.snapshot.is_none() && doc.top_signals.is_empty(),
        "{doc:#?}"
    );
    assert_eq!(doc.counts.open, 7);
    assert!(stderr.contains("no sweep has run yet"), "{stderr}");

    // Signals of six kinds: two of them errors, one kind twice.
    at(&repo, T0, &["claim", "A-1", "--as", "alice"]).ok();
    add_to_frontmatter(&repo, ".tasks/B-1.md", "depends_on: [ZZ-9]\n");
    add_to_frontmatter(&repo, ".tasks/C-1.md", "depends_on: [ZZ-8]\n");
    add_to_frontmatter(&repo, ".tasks/D-1.md", "claimed_by: zed\n");
    at(&repo, T0, &["set", "E-1", "owner=role:ops"]).ok();
    add_to_frontmatter(&repo, ".tasks/F-1.md", "depends_on: [F-1]\n");
    repo.write(".tasks/X-1.md", "---\nid: X-1\ntitle: [unclosed\n---\n");
    heartbeat(
        at(&repo, T2, &["heartbeat", "--as", "ops", "--json"]),
        7,
        false,
    );
    let snap = snapshot_file(&repo);

    // Half an hour later: fresh under the default --max-age 1h.
    let run = at(&repo, T3, &["status", "--json"]);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let doc = status_doc(run);
    assert_eq!(
        doc.counts,
        StatusCounts {
            open: 6,
            in_progress: 1,
            in_review: 0,
            blocked: 0,
            done: 0,
            failed: 0,
            cancelled: 0,
            unreadable: 1,
        }
    );
    let sum = doc.snapshot.expect("a snapshot");
    assert_eq!(sum.generated_at, T2);
    assert_eq!(sum.generated_by, "ops");
    assert_eq!(sum.host, snap.host);
    assert_eq!(sum.duration_ms, snap.duration_ms);
    assert_eq!(sum.age_seconds, 1800);
    assert!(!sum.stale);
    let top = |kind: &str, severity: Severity, count: usize| TopSignal {
        kind: kind.into(),
        severity,
        count,
    };
    assert_eq!(
        doc.top_signals,
        vec![
            top("dependency_cycle", Severity::Error, 1),
            top("invalid_file", Severity::Error, 1),
            top("dangling_dependency", Severity::Warn, 2),
            top("orphan_claim", Severity::Warn, 1),
            top("stale_claim", Severity::Warn, 1),
        ],
        "errors first, then the most frequent, then by kind; five at most"
    );

    // Older than --max-age: stale, with a warning; still exit 0.
    let run = at(&repo, T3, &["status", "--max-age", "10m", "--json"]);
    assert!(run.stderr.contains("over --max-age 10m"), "{}", run.stderr);
    let sum = status_doc(run).snapshot.expect("a snapshot");
    assert_eq!(sum.age_seconds, 1800);
    assert!(sum.stale);

    // The counts are the files' now, not the snapshot's.
    std::fs::remove_file(repo.path(".tasks/X-1.md")).unwrap();
    let doc = status_doc(at(&repo, T3, &["status", "--json"]));
    assert_eq!(doc.counts.unreadable, 0);
    assert_eq!(doc.top_signals.len(), 5);
}

/// `hooks install|uninstall --json`: where the hooks are, what changed, what was left alone.
#[test]
fn hooks_report_what_they_installed_removed_and_skipped() {
    let repo = Repo::new();
    let hooks = repo.root.join(".git").join("hooks");
    let all = s(&["post-commit", "post-merge", "post-checkout"]);

    let run = |args: &[&str], code: i32| -> Value {
        let run = repo.tasks(args).expect(code);
        single_document(&run);
        run.json()
    };
    let installed = |raw: Value| -> HooksInstalledDoc {
        assert_keys(
            &raw,
            &["schema_version", "hooks_dir", "installed", "skipped"],
        );
        for s in raw["skipped"].as_array().unwrap() {
            assert_keys(s, &["hook", "reason"]);
        }
        let doc: HooksInstalledDoc = serde_json::from_value(raw).unwrap();
        assert_eq!(doc.schema_version, 1);
        doc
    };
    let removed = |raw: Value| -> HooksRemovedDoc {
        assert_keys(&raw, &["schema_version", "hooks_dir", "removed", "skipped"]);
        let doc: HooksRemovedDoc = serde_json::from_value(raw).unwrap();
        assert_eq!(doc.schema_version, 1);
        doc
    };

    // An existing shell hook keeps its content.
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(hooks.join("post-merge"), "#!/bin/sh\necho merged\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(hooks.join("post-merge"), mode).unwrap();
    }
    let doc = installed(run(&["hooks", "install", "--json"], 0));
    assert_eq!(doc.hooks_dir, hooks.display().to_string());
    assert_eq!(doc.installed, all);
    assert!(doc.skipped.is_empty());
    let merge = std::fs::read_to_string(hooks.join("post-merge")).unwrap();
    assert!(
        merge.starts_with("#!/bin/sh\n") && merge.ends_with("echo merged\n"),
        "{merge}"
    );

    // Again: nothing to change.
    let doc = installed(run(&["hooks", "install", "--json"], 0));
    assert!(
        doc.installed.is_empty() && doc.skipped.is_empty(),
        "{doc:#?}"
    );

    // A hook in another language is left alone: exit 1, still one document, no error document.
    std::fs::write(
        hooks.join("post-checkout"),
        "#!/usr/bin/env python3\nprint('hi')\n",
    )
    .unwrap();
    let doc = installed(run(&["hooks", "install", "--json"], 1));
    assert!(doc.installed.is_empty());
    assert_eq!(doc.skipped.len(), 1);
    assert_eq!(doc.skipped[0].hook, "post-checkout");
    assert!(
        doc.skipped[0].reason.contains("not a shell script"),
        "{doc:#?}"
    );

    // Uninstall takes the sections out, deletes a hook that held nothing else, keeps the rest.
    let doc = removed(run(&["hooks", "uninstall", "--json"], 0));
    assert_eq!(doc.hooks_dir, hooks.display().to_string());
    assert_eq!(doc.removed, s(&["post-commit", "post-merge"]));
    assert!(doc.skipped.is_empty());
    assert!(!hooks.join("post-commit").exists());
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-merge")).unwrap(),
        "#!/bin/sh\necho merged\n"
    );
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-checkout")).unwrap(),
        "#!/usr/bin/env python3\nprint('hi')\n"
    );
    let doc = removed(run(&["hooks", "uninstall", "--json"], 0));
    assert!(doc.removed.is_empty() && doc.skipped.is_empty());

    // core.hooksPath is where git looks, so it is where they go.
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let doc = installed(run(&["hooks", "install", "--json"], 0));
    assert_eq!(
        doc.hooks_dir,
        repo.root.join(".githooks").display().to_string()
    );
    assert_eq!(doc.installed, all);
    assert!(repo.root.join(".githooks/post-commit").is_file());
}

/// DESIGN §4: the sweep expires `in_progress` claims; a task in review is waiting for its
/// reviewer (`stuck_in_review` after `sla.review`, 24h), not for its worker.
#[test]
fn heartbeat_fix_leaves_a_task_in_review_to_its_reviewer() {
    let repo = Repo::new();
    repo.write(".tasks/config.yaml", "review: required\n");
    committed_tasks(&repo, &["A-1"]);
    at(&repo, T0, &["claim", "A-1", "--as", "alice"]).ok();
    at(&repo, T0, &["done", "A-1", "--as", "alice"]).ok();
    assert_eq!(show(&repo, T0, "A-1").task.status, Status::InReview);

    let doc = heartbeat(
        at(&repo, T4, &["heartbeat", "--fix", "--as", "ops", "--json"]),
        0,
        true,
    );
    assert!(doc.fixes().is_empty(), "{doc:#?}");
    let a = show(&repo, T4, "A-1").task;
    assert_eq!(a.status, Status::InReview);
    assert_eq!(a.outcome, Some(Outcome::NeedsReview));
}

/// A task that exists only in a worktree has the status of its worktree copy in `drift`; the
/// full sweep reports the same task with the same signal, and so the same status.
#[test]
fn heartbeat_row_of_a_task_new_in_a_worktree_has_its_worktree_status() {
    let repo = Repo::new();
    committed_tasks(&repo, &["A-1"]);
    start(&repo, T0, "A-1", "alice");
    std::fs::write(
        wt_file(&repo, "A-1", "N-1"),
        format!("---\nid: N-1\ntitle: New in worktree\nstatus: open\npriority: 1\ncreated_at: {T0}\nupdated_at: {T0}\n---\n"),
    )
    .unwrap();

    let drift = sweep(at(&repo, T0, &["drift", "--json"]), 0);
    assert_eq!(drift.row("N-1").status, "open");
    let doc = heartbeat(at(&repo, T0, &["heartbeat", "--json"]), 0, false);
    let row = doc.row("N-1");
    assert_eq!(row.kinds(), s(&["metadata_drift"]));
    assert_eq!(row.status, "open");
}
