//! The dependency graph and the flow metrics end to end: `tasks tracks` (components, critical
//! paths, file conflicts, a plan for N agents), `tasks graph` in its three drawings,
//! `tasks dep tree|cycles`, and `tasks stats` over a hand-written event log. Every fixture is
//! written by hand with fixed ids, so every expected answer below is computed by hand.

use std::io::Read;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Repo, Run};

/// When the fixture tasks were created (unless a test says otherwise).
const T0: &str = "2035-01-01T00:00:00Z";

/// A task file by hand: `extra` is more frontmatter lines, each ending in a newline.
fn task_text(id: &str, extra: &str) -> String {
    format!(
        "---\nid: {id}\ntitle: Task {id}\n{extra}created_at: {T0}\nupdated_at: {T0}\n---\nBody of {id}.\n"
    )
}

fn put(repo: &Repo, id: &str, extra: &str) {
    repo.write(&format!(".tasks/{id}.md"), task_text(id, extra));
}

/// A task file with its own title and creation time.
fn put_full(repo: &Repo, id: &str, title: &str, created: &str, extra: &str) {
    repo.write(
        &format!(".tasks/{id}.md"),
        format!("---\nid: {id}\ntitle: {title}\n{extra}created_at: {created}\nupdated_at: {created}\n---\n"),
    );
}

/// Runs `tasks` in the root with the clock pinned at `now`.
fn at(repo: &Repo, now: &str, args: &[&str]) -> Run {
    Run::from_output(
        repo.command_in(&repo.root)
            .env("TASKS_NOW", now)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// Runs `tasks` and fails the test (killing the process) if it has not finished within 30
/// seconds: for graphs with loops, which must never be walked forever.
fn within_deadline(repo: &Repo, args: &[&str]) -> Run {
    let mut child = repo
        .command_in(&repo.root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        let _ = stderr.read_to_end(&mut err);
        let _ = tx.send((out, err));
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok((out, err)) => {
            let status = child.wait().unwrap();
            Run {
                code: status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out).into_owned(),
                stderr: String::from_utf8_lossy(&err).into_owned(),
            }
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tasks {args:?} (pid {pid}) did not finish within 30s");
        }
    }
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Components, their order and critical paths
// ---------------------------------------------------------------------------------------------

/// a ← b ← d, a ← c ; f ← g ; e (its dependency z is done) ; x alone. Finished tasks that
/// depend on open ones (y cancelled on f, w failed on x) must not appear or join anything.
fn components_fixture(repo: &Repo) {
    put(repo, "T-a", "status: open\n");
    put(repo, "T-b", "status: open\ndepends_on: [T-a]\n");
    put(repo, "T-c", "status: open\ndepends_on: [T-a]\n");
    put(repo, "T-d", "status: open\ndepends_on: [T-b]\n");
    put(repo, "T-z", "status: done\noutcome: completed\n");
    put(repo, "T-e", "status: open\ndepends_on: [T-z]\n");
    put(repo, "T-f", "status: open\n");
    put(repo, "T-g", "status: open\ndepends_on: [T-f]\n");
    put(repo, "T-x", "status: open\n");
    put(repo, "T-y", "status: cancelled\ndepends_on: [T-f]\n");
    put(repo, "T-w", "status: failed\ndepends_on: [T-x]\n");
}

#[test]
fn tracks_are_the_components_longest_critical_path_first() {
    let repo = Repo::new();
    components_fixture(&repo);
    let doc = repo.tasks(&["tracks", "--json"]).ok().json();
    assert_eq!(
        doc,
        json!({
            "schema_version": 1,
            "tracks": [
                {"track": 1, "tasks": ["T-a", "T-b", "T-c", "T-d"],
                 "critical_path": ["T-a", "T-b", "T-d"], "critical_path_length": 3,
                 "ready": 1, "conflicts_with": []},
                {"track": 2, "tasks": ["T-f", "T-g"],
                 "critical_path": ["T-f", "T-g"], "critical_path_length": 2,
                 "ready": 1, "conflicts_with": []},
                // Same length: the smaller first id first.
                {"track": 3, "tasks": ["T-e"],
                 "critical_path": ["T-e"], "critical_path_length": 1,
                 "ready": 1, "conflicts_with": []},
                {"track": 4, "tasks": ["T-x"],
                 "critical_path": ["T-x"], "critical_path_length": 1,
                 "ready": 1, "conflicts_with": []},
            ],
            "plan": null,
        })
    );

    let text = repo.tasks(&["tracks"]).ok().stdout;
    assert_eq!(
        lines(&text),
        [
            "track 1: 4 tasks, critical path 3 (T-a → T-b → T-d), 1 ready",
            "  T-a  ready  Task T-a",
            "  T-b  -  Task T-b",
            "  T-c  -  Task T-c",
            "  T-d  -  Task T-d",
            "track 2: 2 tasks, critical path 2 (T-f → T-g), 1 ready",
            "  T-f  ready  Task T-f",
            "  T-g  -  Task T-g",
            "track 3: 1 task, critical path 1 (T-e), 1 ready",
            "  T-e  ready  Task T-e",
            "track 4: 1 task, critical path 1 (T-x), 1 ready",
            "  T-x  ready  Task T-x",
        ]
    );
}

#[test]
fn track_order_puts_dependencies_first_then_priority_then_id() {
    let repo = Repo::new();
    components_fixture(&repo);
    // b sinks below c once both are free (priority 3 after 2); d still comes after b.
    put(
        &repo,
        "T-b",
        "status: open\npriority: 3\ndepends_on: [T-a]\n",
    );
    // A second root with a higher priority than a goes first although its id is larger.
    put(&repo, "T-h", "status: open\npriority: 0\n");
    put(&repo, "T-d", "status: open\ndepends_on: [T-b, T-h]\n");
    let doc = repo.tasks(&["tracks", "--json"]).ok().json();
    let first = &doc["tracks"][0];
    assert_eq!(ids(&first["tasks"]), ["T-h", "T-a", "T-c", "T-b", "T-d"]);
    assert_eq!(ids(&first["critical_path"]), ["T-a", "T-b", "T-d"]);
    assert_eq!(first["ready"], 2, "{doc:#}");
    assert_eq!(doc["tracks"].as_array().unwrap().len(), 4, "{doc:#}");
}

#[test]
fn a_finished_task_joins_no_track_and_the_done_dependency_does_not_join_one() {
    let repo = Repo::new();
    components_fixture(&repo);
    let doc = repo.tasks(&["tracks", "--json"]).ok().json();
    let all: Vec<String> = doc["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| ids(&t["tasks"]))
        .collect();
    for finished in ["T-z", "T-y", "T-w"] {
        assert!(
            !all.contains(&finished.to_string()),
            "{finished} in {doc:#}"
        );
    }
    // Everything finished: no tracks at all.
    let repo = Repo::new();
    put(&repo, "T-z", "status: done\n");
    put(&repo, "T-y", "status: cancelled\ndepends_on: [T-z]\n");
    let doc = repo.tasks(&["tracks", "--json"]).ok().json();
    assert_eq!(doc["tracks"], json!([]));
    let run = repo.tasks(&["tracks"]).ok();
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("no unfinished tasks"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// 2. File conflicts between tracks
// ---------------------------------------------------------------------------------------------

#[test]
fn tracks_whose_file_globs_overlap_conflict_both_ways_and_others_do_not() {
    let repo = Repo::new();
    // Track q (2 tasks): its second task names src/pool.rs (as a plain string).
    put(&repo, "T-q1", "status: open\n");
    put(
        &repo,
        "T-q2",
        "status: open\ndepends_on: [T-q1]\nfiles: src/pool.rs\n",
    );
    // Track r (2 tasks): globs that overlap each other (same track: no conflict) but not
    // src/*.rs, since `*` stays within a folder.
    put(&repo, "T-r1", "status: open\nfiles: [src/a/b.rs]\n");
    put(
        &repo,
        "T-r2",
        "status: open\ndepends_on: [T-r1]\nfiles: [\"src/a/*.rs\"]\n",
    );
    // Track p: src/*.rs, which matches src/pool.rs.
    put(&repo, "T-p1", "status: open\nfiles: [\"src/*.rs\"]\n");
    // Track s: docs only.
    put(&repo, "T-s1", "status: open\nfiles: [\"docs/*.md\"]\n");
    // Track t: no files at all.
    put(&repo, "T-t1", "status: open\n");

    let doc = repo.tasks(&["tracks", "--json"]).ok().json();
    let summary: Vec<(Vec<String>, Value)> = doc["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (ids(&t["tasks"]), t["conflicts_with"].clone()))
        .collect();
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            (v(&["T-q1", "T-q2"]), json!([3])),
            (v(&["T-r1", "T-r2"]), json!([])),
            (v(&["T-p1"]), json!([1])),
            (v(&["T-s1"]), json!([])),
            (v(&["T-t1"]), json!([])),
        ],
        "{doc:#}"
    );
    let text = repo.tasks(&["tracks"]).ok().stdout;
    let said: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("conflicts with"))
        .collect();
    assert_eq!(
        said,
        [
            "  conflicts with track 3 (their files: globs overlap)",
            "  conflicts with track 1 (their files: globs overlap)",
        ]
    );
}

#[test]
fn a_double_star_folder_glob_also_matches_no_folder_at_all() {
    let repo = Repo::new();
    put(&repo, "T-g1", "status: open\nfiles: [\"src/**/*.rs\"]\n");
    put(&repo, "T-g2", "status: open\nfiles: [src/main.rs]\n");
    put(&repo, "T-h1", "status: open\nfiles: [\"**/*.md\"]\n");
    put(&repo, "T-h2", "status: open\nfiles: [README.md]\n");
    let doc = repo.tasks(&["tracks", "--json"]).ok().json();
    let conflicts: Vec<(Vec<String>, Value)> = doc["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (ids(&t["tasks"]), t["conflicts_with"].clone()))
        .collect();
    let v = |x: &str| vec![x.to_string()];
    assert_eq!(
        conflicts,
        vec![
            (v("T-g1"), json!([2])),
            (v("T-g2"), json!([1])),
            (v("T-h1"), json!([4])),
            (v("T-h2"), json!([3])),
        ],
        "{doc:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. A plan for 3 agents
// ---------------------------------------------------------------------------------------------

/// Tracks (in their order): 1 = a1..a4 (critical path 4, names src/pool.rs), 2 = b1..b3 (3),
/// 3 = c1..c2 (2, names src/*.rs: conflicts with 1), 4 = d1..d2 (2), 5 = e1 (1), 6 = f1 (1).
fn plan_fixture(repo: &Repo) {
    put(repo, "T-a1", "status: open\nfiles: [src/pool.rs]\n");
    put(repo, "T-a2", "status: open\ndepends_on: [T-a1]\n");
    put(repo, "T-a3", "status: open\ndepends_on: [T-a2]\n");
    put(repo, "T-a4", "status: open\ndepends_on: [T-a3]\n");
    put(repo, "T-b1", "status: open\n");
    put(repo, "T-b2", "status: open\ndepends_on: [T-b1]\n");
    put(repo, "T-b3", "status: open\ndepends_on: [T-b2]\n");
    put(repo, "T-c1", "status: open\n");
    put(
        repo,
        "T-c2",
        "status: open\ndepends_on: [T-c1]\nfiles: [\"src/*.rs\"]\n",
    );
    put(repo, "T-d1", "status: open\nfiles: [\"docs/*.md\"]\n");
    put(repo, "T-d2", "status: open\ndepends_on: [T-d1]\n");
    put(repo, "T-e1", "status: open\n");
    put(repo, "T-f1", "status: open\n");
}

#[test]
fn plan_for_three_agents_keeps_conflicting_tracks_together_and_balances_load() {
    let repo = Repo::new();
    plan_fixture(&repo);
    let doc = repo
        .tasks(&["tracks", "--agents", "3", "--json"])
        .ok()
        .json();
    let lengths: Vec<u64> = doc["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["critical_path_length"].as_u64().unwrap())
        .collect();
    assert_eq!(lengths, [4, 3, 2, 2, 1, 1], "{doc:#}");
    assert_eq!(doc["tracks"][0]["conflicts_with"], json!([3]));
    assert_eq!(doc["tracks"][2]["conflicts_with"], json!([1]));
    // Groups, heaviest first: {1,3} = 6, {2} = 3, {4} = 2, {5} = 1, {6} = 1.
    // 6 → agent 1; 3 → agent 2; 2 → agent 3; {5} → agent 3 (load 2, the least) = 3;
    // {6} → agents 2 and 3 tie at 3: the lower, agent 2.
    assert_eq!(
        doc["plan"],
        json!([
            {"agent": 1, "tracks": [1, 3], "load": 6},
            {"agent": 2, "tracks": [2, 6], "load": 4},
            {"agent": 3, "tracks": [4, 5], "load": 3},
        ])
    );

    let text = repo.tasks(&["tracks", "--agents", "3"]).ok().stdout;
    let plan: Vec<&str> = text.lines().filter(|l| l.starts_with("agent ")).collect();
    assert_eq!(
        plan,
        [
            "agent 1: track 1, then track 3 (critical paths 6)",
            "agent 2: track 2, then track 6 (critical paths 4)",
            "agent 3: track 4, then track 5 (critical paths 3)",
        ]
    );
}

#[test]
fn plan_for_one_agent_takes_everything_and_spare_agents_get_nothing() {
    let repo = Repo::new();
    plan_fixture(&repo);
    let doc = repo
        .tasks(&["tracks", "--agents", "1", "--json"])
        .ok()
        .json();
    assert_eq!(
        doc["plan"],
        json!([{"agent": 1, "tracks": [1, 3, 2, 4, 5, 6], "load": 13}])
    );
    let doc = repo
        .tasks(&["tracks", "--agents", "6", "--json"])
        .ok()
        .json();
    assert_eq!(
        doc["plan"],
        json!([
            {"agent": 1, "tracks": [1, 3], "load": 6},
            {"agent": 2, "tracks": [2], "load": 3},
            {"agent": 3, "tracks": [4], "load": 2},
            {"agent": 4, "tracks": [5], "load": 1},
            {"agent": 5, "tracks": [6], "load": 1},
            {"agent": 6, "tracks": [], "load": 0},
        ])
    );
    let text = repo.tasks(&["tracks", "--agents", "6"]).ok().stdout;
    assert!(
        text.lines()
            .any(|l| l == "agent 6: nothing (critical paths 0)"),
        "{text}"
    );
    repo.tasks(&["tracks", "--agents", "0"]).expect(2);
}

// ---------------------------------------------------------------------------------------------
// 4. Loops
// ---------------------------------------------------------------------------------------------

/// c1 → c2 → c3 → c1 (each depends on the next), c4 waits on c1, s depends on itself, ok alone.
fn cycle_fixture(repo: &Repo) {
    put(repo, "T-c1", "status: open\ndepends_on: [T-c2]\n");
    put(repo, "T-c2", "status: open\ndepends_on: [T-c3]\n");
    put(repo, "T-c3", "status: open\ndepends_on: [T-c1]\n");
    put(repo, "T-c4", "status: open\ndepends_on: [T-c1]\n");
    put(repo, "T-s", "status: open\ndepends_on: [T-s]\n");
    put(repo, "T-ok", "status: open\n");
}

#[test]
fn dep_cycles_lists_each_loop_once_from_its_smallest_id() {
    let repo = Repo::new();
    cycle_fixture(&repo);
    let run = within_deadline(&repo, &["dep", "cycles"]).ok();
    assert_eq!(
        lines(&run.stdout),
        ["T-c1 → T-c2 → T-c3 → T-c1", "T-s → T-s"]
    );
    let doc = within_deadline(&repo, &["dep", "cycles", "--json"])
        .ok()
        .json();
    assert_eq!(
        doc,
        json!({"schema_version": 1, "cycles": [["T-c1", "T-c2", "T-c3"], ["T-s"]]})
    );

    // No loops: exit 0, nothing on stdout, an empty list.
    let clean = Repo::new();
    components_fixture(&clean);
    let run = clean.tasks(&["dep", "cycles"]).ok();
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("no dependency loops"), "{}", run.stderr);
    let doc = clean.tasks(&["dep", "cycles", "--json"]).ok().json();
    assert_eq!(doc["cycles"], json!([]));
}

#[test]
fn dep_tree_marks_the_loop_and_stops() {
    let repo = Repo::new();
    cycle_fixture(&repo);
    let run = within_deadline(&repo, &["dep", "tree", "T-c4"]).ok();
    assert_eq!(
        lines(&run.stdout),
        [
            "T-c4 Task T-c4 (open)",
            "└── T-c1 Task T-c1 (open)",
            "    └── T-c2 Task T-c2 (open)",
            "        └── T-c3 Task T-c3 (open)",
            "            └── T-c1 Task T-c1 (open)  ↺ loop",
        ]
    );
    let run = within_deadline(&repo, &["dep", "tree", "T-s"]).ok();
    assert_eq!(
        lines(&run.stdout),
        ["T-s Task T-s (open)", "└── T-s Task T-s (open)  ↺ loop"]
    );
    let doc = within_deadline(&repo, &["dep", "tree", "T-c4", "--json"])
        .ok()
        .json();
    let node = |id: &str, deps: Value| json!({"id": id, "title": format!("Task {id}"), "status": "open", "depends_on": deps});
    let mut looped = node("T-c1", json!([]));
    looped["loop"] = json!(true);
    assert_eq!(
        doc,
        json!({
            "schema_version": 1,
            "tree": node("T-c4", json!([node("T-c1", json!([node("T-c2", json!([node("T-c3", json!([looped]))]))]))])),
        })
    );
}

#[test]
fn graph_and_tracks_still_draw_a_graph_with_loops_and_finish() {
    let repo = Repo::new();
    cycle_fixture(&repo);
    let run = within_deadline(&repo, &["graph"]).ok();
    // The loop has no task that is free first: its tasks come by priority, then id.
    assert_eq!(
        lines(&run.stdout),
        [
            "T-c1  open  -  Task T-c1  ← T-c2 (open, blocking)",
            "T-c2  open  -  Task T-c2  ← T-c3 (open, blocking)",
            "T-c3  open  -  Task T-c3  ← T-c1 (open, blocking)",
            "T-c4  open  -  Task T-c4  ← T-c1 (open, blocking)",
            "T-ok  open  ready  Task T-ok",
            "T-s  open  -  Task T-s  ← T-s (open, blocking)",
        ]
    );
    let dot = within_deadline(&repo, &["graph", "--format", "dot"])
        .ok()
        .stdout;
    for edge in [
        "  \"T-c2\" -> \"T-c1\" [color=red];",
        "  \"T-c3\" -> \"T-c2\" [color=red];",
        "  \"T-c1\" -> \"T-c3\" [color=red];",
        "  \"T-s\" -> \"T-s\" [color=red];",
    ] {
        assert!(dot.lines().any(|l| l == edge), "no {edge:?} in\n{dot}");
    }
    let mermaid = within_deadline(&repo, &["graph", "--format", "mermaid"])
        .ok()
        .stdout;
    let names = mermaid_names(&mermaid);
    let edge = format!("  {} -->|blocks| {}", names["T-c1"], names["T-c3"]);
    assert!(mermaid.lines().any(|l| l == edge), "{mermaid}");
    let doc = within_deadline(&repo, &["graph", "--json"]).ok().json();
    assert_eq!(doc["tasks"].as_array().unwrap().len(), 6, "{doc:#}");
    let doc = within_deadline(&repo, &["graph", "T-c2", "--json"])
        .ok()
        .json();
    let drawn: Vec<&str> = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(drawn, ["T-c1", "T-c2", "T-c3", "T-c4"]);
    let doc = within_deadline(&repo, &["tracks", "--agents", "2", "--json"])
        .ok()
        .json();
    let tracks: Vec<Vec<String>> = doc["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| ids(&t["tasks"]))
        .collect();
    assert_eq!(
        tracks,
        vec![
            vec!["T-c1", "T-c2", "T-c3", "T-c4"],
            vec!["T-ok"],
            vec!["T-s"]
        ]
    );
    // Every task of the loop's track is in its critical path at most once.
    let path = ids(&doc["tracks"][0]["critical_path"]);
    let mut unique = path.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), path.len(), "{doc:#}");
    assert_eq!(doc["tracks"][2]["critical_path"], json!(["T-s"]));
}

// ---------------------------------------------------------------------------------------------
// 5. The drawings
// ---------------------------------------------------------------------------------------------

/// a done ← b (ready) ← c (also on a); m waits on a task that does not exist; x ready, with
/// quotes in its title; y cancelled.
fn drawing_fixture(repo: &Repo) {
    put(repo, "T-a", "status: done\noutcome: completed\n");
    put(repo, "T-b", "status: open\ndepends_on: [T-a]\n");
    put(repo, "T-c", "status: open\ndepends_on: [T-b, T-a]\n");
    put(repo, "T-m", "status: open\ndepends_on: [T-nope]\n");
    put_full(repo, "T-x", "'Say \"hi\"'", T0, "status: open\n");
    put(repo, "T-y", "status: cancelled\n");
}

#[test]
fn graph_text_marks_ready_tasks_and_blocking_dependencies() {
    let repo = Repo::new();
    drawing_fixture(&repo);
    let run = repo.tasks(&["graph"]).ok();
    assert_eq!(
        lines(&run.stdout),
        [
            "T-b  open  ready  Task T-b  ← T-a (done)",
            "T-c  open  -  Task T-c  ← T-b (open, blocking), T-a (done)",
            "T-m  open  -  Task T-m  ← T-nope (missing, blocking)",
            "T-x  open  ready  Say \"hi\"",
        ]
    );
    let run = repo.tasks(&["graph", "--all"]).ok();
    assert_eq!(
        lines(&run.stdout),
        [
            "T-a  done  -  Task T-a",
            "T-b  open  ready  Task T-b  ← T-a (done)",
            "T-c  open  -  Task T-c  ← T-b (open, blocking), T-a (done)",
            "T-m  open  -  Task T-m  ← T-nope (missing, blocking)",
            "T-x  open  ready  Say \"hi\"",
            "T-y  cancelled  -  Task T-y",
        ]
    );
}

#[test]
fn graph_dot_is_a_digraph_with_one_edge_per_dependency() {
    let repo = Repo::new();
    drawing_fixture(&repo);
    let dot = repo.tasks(&["graph", "--format", "dot"]).ok().stdout;
    let all = lines(&dot);
    assert_eq!(all.first(), Some(&"digraph tasks {"), "{dot}");
    assert_eq!(all.last(), Some(&"}"), "{dot}");
    let nodes: Vec<&str> = all
        .iter()
        .copied()
        .filter(|l| l.contains("[label="))
        .collect();
    assert_eq!(
        nodes,
        [
            "  \"T-b\" [label=\"T-b\\nTask T-b\\nopen\", style=filled, fillcolor=palegreen];",
            "  \"T-c\" [label=\"T-c\\nTask T-c\\nopen\"];",
            "  \"T-m\" [label=\"T-m\\nTask T-m\\nopen\"];",
            "  \"T-x\" [label=\"T-x\\nSay \\\"hi\\\"\\nopen\", style=filled, fillcolor=palegreen];",
        ]
    );
    let edges: Vec<&str> = all.iter().copied().filter(|l| l.contains("->")).collect();
    assert_eq!(
        edges,
        [
            "  \"T-a\" -> \"T-b\" [style=dashed];",
            "  \"T-b\" -> \"T-c\" [color=red];",
            "  \"T-a\" -> \"T-c\" [style=dashed];",
            "  \"T-nope\" -> \"T-m\" [color=red];",
        ]
    );
    // --all draws the finished ones too, greyed.
    let dot = repo
        .tasks(&["graph", "--all", "--format", "dot"])
        .ok()
        .stdout;
    for node in [
        "  \"T-a\" [label=\"T-a\\nTask T-a\\ndone\", style=filled, fillcolor=lightgrey];",
        "  \"T-y\" [label=\"T-y\\nTask T-y\\ncancelled\", style=filled, fillcolor=lightgrey];",
    ] {
        assert!(dot.lines().any(|l| l == node), "no {node:?} in\n{dot}");
    }
}

/// Whether `s` is a mermaid node id as the drawing promises: letters, digits and `_` only.
fn plain_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The node ids of a mermaid drawing's node lines, and its edges as (from, arrow, to).
fn mermaid_parts(text: &str) -> (Vec<String>, Vec<(String, String, String)>) {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for line in text.lines().skip(1) {
        let line = line.trim();
        if line.starts_with("classDef ") {
            continue;
        }
        if let Some((id, _)) = line.split_once("[\"") {
            nodes.push(id.to_string());
            continue;
        }
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "not an edge: {line:?}");
        edges.push((
            parts[0].to_string(),
            parts[1].to_string(),
            parts[2].to_string(),
        ));
    }
    (nodes, edges)
}

/// Task id → node id, read from a mermaid drawing's node lines (`  t3["T-c: …"]`, or
/// `  t5["T-a (done)"]` for a dependency drawn outside its track).
fn mermaid_names(text: &str) -> std::collections::HashMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (node, label) = l.trim().split_once("[\"")?;
            let task = label.split([':', ' ']).next()?;
            Some((task.to_string(), node.to_string()))
        })
        .collect()
}

#[test]
fn graph_mermaid_is_a_flowchart_with_plain_ids_and_marked_edges() {
    let repo = Repo::new();
    drawing_fixture(&repo);
    let text = repo.tasks(&["graph", "--format", "mermaid"]).ok().stdout;
    assert_eq!(text.lines().next(), Some("flowchart LR"), "{text}");
    let (nodes, edges) = mermaid_parts(&text);
    for n in &nodes {
        assert!(plain_id(n), "{n} in\n{text}");
    }
    let names = mermaid_names(&text);
    let task_of: std::collections::HashMap<&String, &String> =
        names.iter().map(|(t, n)| (n, t)).collect();
    // The drawn tasks, then the dependencies outside the drawing (the done one, the missing one).
    let drawn: Vec<&str> = nodes.iter().map(|n| task_of[n].as_str()).collect();
    assert_eq!(
        drawn,
        ["T-b", "T-c", "T-m", "T-x", "T-a", "T-nope"],
        "{text}"
    );
    let as_tasks: Vec<(String, String, String)> = edges
        .iter()
        .map(|(a, arrow, b)| (task_of[a].clone(), arrow.clone(), task_of[b].clone()))
        .collect();
    let e = |a: &str, arrow: &str, b: &str| (a.to_string(), arrow.to_string(), b.to_string());
    assert_eq!(
        as_tasks,
        [
            e("T-a", "-.->", "T-b"),
            e("T-b", "-->|blocks|", "T-c"),
            e("T-a", "-.->", "T-c"),
            e("T-nope", "-->|blocks|", "T-m"),
        ]
    );
    let node = |task: &str| names[task].clone();
    for want in [
        format!("  {}[\"T-b: Task T-b (open)\"]:::ready", node("T-b")),
        format!("  {}[\"T-c: Task T-c (open)\"]", node("T-c")),
        format!(
            "  {}[\"T-x: Say #quot;hi#quot; (open)\"]:::ready",
            node("T-x")
        ),
        format!("  {}[\"T-a (done)\"]:::finished", node("T-a")),
        format!("  {}[\"T-nope (missing)\"]:::finished", node("T-nope")),
    ] {
        assert!(text.lines().any(|l| l == want), "no {want:?} in\n{text}");
    }
    let text = repo
        .tasks(&["graph", "--all", "--format", "mermaid"])
        .ok()
        .stdout;
    let names = mermaid_names(&text);
    assert!(
        text.lines()
            .any(|l| l == format!("  {}[\"T-a: Task T-a (done)\"]:::finished", names["T-a"])),
        "{text}"
    );
    for task in ["T-a", "T-b", "T-c", "T-m", "T-x", "T-y"] {
        assert!(names.contains_key(task), "{task} in\n{text}");
    }
}

#[test]
fn graph_mermaid_gives_distinct_tasks_distinct_node_ids() {
    let repo = Repo::new();
    put(&repo, "T-a.1", "status: open\n");
    put(&repo, "T-a_1", "status: open\n");
    put(&repo, "T-a-1", "status: open\ndepends_on: [T-a.1]\n");
    let text = repo.tasks(&["graph", "--format", "mermaid"]).ok().stdout;
    let (nodes, edges) = mermaid_parts(&text);
    assert_eq!(nodes.len(), 3, "{text}");
    let mut unique = nodes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "two tasks share a mermaid node:\n{text}");
    for n in &nodes {
        assert!(plain_id(n), "{n}");
    }
    // The one edge joins two different nodes.
    assert_eq!(edges.len(), 1, "{text}");
    assert_ne!(edges[0].0, edges[0].2, "{text}");
}

#[test]
fn graph_dot_keeps_a_backslash_in_a_title() {
    let repo = Repo::new();
    put_full(&repo, "T-w", "'C:\\new folder'", T0, "status: open\n");
    let dot = repo.tasks(&["graph", "--format", "dot"]).ok().stdout;
    let want =
        "  \"T-w\" [label=\"T-w\\nC:\\\\new folder\\nopen\", style=filled, fillcolor=palegreen];";
    assert!(dot.lines().any(|l| l == want), "no {want:?} in\n{dot}");
}

#[test]
fn graph_id_draws_only_that_tasks_track() {
    let repo = Repo::new();
    drawing_fixture(&repo);
    let run = repo.tasks(&["graph", "T-c"]).ok();
    assert_eq!(
        lines(&run.stdout),
        [
            "T-b  open  ready  Task T-b  ← T-a (done)",
            "T-c  open  -  Task T-c  ← T-b (open, blocking), T-a (done)",
        ]
    );
    let run = repo.tasks(&["graph", "T-x"]).ok();
    assert_eq!(lines(&run.stdout), ["T-x  open  ready  Say \"hi\""]);
    // With --all the finished dependency belongs to the track.
    let doc = repo.tasks(&["graph", "T-b", "--all", "--json"]).ok().json();
    let drawn: Vec<&str> = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(drawn, ["T-a", "T-b", "T-c"]);
    let (_, edges) = mermaid_parts(
        &repo
            .tasks(&["graph", "T-m", "--format", "mermaid"])
            .ok()
            .stdout,
    );
    assert_eq!(edges.len(), 1);
    let run = repo.tasks(&["graph", "T-zzz"]);
    assert_ne!(run.code, 0, "{run:?}");
}

#[test]
fn graph_json_lists_tasks_with_their_dependencies_and_whether_each_blocks() {
    let repo = Repo::new();
    drawing_fixture(&repo);
    let doc = repo.tasks(&["graph", "--json"]).ok().json();
    assert_eq!(
        doc,
        json!({
            "schema_version": 1,
            "tasks": [
                {"id": "T-b", "title": "Task T-b", "status": "open", "ready": true,
                 "depends_on": [{"id": "T-a", "status": "done", "blocking": false}]},
                {"id": "T-c", "title": "Task T-c", "status": "open", "ready": false,
                 "depends_on": [
                     {"id": "T-b", "status": "open", "blocking": true},
                     {"id": "T-a", "status": "done", "blocking": false},
                 ]},
                {"id": "T-m", "title": "Task T-m", "status": "open", "ready": false,
                 "depends_on": [{"id": "T-nope", "status": null, "blocking": true}]},
                {"id": "T-x", "title": "Say \"hi\"", "status": "open", "ready": true,
                 "depends_on": []},
            ],
        })
    );
    // The format does not change the JSON.
    let dot = repo
        .tasks(&["graph", "--format", "dot", "--json"])
        .ok()
        .json();
    assert_eq!(dot, doc);
}

// ---------------------------------------------------------------------------------------------
// 6. dep tree
// ---------------------------------------------------------------------------------------------

/// top waits on l and r; both wait on base (done); r also on a task that does not exist.
fn tree_fixture(repo: &Repo) {
    put(repo, "T-top", "status: open\ndepends_on: [T-l, T-r]\n");
    put(repo, "T-l", "status: open\ndepends_on: [T-base]\n");
    put(repo, "T-r", "status: open\ndepends_on: [T-base, T-gone]\n");
    put(repo, "T-base", "status: done\n");
}

#[test]
fn dep_tree_draws_connectors_and_shows_a_shared_dependency_once() {
    let repo = Repo::new();
    tree_fixture(&repo);
    let run = repo.tasks(&["dep", "tree", "T-top"]).ok();
    assert_eq!(
        lines(&run.stdout),
        [
            "T-top Task T-top (open)",
            "├── T-l Task T-l (open)",
            "│   └── T-base Task T-base (done)",
            "└── T-r Task T-r (open)",
            "    ├── T-base Task T-base (done)  (shown above)",
            "    └── T-gone (no such task)",
        ]
    );
    // A task with no dependencies is one line.
    let run = repo.tasks(&["dep", "tree", "T-base"]).ok();
    assert_eq!(lines(&run.stdout), ["T-base Task T-base (done)"]);
    // A unique prefix is enough.
    let run = repo.tasks(&["dep", "tree", "T-to"]).ok();
    assert_eq!(run.stdout.lines().next(), Some("T-top Task T-top (open)"));
}

#[test]
fn dep_tree_json_nests_dependencies() {
    let repo = Repo::new();
    tree_fixture(&repo);
    let doc = repo.tasks(&["dep", "tree", "T-top", "--json"]).ok().json();
    assert_eq!(
        doc,
        json!({
            "schema_version": 1,
            "tree": {
                "id": "T-top", "title": "Task T-top", "status": "open",
                "depends_on": [
                    {"id": "T-l", "title": "Task T-l", "status": "open", "depends_on": [
                        {"id": "T-base", "title": "Task T-base", "status": "done", "depends_on": []},
                    ]},
                    {"id": "T-r", "title": "Task T-r", "status": "open", "depends_on": [
                        {"id": "T-base", "title": "Task T-base", "status": "done",
                         "shown_above": true, "depends_on": []},
                        {"id": "T-gone", "title": null, "status": null, "depends_on": []},
                    ]},
                ],
            },
        })
    );
}

// ---------------------------------------------------------------------------------------------
// 7. stats
// ---------------------------------------------------------------------------------------------

/// The clock for stats: nine days after the first event.
const NOW: &str = "2035-01-10T00:00:00Z";

fn event(
    time: &str,
    actor: &str,
    task: &str,
    from: Option<&str>,
    to: &str,
    outcome: Option<&str>,
) -> String {
    json!({"time": time, "actor": actor, "task": task, "from": from, "to": to, "outcome": outcome})
        .to_string()
}

fn write_events(repo: &Repo, lines: &[String]) {
    let dir = repo.state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(dir.join("events.jsonl"), text).unwrap();
}

/// The stats fixture. With the events:
///
/// - T-1: created 01-01 00:00, claimed by agent-a 01:00 (pickup 1h), done 03:00 (cycle 2h,
///   lead 3h).
/// - T-3 (waits on T-1): created 01-01 00:00, ready when T-1 is done at 03:00; claimed by
///   agent-b 05:00 (pickup 2h), released 06:00; claimed by agent-c 06:30 (pickup 30m); expired
///   10:00, written by the sweeper. Open now.
/// - T-2: created 01-02 00:00, claimed by agent-b 00:10 (pickup 10m), failed 01:00 (back to
///   open); claimed by agent-a 02:30 (pickup 1.5h), done 06:00 (cycle 3.5h, lead 6h).
/// - T-4: created 01-05 00:00, claimed by agent-c 01-09 12:00 (pickup 4.5d). Held now.
/// - T-6: created 01-09 00:00, claimed by agent-b 06:00 (pickup 6h), done with a PR 18:00
///   (cycle 12h, lead 18h).
///
/// And done from the files alone (no events): T-5 (lead 12h), T-7 (1h, a bug), T-8 (2h),
/// T-9 (24h), T-10 (48h), T-11 (30m), T-12 (4h).
fn stats_fixture(repo: &Repo) {
    let done = |id: &str, created: &str, at: &str, extra: &str| {
        put_full(
            repo,
            id,
            &format!("Task {id}"),
            created,
            &format!("status: done\noutcome: completed\noutcome_at: {at}\n{extra}"),
        );
    };
    done(
        "T-1",
        "2035-01-01T00:00:00Z",
        "2035-01-01T03:00:00Z",
        "attempts: 1\n",
    );
    done(
        "T-2",
        "2035-01-02T00:00:00Z",
        "2035-01-02T06:00:00Z",
        "attempts: 2\n",
    );
    done(
        "T-6",
        "2035-01-09T00:00:00Z",
        "2035-01-09T18:00:00Z",
        "attempts: 1\n",
    );
    done("T-5", "2035-01-03T00:00:00Z", "2035-01-03T12:00:00Z", "");
    done(
        "T-7",
        "2035-01-03T00:00:00Z",
        "2035-01-03T01:00:00Z",
        "type: bug\n",
    );
    done("T-8", "2035-01-04T00:00:00Z", "2035-01-04T02:00:00Z", "");
    done("T-9", "2035-01-04T00:00:00Z", "2035-01-05T00:00:00Z", "");
    done("T-10", "2035-01-05T00:00:00Z", "2035-01-07T00:00:00Z", "");
    done("T-11", "2035-01-06T00:00:00Z", "2035-01-06T00:30:00Z", "");
    done("T-12", "2035-01-06T00:00:00Z", "2035-01-06T04:00:00Z", "");
    put_full(
        repo,
        "T-3",
        "Task T-3",
        "2035-01-01T00:00:00Z",
        "status: open\ndepends_on: [T-1]\nattempts: 2\n",
    );
    put_full(
        repo,
        "T-4",
        "Task T-4",
        "2035-01-05T00:00:00Z",
        "status: in_progress\nowner: alice\nclaimed_by: agent-c\nclaimed_at: 2035-01-09T12:00:00Z\nattempts: 1\n",
    );
    let (o, ip, dn) = (Some("open"), "in_progress", Some("in_progress"));
    write_events(
        repo,
        &[
            event("2035-01-01T00:00:00Z", "alice", "T-1", None, "open", None),
            event("2035-01-01T01:00:00Z", "agent-a", "T-1", o, ip, None),
            event(
                "2035-01-01T03:00:00Z",
                "agent-a",
                "T-1",
                dn,
                "done",
                Some("completed"),
            ),
            event("2035-01-01T00:00:00Z", "alice", "T-3", None, "open", None),
            event("2035-01-01T05:00:00Z", "agent-b", "T-3", o, ip, None),
            event(
                "2035-01-01T06:00:00Z",
                "agent-b",
                "T-3",
                dn,
                "open",
                Some("released"),
            ),
            event("2035-01-01T06:30:00Z", "agent-c", "T-3", o, ip, None),
            event(
                "2035-01-01T10:00:00Z",
                "sweeper",
                "T-3",
                dn,
                "open",
                Some("expired"),
            ),
            event("2035-01-02T00:00:00Z", "alice", "T-2", None, "open", None),
            event("2035-01-02T00:10:00Z", "agent-b", "T-2", o, ip, None),
            event(
                "2035-01-02T01:00:00Z",
                "agent-b",
                "T-2",
                dn,
                "open",
                Some("failed"),
            ),
            event("2035-01-02T02:30:00Z", "agent-a", "T-2", o, ip, None),
            event(
                "2035-01-02T06:00:00Z",
                "agent-a",
                "T-2",
                dn,
                "done",
                Some("completed"),
            ),
            // Written out of time order: the log is read oldest first all the same.
            event("2035-01-09T06:00:00Z", "agent-b", "T-6", o, ip, None),
            event("2035-01-09T00:00:00Z", "alice", "T-6", None, "open", None),
            event(
                "2035-01-09T18:00:00Z",
                "agent-b",
                "T-6",
                dn,
                "done",
                Some("completed_with_pr"),
            ),
            event("2035-01-05T00:00:00Z", "alice", "T-4", None, "open", None),
            event("2035-01-09T12:00:00Z", "agent-c", "T-4", o, ip, None),
        ],
    );
}

fn spread(count: u64, p50: i64, p90: i64) -> Value {
    json!({"count": count, "p50_seconds": p50, "p90_seconds": p90})
}

fn agent(name: &str, c: [u64; 4]) -> Value {
    json!({"agent": name, "completed": c[0], "failed": c[1], "released": c[2], "expired": c[3]})
}

/// The whole window, computed by hand.
fn expected_full() -> Value {
    json!({
        "schema_version": 1,
        "since": null,
        "now": NOW,
        "counts": {
            "by_status": {"done": 10, "in_progress": 1, "open": 1},
            "by_type": {"bug": 1, "task": 11},
            "by_owner": {"(nobody)": 11, "alice": 1},
        },
        // 1800 3600 7200 10800 14400 | 21600 43200 64800 86400 172800:
        // p50 the 5th, p90 the 9th.
        "lead_time": spread(10, 14_400, 86_400),
        // 7200 12600 43200: p50 the 2nd, p90 the 3rd.
        "cycle_time": spread(3, 12_600, 43_200),
        // 600 1800 3600 5400 7200 21600 388800: p50 the 4th, p90 the 7th (ceil 6.3).
        "pickup_latency": spread(7, 5_400, 388_800),
        "outcomes": {"completed": 2, "completed_with_pr": 1, "expired": 1, "failed": 1, "released": 1},
        "attempts": 7,
        "failure_rate": 1.0 / 6.0,
        "agents": [
            agent("agent-a", [2, 0, 0, 0]),
            agent("agent-b", [1, 1, 1, 0]),
            // The expiry was written by the sweeper; it counts against the claim's holder.
            agent("agent-c", [0, 0, 0, 1]),
        ],
        "finished": 10,
        // Ten finished over the nine days since the first event.
        "throughput_per_day": 10.0 / 9.0,
        "utilization": {"live_claims": 1, "active_agents": 3, "ratio": 1.0 / 3.0},
        "unavailable": [],
        "unreadable_events": 0,
    })
}

#[test]
fn stats_json_matches_hand_computed_percentiles_outcomes_and_utilization() {
    let repo = Repo::new();
    stats_fixture(&repo);
    let doc = at(&repo, NOW, &["stats", "--json"]).ok().json();
    assert_eq!(doc, expected_full());
}

#[test]
fn stats_text_says_the_same() {
    let repo = Repo::new();
    stats_fixture(&repo);
    let run = at(&repo, NOW, &["stats"]).ok();
    let out = lines(&run.stdout);
    for want in [
        "window: everything",
        "status: done 10 · in_progress 1 · open 1",
        "type: bug 1 · task 11",
        "owner: (nobody) 11 · alice 1",
        "lead time (created → done): p50 4.0h · p90 1.0d (of 10)",
        "cycle time (claimed → done): p50 3.5h · p90 12.0h (of 3)",
        "pickup latency (ready → claimed): p50 1.5h · p90 4.5d (of 7)",
        "finished: 10 (1.11 per day)",
        "outcomes: completed 2 · completed_with_pr 1 · expired 1 · failed 1 · released 1 · failure rate 17%",
        "attempts recorded: 7",
        "agent agent-a: completed 2 · failed 0 · released 0 · expired 0",
        "agent agent-b: completed 1 · failed 1 · released 1 · expired 0",
        "agent agent-c: completed 0 · failed 0 · released 0 · expired 1",
        "utilization: 1 live claim for 3 active agents (33%)",
    ] {
        assert!(out.contains(&want), "no {want:?} in\n{}", run.stdout);
    }
    assert!(!run.stdout.contains("sweeper"), "{}", run.stdout);
}

#[test]
fn stats_since_narrows_the_window() {
    let repo = Repo::new();
    stats_fixture(&repo);
    let doc = at(&repo, NOW, &["stats", "--since", "1d", "--json"])
        .ok()
        .json();
    // From 01-09 00:00: T-6 is the one finished (lead 18h, cycle 12h); the claims of T-6
    // (pickup 6h) and T-4 (4.5d: it became ready before the window, was claimed in it).
    let mut want = expected_full();
    want["since"] = json!("2035-01-09T00:00:00Z");
    want["lead_time"] = spread(1, 64_800, 64_800);
    want["cycle_time"] = spread(1, 43_200, 43_200);
    want["pickup_latency"] = spread(2, 21_600, 388_800);
    want["outcomes"] = json!({"completed_with_pr": 1});
    want["failure_rate"] = json!(0.0);
    want["agents"] = json!([agent("agent-b", [1, 0, 0, 0])]);
    want["finished"] = json!(1);
    want["throughput_per_day"] = json!(1.0);
    want["utilization"] = json!({"live_claims": 1, "active_agents": 2, "ratio": 0.5});
    assert_eq!(doc, want);
    // The same window as a date.
    let by_date = at(&repo, NOW, &["stats", "--since", "2035-01-09", "--json"])
        .ok()
        .json();
    assert_eq!(by_date, want);

    // A window that starts after the first claim of T-3 still gives its expiry to agent-c, who
    // held it; T-1's completion falls before the window.
    let doc = at(
        &repo,
        NOW,
        &["stats", "--since", "2035-01-01T08:00:00Z", "--json"],
    )
    .ok()
    .json();
    assert_eq!(
        doc["agents"],
        json!([
            agent("agent-a", [1, 0, 0, 0]),
            agent("agent-b", [1, 1, 0, 0]),
            agent("agent-c", [0, 0, 0, 1]),
        ])
    );
    assert_eq!(doc["cycle_time"], spread(2, 12_600, 43_200));

    // Nothing ended or was claimed in the last four hours: those metrics say why they are
    // missing.
    let doc = at(
        &repo,
        NOW,
        &["stats", "--since", "2035-01-09T20:00:00Z", "--json"],
    )
    .ok()
    .json();
    assert_eq!(doc["lead_time"], Value::Null);
    assert_eq!(doc["cycle_time"], Value::Null);
    assert_eq!(doc["pickup_latency"], Value::Null);
    assert_eq!(doc["outcomes"], json!({}));
    assert_eq!(doc["failure_rate"], Value::Null);
    assert_eq!(doc["finished"], 0);
    assert_eq!(doc["throughput_per_day"], json!(0.0));
    // The holder of the live claim is active now, whenever the claim was made.
    assert_eq!(
        doc["utilization"],
        json!({"live_claims": 1, "active_agents": 1, "ratio": 1.0})
    );
    let missing: Vec<&str> = doc["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["metric"].as_str().unwrap())
        .collect();
    // Nothing finished, no claim ended: every metric that is null says why.
    assert_eq!(
        missing,
        ["cycle_time", "pickup_latency", "lead_time", "failure_rate"],
        "{doc:#}"
    );

    // Not a duration nor a date: a usage error.
    at(&repo, NOW, &["stats", "--since", "last tuesday"]).expect(2);
}

#[test]
fn stats_without_events_works_from_the_files_and_says_what_it_could_not_compute() {
    let repo = Repo::new();
    assert!(!repo.state_dir().join("events.jsonl").exists());
    put_full(
        &repo,
        "T-1",
        "Task T-1",
        "2035-01-01T00:00:00Z",
        "status: done\noutcome_at: 2035-01-01T06:00:00Z\n",
    );
    put_full(
        &repo,
        "T-2",
        "Task T-2",
        "2035-01-02T00:00:00Z",
        "status: done\noutcome_at: 2035-01-02T01:00:00Z\n",
    );
    put_full(
        &repo,
        "T-3",
        "Task T-3",
        "2035-01-03T00:00:00Z",
        "status: open\n",
    );
    let doc = at(&repo, NOW, &["stats", "--json"]).ok().json();
    let reason = "no events in events.jsonl yet";
    assert_eq!(
        doc,
        json!({
            "schema_version": 1,
            "since": null,
            "now": NOW,
            "counts": {
                "by_status": {"done": 2, "open": 1},
                "by_type": {"task": 3},
                "by_owner": {"(nobody)": 3},
            },
            // 3600 21600: p50 the 1st, p90 the 2nd.
            "lead_time": spread(2, 3_600, 21_600),
            "cycle_time": null,
            "pickup_latency": null,
            "outcomes": {},
            "attempts": 0,
            "failure_rate": null,
            "agents": [],
            "finished": 2,
            // From the first creation: nine days.
            "throughput_per_day": 2.0 / 9.0,
            "utilization": {"live_claims": 0, "active_agents": 0, "ratio": null},
            "unavailable": [
                {"metric": "cycle_time", "reason": reason},
                {"metric": "pickup_latency", "reason": reason},
                {"metric": "agents", "reason": reason},
                {"metric": "failure_rate", "reason": reason},
                {"metric": "utilization", "reason": "no agent was active in the window"},
            ],
            "unreadable_events": 0,
        })
    );
    let run = at(&repo, NOW, &["stats"]).ok();
    assert!(
        run.stdout
            .lines()
            .any(|l| l == "cycle time (claimed → done): -"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("cycle_time: not computed: no events in events.jsonl yet"),
        "{}",
        run.stderr
    );
    // Nothing written by looking.
    assert!(!repo.state_dir().join("events.jsonl").exists());

    // An empty repository: counts are empty, exit 0.
    let empty = Repo::new();
    let doc = at(&empty, NOW, &["stats", "--json"]).ok().json();
    assert_eq!(doc["counts"]["by_status"], json!({}));
    assert_eq!(doc["lead_time"], Value::Null);
    // The five that need events, and lead time (nothing finished).
    assert_eq!(doc["unavailable"].as_array().unwrap().len(), 6, "{doc:#}");
}

#[test]
fn stats_failure_rate_counts_a_reviewed_attempt_once() {
    let repo = Repo::new();
    repo.write(
        ".tasks/config.yaml",
        format!("{}review: required\n", repo.read(".tasks/config.yaml")),
    );
    put_full(
        &repo,
        "T-1",
        "Task T-1",
        T0,
        "status: done\noutcome: completed\noutcome_at: 2035-01-01T05:00:00Z\nattempts: 2\n",
    );
    let (o, ip) = (Some("open"), "in_progress");
    write_events(
        &repo,
        &[
            event(T0, "alice", "T-1", None, "open", None),
            // Attempt 1: w1 fails.
            event("2035-01-01T01:00:00Z", "w1", "T-1", o, ip, None),
            event(
                "2035-01-01T02:00:00Z",
                "w1",
                "T-1",
                Some(ip),
                "open",
                Some("failed"),
            ),
            // Attempt 2: w2 finishes, the review accepts it.
            event("2035-01-01T03:00:00Z", "w2", "T-1", o, ip, None),
            event(
                "2035-01-01T04:00:00Z",
                "w2",
                "T-1",
                Some(ip),
                "in_review",
                Some("needs_review"),
            ),
            event(
                "2035-01-01T05:00:00Z",
                "boss",
                "T-1",
                Some("in_review"),
                "done",
                Some("completed"),
            ),
        ],
    );
    let doc = at(&repo, NOW, &["stats", "--json"]).ok().json();
    assert_eq!(
        doc["agents"],
        json!([agent("w1", [0, 1, 0, 0]), agent("w2", [1, 0, 0, 0])])
    );
    // Claimed at 03:00, done at 05:00 (the review is part of the cycle).
    assert_eq!(doc["cycle_time"], spread(1, 7_200, 7_200));
    // Two attempts ended, one of them failed.
    assert_eq!(doc["failure_rate"], json!(0.5), "{doc:#}");
}

#[test]
fn stats_skips_and_counts_unreadable_event_lines() {
    let repo = Repo::new();
    stats_fixture(&repo);
    let path = repo.state_dir().join("events.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("this is not json\n");
    // A field the log never has.
    text.push_str(
        "{\"time\":\"2035-01-01T02:00:00Z\",\"actor\":\"x\",\"task\":\"T-1\",\"from\":null,\"to\":\"open\",\"outcome\":null,\"mood\":\"good\"}\n",
    );
    // Cut off mid-line (a torn write).
    text.push_str("{\"time\":\"2035-01-09T19:00:00Z\",\"actor\":\"agent-a\",\"task\":\"T-4\"\n");
    std::fs::write(&path, text).unwrap();
    let doc = at(&repo, NOW, &["stats", "--json"]).ok().json();
    let mut want = expected_full();
    want["unreadable_events"] = json!(3);
    assert_eq!(doc, want);
    let run = at(&repo, NOW, &["stats"]).ok();
    assert!(
        run.stderr
            .contains("3 line(s) of events.jsonl could not be read (skipped)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_reader_that_went_away_ends_the_output_not_the_process() {
    let repo = Repo::new();
    repo.new_task(&["One"]);
    for args in [
        &["stats"][..],
        &["graph"],
        &["tracks"],
        &["status"],
        &["list", "--all"],
    ] {
        // A pipe whose reading end is already closed: every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = repo.command_in(&repo.root);
        cmd.args(args).stdout(writer);
        let out = cmd.output().unwrap();
        assert_ne!(
            out.status.code(),
            Some(101),
            "{args:?} panicked: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
