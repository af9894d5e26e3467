//! Identity and routing end to end: every spelling of one person acts as one identity and is
//! stored as the canonical name; `owner_alias` and `tasks identities fix`; explicit role
//! routing for `ready --for` and `claim --next`; `assign`/`unassign` and `pickup_overdue`.
//! Time is pinned with `TASKS_NOW`, never waited for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::{Repo, Run};

/// When fixtures are made.
const T0: &str = "2035-01-01T00:00:00Z";
/// Later moments, for renewals and fixes.
const T1: &str = "2035-01-01T00:10:00Z";
const T2: &str = "2035-01-01T01:00:00Z";

const DAVE: &str = "identities: { dave.fowler: [dave, davefowler, dave@example.com] }\n";

/// Every way of writing dave that is not the canonical `dave.fowler`.
const SPELLINGS: [&str; 5] = [
    "dave",
    "davefowler",
    "Dave.Fowler",
    "dave@example.com",
    "Dave Fowler <dave@example.com>",
];

/// Runs `tasks` in the root with the clock pinned at `now` and extra environment.
fn at_env(repo: &Repo, now: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = repo.command_in(&repo.root);
    cmd.env("TASKS_NOW", now);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from_output(cmd.args(args).output().unwrap())
}

/// Runs `tasks` in the root with the clock pinned at `now`.
fn at(repo: &Repo, now: &str, args: &[&str]) -> Run {
    at_env(repo, now, &[], args)
}

fn write_config(repo: &Repo, text: &str) {
    repo.write(".tasks/config.yaml", text);
}

/// The single JSON document on stdout (panics on zero, two, or trailing garbage).
#[track_caller]
fn one_doc(run: &Run) -> Value {
    let mut docs = serde_json::Deserializer::from_str(&run.stdout).into_iter::<Value>();
    let first = docs
        .next()
        .unwrap_or_else(|| panic!("no JSON document on stdout:\n{}", run.stdout))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.stdout));
    assert!(
        docs.next().is_none(),
        "more than one JSON document on stdout:\n{}",
        run.stdout
    );
    first
}

#[track_caller]
fn assert_keys(v: &Value, expected: &[&str]) {
    let got: BTreeSet<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    let want: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(got, want, "keys of {v:#}");
}

fn lease_path(repo: &Repo, id: &str) -> PathBuf {
    repo.state_dir().join("leases").join(format!("{id}.json"))
}

fn lease(repo: &Repo, id: &str) -> Value {
    let text = std::fs::read_to_string(lease_path(repo, id))
        .unwrap_or_else(|e| panic!("no lease for {id}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn events(repo: &Repo) -> Vec<Value> {
    std::fs::read_to_string(repo.state_dir().join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn snapshot(repo: &Repo) -> Value {
    let text = std::fs::read_to_string(repo.state_dir().join("heartbeat.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The ids of a `{"tasks":[…]}` document, in order.
fn ids(doc: &Value) -> Vec<String> {
    doc["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks array: {doc:#}"))
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

fn id_set(doc: &Value) -> BTreeSet<String> {
    ids(doc).into_iter().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `tasks ready --json`, with `--for NAME` when given.
fn ready_for(repo: &Repo, person: Option<&str>) -> BTreeSet<String> {
    let mut args = vec!["ready", "--json"];
    if let Some(p) = person {
        args.extend(["--for", p]);
    }
    id_set(&one_doc(&at(repo, T1, &args).ok()))
}

/// The signals of one task in a sweep document, as (kind, severity, whole signal).
fn signals_of(doc: &Value, id: &str) -> Vec<(String, String, Value)> {
    doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] == id)
        .flat_map(|r| r["signals"].as_array().unwrap().clone())
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["severity"].as_str().unwrap().to_string(),
                s,
            )
        })
        .collect()
}

fn kinds_of(doc: &Value, id: &str) -> Vec<String> {
    signals_of(doc, id).into_iter().map(|(k, _, _)| k).collect()
}

/// Every task id with a signal of `kind`.
fn flagged(doc: &Value, kind: &str) -> BTreeSet<String> {
    doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["signals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["kind"] == kind)
        })
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// The sweep at `now`, which finds only warnings: exit 0 under the default `--fail-on error`.
fn sweep(repo: &Repo, now: &str) -> Value {
    one_doc(&at(repo, now, &["heartbeat", "--json"]).ok())
}

/// Every path under `dir`, relative to it.
fn walk(dir: &Path) -> Vec<PathBuf> {
    fn go(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            out.push(path.strip_prefix(base).unwrap().to_path_buf());
            if path.is_dir() {
                go(&path, base, out);
            }
        }
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out);
    out
}

/// A task file by hand: `extra` is more frontmatter lines, each ending in a newline.
fn task_text(id: &str, extra: &str) -> String {
    format!(
        "---\nid: {id}\ntitle: Task {id}\nstatus: open\n{extra}created_at: {T0}\nupdated_at: {T0}\n---\nBody of {id}.\n"
    )
}

fn put(repo: &Repo, id: &str, extra: &str) {
    repo.write(&format!(".tasks/{id}.md"), task_text(id, extra));
}

// ---------------------------------------------------------------------------------------------
// 1. The dave case
// ---------------------------------------------------------------------------------------------

#[test]
fn whoami_resolves_every_spelling_from_flag_env_git_and_user() {
    let repo = Repo::new();
    write_config(&repo, DAVE);
    let aliases = json!(["dave", "davefowler", "dave@example.com"]);
    let check = |run: Run, given: &str, source: &str| {
        let doc = one_doc(&run.ok());
        assert_keys(
            &doc,
            &["schema_version", "identity", "given", "source", "aliases"],
        );
        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["identity"], "dave.fowler", "{doc:#}");
        assert_eq!(doc["given"], given, "{doc:#}");
        assert_eq!(doc["source"], source, "{doc:#}");
        assert_eq!(doc["aliases"], aliases, "{doc:#}");
    };
    for spelling in SPELLINGS.iter().chain(&["dave.fowler", "DAVEFOWLER"]) {
        check(
            repo.tasks(&["whoami", "--json", "--as", spelling]),
            spelling,
            "flag",
        );
        check(
            at_env(
                &repo,
                T0,
                &[("TASKS_AGENT", spelling)],
                &["whoami", "--json"],
            ),
            spelling,
            "env",
        );
        // Human output: the canonical name alone on stdout.
        let human = repo.tasks(&["whoami", "--as", spelling]).ok();
        assert_eq!(human.stdout, "dave.fowler\n", "{human:?}");
    }

    // The flag beats the environment, which beats git.
    let doc = one_doc(
        &at_env(
            &repo,
            T0,
            &[("TASKS_AGENT", "dave")],
            &["whoami", "--json", "--as", "alice"],
        )
        .ok(),
    );
    assert_eq!(
        (&doc["identity"], &doc["source"], &doc["aliases"]),
        (&json!("alice"), &json!("flag"), &json!([]))
    );

    // git user.email, in any case.
    for email in ["dave@example.com", "Dave@Example.COM"] {
        repo.git(&["config", "user.email", email]);
        check(repo.tasks(&["whoami", "--json"]), email, "git");
        let doc =
            one_doc(&at_env(&repo, T0, &[("TASKS_AGENT", "bob")], &["whoami", "--json"]).ok());
        assert_eq!(
            (&doc["identity"], &doc["source"]),
            (&json!("bob"), &json!("env"))
        );
    }

    // No flag, no TASKS_AGENT, no git email: $USER.
    repo.git(&["config", "--unset", "user.email"]);
    check(
        at_env(&repo, T0, &[("USER", "Dave.Fowler")], &["whoami", "--json"]),
        "Dave.Fowler",
        "user",
    );
}

#[test]
fn inside_a_started_worktree_the_claim_holder_is_the_identity() {
    let repo = Repo::new();
    write_config(&repo, DAVE);
    at(&repo, T0, &["new", "Started", "--id", "V-1"]).ok();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "task"]);
    let wt = PathBuf::from(
        at(&repo, T0, &["start", "V-1", "--as", "davefowler"])
            .ok()
            .line(),
    );
    assert_eq!(repo.show("V-1")["claimed_by"], "dave.fowler");
    let run = Run::from_output(
        repo.command_in(&wt)
            .env("TASKS_NOW", T1)
            .args(["whoami", "--json"])
            .output()
            .unwrap(),
    );
    let doc = one_doc(&run.ok());
    assert_eq!(
        (&doc["identity"], &doc["source"]),
        (&json!("dave.fowler"), &json!("worktree")),
        "{doc:#}"
    );
    // --as still wins inside the worktree.
    let run = Run::from_output(
        repo.command_in(&wt)
            .args(["whoami", "--json", "--as", "alice"])
            .output()
            .unwrap(),
    );
    assert_eq!(one_doc(&run.ok())["source"], "flag");
}

#[test]
fn identities_match_case_insensitively_beyond_ascii() {
    let repo = Repo::new();
    write_config(
        &repo,
        "identities: { josé.garcía: [josé, jose@example.com] }\n",
    );
    for spelling in [
        "JOSÉ",
        "José",
        "JOSÉ.GARCÍA",
        "José García <JOSE@example.com>",
    ] {
        let doc = one_doc(&repo.tasks(&["whoami", "--json", "--as", spelling]).ok());
        assert_eq!(doc["identity"], "josé.garcía", "{spelling}: {doc:#}");
    }
    // A claim by one case is the same person's under the other.
    at(&repo, T0, &["new", "U", "--id", "U-1"]).ok();
    at(&repo, T0, &["claim", "U-1", "--as", "josé"]).ok();
    at(&repo, T1, &["heartbeat", "U-1", "--as", "JOSÉ"]).ok();
}

#[test]
fn a_claim_under_one_spelling_is_renewed_noted_and_finished_under_another() {
    let repo = Repo::new();
    write_config(&repo, DAVE);
    let id = at(
        &repo,
        T0,
        &["new", "Dave's task", "--id", "W-1", "--as", "dave"],
    )
    .ok()
    .line();
    assert_eq!(id, "W-1");
    at(&repo, T0, &["claim", "W-1", "--as", "dave"]).ok();
    let t = repo.show("W-1");
    assert_eq!(
        (&t["status"], &t["claimed_by"]),
        (&json!("in_progress"), &json!("dave.fowler"))
    );
    let l = lease(&repo, "W-1");
    assert_eq!(l["holder"], "dave.fowler", "{l:#}");
    assert_eq!(l["renewed_at"], T0);

    // Renewed by the Name <email> form: the lease moves on, the holder stays canonical.
    at(
        &repo,
        T1,
        &["heartbeat", "W-1", "--as", "Dave Fowler <dave@example.com>"],
    )
    .ok();
    let l = lease(&repo, "W-1");
    assert_eq!(
        (&l["holder"], &l["renewed_at"]),
        (&json!("dave.fowler"), &json!(T1))
    );
    // Through TASKS_AGENT, and through git user.email.
    at_env(
        &repo,
        "2035-01-01T00:11:00Z",
        &[("TASKS_AGENT", "davefowler")],
        &["heartbeat", "W-1"],
    )
    .ok();
    assert_eq!(lease(&repo, "W-1")["renewed_at"], "2035-01-01T00:11:00Z");
    repo.git(&["config", "user.email", "dave@example.com"]);
    at(&repo, "2035-01-01T00:12:00Z", &["heartbeat", "W-1"]).ok();
    let l = lease(&repo, "W-1");
    assert_eq!(
        (&l["holder"], &l["renewed_at"]),
        (&json!("dave.fowler"), &json!("2035-01-01T00:12:00Z"))
    );
    repo.git(&["config", "user.email", "tester@example.com"]);

    // Claiming again under yet another spelling is the holder renewing, not a new claim.
    let before = repo.task_file("W-1");
    at(
        &repo,
        "2035-01-01T00:13:00Z",
        &["claim", "W-1", "--as", "Dave.Fowler"],
    )
    .ok();
    assert_eq!(repo.task_file("W-1"), before);
    assert_eq!(lease(&repo, "W-1")["renewed_at"], "2035-01-01T00:13:00Z");

    // Another person is refused, naming the canonical holder, and changes nothing.
    let lease_before = std::fs::read(lease_path(&repo, "W-1")).unwrap();
    for args in [
        vec!["heartbeat", "W-1", "--as", "alice"],
        vec!["claim", "W-1", "--as", "alice"],
        vec!["done", "W-1", "--as", "alice"],
        vec!["fail", "W-1", "--as", "alice", "--reason", "x"],
    ] {
        let r = at(&repo, T2, &args).expect(3);
        assert!(r.stderr.contains("dave.fowler"), "{args:?}: {}", r.stderr);
        assert_eq!(repo.task_file("W-1"), before, "{args:?}");
        assert_eq!(
            std::fs::read(lease_path(&repo, "W-1")).unwrap(),
            lease_before,
            "{args:?}"
        );
    }

    // A note by the Name <email> form is signed with the canonical name and renews the lease.
    at(
        &repo,
        "2035-01-01T00:20:00Z",
        &[
            "note",
            "W-1",
            "--as",
            "Dave Fowler <dave@example.com>",
            "halfway there",
        ],
    )
    .ok();
    assert!(
        repo.task_file("W-1")
            .contains("- 2035-01-01T00:20:00Z dave.fowler: halfway there\n"),
        "{}",
        repo.task_file("W-1")
    );
    assert_eq!(lease(&repo, "W-1")["renewed_at"], "2035-01-01T00:20:00Z");

    // Finished by the Name <email> form.
    at(
        &repo,
        "2035-01-01T00:30:00Z",
        &["done", "W-1", "--as", "Dave Fowler <dave@example.com>"],
    )
    .ok();
    let t = repo.show("W-1");
    assert_eq!(
        (&t["status"], &t["outcome"], &t["outcome_by"]),
        (&json!("done"), &json!("completed"), &json!("dave.fowler"))
    );
    assert!(t.get("claimed_by").is_none(), "{t:#}");
    assert!(!lease_path(&repo, "W-1").exists());

    // Every event was by dave.fowler: the refusals wrote none.
    let evs = events(&repo);
    let transitions: Vec<(String, String)> = evs
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["to"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        transitions,
        [
            ("dave.fowler", "open"),
            ("dave.fowler", "in_progress"),
            ("dave.fowler", "done")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "{evs:#?}"
    );
}

#[test]
fn every_stored_name_is_canonical_and_no_state_is_keyed_by_an_alias() {
    let repo = Repo::new();
    write_config(&repo, DAVE);

    // owner from `new --owner`, acting under an alias.
    at(
        &repo,
        T0,
        &[
            "new", "Owned", "--id", "S-1", "--owner", "dave", "--as", "dave",
        ],
    )
    .ok();
    assert_eq!(repo.show("S-1")["owner"], "dave.fowler");
    at(
        &repo,
        T0,
        &[
            "new",
            "Owned by email",
            "--id",
            "S-2",
            "--owner",
            "Dave Fowler <dave@example.com>",
        ],
    )
    .ok();
    assert_eq!(repo.show("S-2")["owner"], "dave.fowler");

    // owner and assignee from `set`.
    at(
        &repo,
        T0,
        &["new", "Set", "--id", "S-3", "--owner", "alice"],
    )
    .ok();
    at(
        &repo,
        T0,
        &["set", "S-3", "owner=davefowler", "--as", "dave"],
    )
    .ok();
    assert_eq!(repo.show("S-3")["owner"], "dave.fowler");
    at(&repo, T0, &["set", "S-3", "assignee=DAVE@example.com"]).ok();
    assert_eq!(repo.show("S-3")["assignee"], "dave.fowler");
    at(&repo, T0, &["unassign", "S-3"]).ok();

    // assignee from `assign`.
    at(&repo, T0, &["new", "Assigned", "--id", "S-4"]).ok();
    at(&repo, T0, &["assign", "S-4", "dave", "--as", "davefowler"]).ok();
    assert_eq!(repo.show("S-4")["assignee"], "dave.fowler");

    // claimed_by, outcome_by and failed_agents, under a different spelling each time.
    at(&repo, T0, &["new", "Flaky", "--id", "S-5"]).ok();
    at(&repo, T0, &["claim", "S-5", "--as", "dave"]).ok();
    assert_eq!(repo.show("S-5")["claimed_by"], "dave.fowler");
    assert_eq!(lease(&repo, "S-5")["holder"], "dave.fowler");
    at(
        &repo,
        T1,
        &["fail", "S-5", "--as", "Dave.Fowler", "--reason", "broke"],
    )
    .ok();
    let t = repo.show("S-5");
    assert_eq!(t["failed_agents"], json!(["dave.fowler"]), "{t:#}");
    assert_eq!(t["outcome_by"], "dave.fowler");
    // Failing again under another spelling does not add a second entry for the same person.
    at(
        &repo,
        T1,
        &["claim", "S-5", "--force", "--as", "dave@example.com"],
    )
    .ok();
    assert_eq!(repo.show("S-5")["claimed_by"], "dave.fowler");
    at(
        &repo,
        T1,
        &[
            "fail",
            "S-5",
            "--as",
            "Dave Fowler <dave@example.com>",
            "--reason",
            "broke again",
        ],
    )
    .ok();
    let t = repo.show("S-5");
    assert_eq!(t["failed_agents"], json!(["dave.fowler"]), "{t:#}");
    assert_eq!(t["attempts"], 2);
    // Having failed it, no spelling of dave sees it as ready.
    for spelling in SPELLINGS {
        let doc = one_doc(&at(&repo, T1, &["ready", "--json", "--as", spelling]).ok());
        assert!(
            !ids(&doc).contains(&"S-5".to_string()),
            "{spelling}: {doc:#}"
        );
    }

    // A live claim, so a lease stays on disk for the walk below.
    at(&repo, T1, &["claim", "S-1", "--as", "DaveFowler"]).ok();
    assert_eq!(lease(&repo, "S-1")["holder"], "dave.fowler");

    // The snapshot's generated_by.
    at(
        &repo,
        T2,
        &["heartbeat", "--as", "Dave Fowler <dave@example.com>"],
    )
    .ok();
    assert_eq!(snapshot(&repo)["generated_by"], "dave.fowler");

    // Every event's actor is canonical.
    let evs = events(&repo);
    assert!(!evs.is_empty());
    for e in &evs {
        let actor = e["actor"].as_str().unwrap().to_lowercase();
        assert!(
            actor == "dave.fowler" || !actor.contains("dave"),
            "an alias in events.jsonl: {e}"
        );
    }
    assert!(
        evs.iter()
            // Created by tester; claimed and failed by dave under four spellings.
            .filter(|e| e["task"] == "S-5" && !e["from"].is_null())
            .all(|e| e["actor"] == "dave.fowler"),
        "{evs:#?}"
    );

    // Nothing in a task file is an alias: the sweep has no owner_alias, and no file holds one.
    let doc = sweep(&repo, T2);
    assert!(flagged(&doc, "owner_alias").is_empty(), "{doc:#}");
    for id in ["S-1", "S-2", "S-3", "S-4", "S-5"] {
        let text = repo.task_file(id);
        for bad in [
            "davefowler",
            "dave@example.com",
            "Dave.Fowler",
            ": dave\n",
            "[dave]",
        ] {
            assert!(!text.contains(bad), "{id} holds {bad:?}:\n{text}");
        }
    }

    // No file or folder of the state is named after an alias.
    let paths = walk(&repo.state_dir());
    assert!(
        paths.iter().any(|p| p.ends_with("leases/S-1.json")),
        "{paths:?}"
    );
    for p in &paths {
        for part in p.iter() {
            let name = part.to_string_lossy().to_lowercase();
            let stem = name.strip_suffix(".json").unwrap_or(&name);
            for alias in SPELLINGS {
                let alias = alias.to_lowercase();
                assert!(
                    stem != alias && !name.contains("davefowler") && !name.contains('@'),
                    "state path {} is named after {alias}",
                    p.display()
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. owner_alias and `tasks identities fix`
// ---------------------------------------------------------------------------------------------

const ALIASED: &str = "---
id: F-1
title: Written by hand
status: open
priority: 2
owner: davefowler  # the operator
labels: [x, y]
failed_agents: [dave, bob]
created_at: 2035-01-01T00:00:00Z
updated_at: 2035-01-01T00:00:00Z
---
Body: davefowler wrote this and dave agrees.

## Notes
- 2035-01-01T00:00:00Z dave: a note by an alias stays as written
";

const ALIASED_FIXED: &str = "---
id: F-1
title: Written by hand
status: open
priority: 2
owner: dave.fowler  # the operator
labels: [x, y]
failed_agents: [dave.fowler, bob]
created_at: 2035-01-01T00:00:00Z
updated_at: 2035-01-01T01:00:00Z
---
Body: davefowler wrote this and dave agrees.

## Notes
- 2035-01-01T00:00:00Z dave: a note by an alias stays as written
";

/// Repeats once canonical, and no `updated_at` to change: it is appended.
const REPEATS: &str = "---
id: F-3
title: Repeats
status: open
owner: role:backend
assignee: Dave Fowler <dave@example.com>
failed_agents: [dave.fowler, DAVE, bob, Bob]
created_at: 2035-01-01T00:00:00Z
---
Body.
";

const REPEATS_FIXED: &str = "---
id: F-3
title: Repeats
status: open
owner: role:backend
assignee: dave.fowler
failed_agents: [dave.fowler, bob]
created_at: 2035-01-01T00:00:00Z
updated_at: 2035-01-01T01:00:00Z
---
Body.
";

/// Already canonical (and a role): never touched.
const CLEAN: &str = "---
id: F-2
title: Clean
status: open
owner: role:backend
failed_agents: [dave.fowler, bob]
created_at: 2035-01-01T00:00:00Z
updated_at: 2035-01-01T00:00:00Z
---
dave was here.
";

/// Cannot be parsed, but holds an alias: left alone.
const BROKEN: &str = "---\nid: B-1\ntitle: [unclosed\nowner: dave\n---\nBody.\n";

fn sorted_changes(task: &Value) -> Vec<Value> {
    let mut changes = task["changes"].as_array().unwrap().clone();
    changes.sort_by_key(|c| c["key"].as_str().unwrap().to_string());
    changes
}

fn fix_task<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {doc:#}"))
}

#[test]
fn owner_alias_is_flagged_and_identities_fix_rewrites_only_those_lines() {
    let repo = Repo::new();
    write_config(
        &repo,
        &format!("{DAVE}roles: {{ backend: [alice, bob] }}\n"),
    );
    repo.write(".tasks/F-1.md", ALIASED);
    repo.write(".tasks/F-2.md", CLEAN);
    repo.write(".tasks/F-3.md", REPEATS);

    // The sweep flags both keys of F-1 (warn), and nothing on the clean file.
    let doc = sweep(&repo, T1);
    let sigs = signals_of(&doc, "F-1");
    assert_eq!(sigs.len(), 1, "{doc:#}");
    let (kind, severity, sig) = &sigs[0];
    assert_eq!((kind.as_str(), severity.as_str()), ("owner_alias", "warn"));
    let detail = sig["detail"].as_str().unwrap();
    for word in [
        "owner",
        "davefowler",
        "failed_agents",
        "dave",
        "dave.fowler",
    ] {
        assert!(detail.contains(word), "{word} not in {detail}");
    }
    let mut evidence: Vec<(String, String)> = sig["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["canonical"], "dave.fowler", "{e}");
            (
                e["key"].as_str().unwrap().to_string(),
                e["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    evidence.sort();
    assert_eq!(
        evidence,
        [("failed_agents", "dave"), ("owner", "davefowler")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(kinds_of(&doc, "F-3"), ["owner_alias"], "{doc:#}");
    assert!(kinds_of(&doc, "F-2").is_empty(), "{doc:#}");

    // The broken file arrives now (it would make the sweep exit 7).
    repo.write(".tasks/B-1.md", BROKEN);

    // --dry-run reports and writes nothing.
    let dry = at(&repo, T2, &["identities", "fix", "--dry-run", "--json"]).ok();
    let doc = one_doc(&dry);
    assert_keys(&doc, &["schema_version", "dry_run", "tasks", "leases"]);
    assert_eq!(
        (&doc["schema_version"], &doc["dry_run"], &doc["leases"]),
        (&json!(1), &json!(true), &json!([]))
    );
    assert_eq!(id_set(&doc), set(&["F-1", "F-3"]), "{doc:#}");
    let f1 = fix_task(&doc, "F-1");
    assert_keys(f1, &["id", "path", "changes"]);
    assert_eq!(
        repo.root.join(f1["path"].as_str().unwrap()),
        repo.path(".tasks/F-1.md")
    );
    assert_eq!(
        sorted_changes(f1),
        vec![
            json!({"key": "failed_agents", "from": ["dave", "bob"], "to": ["dave.fowler", "bob"]}),
            json!({"key": "owner", "from": "davefowler", "to": "dave.fowler"}),
        ]
    );
    assert_eq!(
        sorted_changes(fix_task(&doc, "F-3")),
        vec![
            json!({"key": "assignee", "from": "Dave Fowler <dave@example.com>", "to": "dave.fowler"}),
            json!({"key": "failed_agents", "from": ["dave.fowler", "DAVE", "bob", "Bob"], "to": ["dave.fowler", "bob"]}),
        ]
    );
    assert_eq!(repo.read(".tasks/F-1.md"), ALIASED);
    assert_eq!(repo.read(".tasks/F-2.md"), CLEAN);
    assert_eq!(repo.read(".tasks/F-3.md"), REPEATS);
    assert_eq!(repo.read(".tasks/B-1.md"), BROKEN);
    // The human dry run says what it would do, and still writes nothing.
    let human = at(&repo, T2, &["identities", "fix", "--dry-run"]).ok();
    assert!(
        human.stdout.contains("F-1") && human.stdout.contains("would"),
        "{human:?}"
    );
    assert!(human.stderr.contains("B-1.md"), "{human:?}");
    assert_eq!(repo.read(".tasks/F-1.md"), ALIASED);

    // The fix: exactly the lines of those keys change, plus updated_at.
    let fixed = one_doc(&at(&repo, T2, &["identities", "fix", "--json"]).ok());
    assert_eq!(fixed["dry_run"], false);
    assert_eq!(id_set(&fixed), set(&["F-1", "F-3"]), "{fixed:#}");
    assert_eq!(
        sorted_changes(fix_task(&fixed, "F-1")),
        sorted_changes(fix_task(&doc, "F-1"))
    );
    assert_eq!(repo.read(".tasks/F-1.md"), ALIASED_FIXED);
    assert_eq!(repo.read(".tasks/F-3.md"), REPEATS_FIXED);
    assert_eq!(repo.read(".tasks/F-2.md"), CLEAN);
    assert_eq!(repo.read_bytes(".tasks/B-1.md"), BROKEN.as_bytes());

    // A second run finds nothing and changes nothing.
    let again = one_doc(
        &at(
            &repo,
            "2035-01-01T02:00:00Z",
            &["identities", "fix", "--json"],
        )
        .ok(),
    );
    assert_eq!(
        again,
        json!({"schema_version": 1, "dry_run": false, "tasks": [], "leases": []})
    );
    assert_eq!(repo.read(".tasks/F-1.md"), ALIASED_FIXED);
    assert_eq!(repo.read(".tasks/F-3.md"), REPEATS_FIXED);
    assert_eq!(repo.read_bytes(".tasks/B-1.md"), BROKEN.as_bytes());
    let human = at(&repo, T2, &["identities", "fix"]).ok();
    assert!(human.stdout.trim().is_empty(), "{human:?}");

    // The sweep is clean of owner_alias now (the broken file is its own problem).
    let doc = one_doc(&at(&repo, T2, &["heartbeat", "--json"]).expect(7));
    assert!(flagged(&doc, "owner_alias").is_empty(), "{doc:#}");
    assert_eq!(kinds_of(&doc, "B-1"), ["invalid_file"], "{doc:#}");
}

#[test]
fn identities_fix_rewrites_a_claim_and_its_lease_held_under_an_alias() {
    let repo = Repo::new();
    // Claimed as `dave` before anyone told the config who dave is.
    for id in ["L-1", "L-2"] {
        at(&repo, T0, &["new", "Early", "--id", id]).ok();
        at(&repo, T0, &["claim", id, "--as", "dave"]).ok();
        assert_eq!(lease(&repo, id)["holder"], "dave");
    }
    let claimed = repo.task_file("L-1");
    assert!(claimed.contains("\nclaimed_by: dave\n"), "{claimed}");

    write_config(&repo, DAVE);
    let doc = sweep(&repo, T1);
    assert_eq!(kinds_of(&doc, "L-1"), ["owner_alias"], "{doc:#}");
    // Somebody else is refused, naming the canonical holder.
    let r = at(&repo, T1, &["heartbeat", "L-1", "--as", "alice"]).expect(3);
    assert!(r.stderr.contains("dave.fowler"), "{}", r.stderr);
    // The holder renews L-2 under another spelling: its lease is rewritten canonically.
    at(&repo, T1, &["heartbeat", "L-2", "--as", "davefowler"]).ok();
    let l2 = lease(&repo, "L-2");
    assert_eq!(
        (&l2["holder"], &l2["renewed_at"]),
        (&json!("dave.fowler"), &json!(T1))
    );

    let lease_before = std::fs::read(lease_path(&repo, "L-1")).unwrap();
    let l = lease(&repo, "L-1");

    // Dry run: reported, nothing written.
    let dry = one_doc(&at(&repo, T2, &["identities", "fix", "--dry-run", "--json"]).ok());
    assert_eq!(
        dry["leases"],
        json!([{"task": "L-1", "from": "dave", "to": "dave.fowler"}]),
        "{dry:#}"
    );
    assert_eq!(id_set(&dry), set(&["L-1", "L-2"]), "{dry:#}");
    for id in ["L-1", "L-2"] {
        assert_eq!(
            fix_task(&dry, id)["changes"],
            json!([{"key": "claimed_by", "from": "dave", "to": "dave.fowler"}])
        );
    }
    assert_eq!(
        std::fs::read(lease_path(&repo, "L-1")).unwrap(),
        lease_before
    );
    assert_eq!(repo.task_file("L-1"), claimed);

    let doc = one_doc(&at(&repo, T2, &["identities", "fix", "--json"]).ok());
    assert_eq!(doc["leases"], dry["leases"]);
    let expected = claimed
        .replace("\nclaimed_by: dave\n", "\nclaimed_by: dave.fowler\n")
        .replace(
            &format!("\nupdated_at: {T0}\n"),
            &format!("\nupdated_at: {T2}\n"),
        );
    assert_eq!(repo.task_file("L-1"), expected);
    // Only the holder changed in the lease.
    let mut want = l.clone();
    want["holder"] = json!("dave.fowler");
    assert_eq!(lease(&repo, "L-1"), want);
    assert_eq!(lease(&repo, "L-2"), l2);
    // Still in progress, still held by dave under any name; others are refused.
    assert_eq!(repo.show("L-1")["status"], "in_progress");
    at(
        &repo,
        T2,
        &["heartbeat", "L-1", "--as", "Dave Fowler <dave@example.com>"],
    )
    .ok();
    at(&repo, T2, &["heartbeat", "L-1", "--as", "alice"]).expect(3);
    // A second run has nothing left to do.
    let again = one_doc(&at(&repo, T2, &["identities", "fix", "--json"]).ok());
    assert_eq!(
        (&again["tasks"], &again["leases"]),
        (&json!([]), &json!([]))
    );
    let doc = sweep(&repo, T2);
    assert!(flagged(&doc, "owner_alias").is_empty(), "{doc:#}");
}

// ---------------------------------------------------------------------------------------------
// 3. Routing
// ---------------------------------------------------------------------------------------------

const ROLES: &str = "roles: { backend: [alice, bob], frontend: [carol], empty: [] }\n";

/// One task per kind of owner; the highest priority ones belong to other people, so a
/// dispatcher that ignored routing would pick them first.
fn routing_fixture(repo: &Repo) {
    write_config(repo, &format!("{DAVE}{ROLES}"));
    for (id, owner, priority) in [
        ("R-alice", Some("alice"), "1"),
        ("R-back", Some("role:backend"), "2"),
        ("R-free", None, "3"),
        ("R-carol", Some("carol"), "0"),
        ("R-front", Some("role:frontend"), "0"),
        ("R-nobody", Some("role:nobody"), "0"),
        ("R-empty", Some("role:empty"), "0"),
    ] {
        let mut args = vec!["new", id, "--id", id, "-p", priority];
        if let Some(o) = owner {
            args.extend(["--owner", o]);
        }
        at(repo, T0, &args).ok();
    }
}

#[test]
fn ready_for_lists_own_role_and_unowned_tasks_only() {
    let repo = Repo::new();
    routing_fixture(&repo);
    assert_eq!(
        ready_for(&repo, Some("alice")),
        set(&["R-alice", "R-back", "R-free"])
    );
    assert_eq!(ready_for(&repo, Some("bob")), set(&["R-back", "R-free"]));
    assert_eq!(
        ready_for(&repo, Some("carol")),
        set(&["R-carol", "R-front", "R-free"])
    );
    // Somebody with no tasks and no roles gets the unowned ones only.
    assert_eq!(ready_for(&repo, Some("zed")), set(&["R-free"]));
    // The order is still priority first.
    let doc = one_doc(&at(&repo, T1, &["ready", "--json", "--for", "alice"]).ok());
    assert_eq!(ids(&doc), ["R-alice", "R-back", "R-free"]);
    // Without --for, every routable task (the acting identity is tester@example.com).
    assert_eq!(
        ready_for(&repo, None),
        set(&["R-alice", "R-back", "R-free", "R-carol", "R-front"])
    );
    // Human output too.
    let human = at(&repo, T1, &["ready", "--for", "bob"]).ok();
    assert!(human.stdout.contains("R-back") && human.stdout.contains("R-free"));
    for other in ["R-alice", "R-carol", "R-front", "R-nobody", "R-empty"] {
        assert!(!human.stdout.contains(other), "{other}: {}", human.stdout);
    }
}

#[test]
fn a_role_nobody_holds_is_in_no_ready_list_is_flagged_and_never_claimed_by_next() {
    let repo = Repo::new();
    routing_fixture(&repo);
    for who in [
        Some("alice"),
        Some("bob"),
        Some("carol"),
        Some("nobody"),
        Some("role:nobody"),
        None,
    ] {
        let got = ready_for(&repo, who);
        assert!(
            !got.contains("R-nobody") && !got.contains("R-empty"),
            "{who:?}: {got:?}"
        );
    }
    let doc = sweep(&repo, T1);
    assert_eq!(
        flagged(&doc, "unroutable_owner"),
        set(&["R-nobody", "R-empty"]),
        "{doc:#}"
    );
    let (_, severity, sig) = &signals_of(&doc, "R-nobody")[0];
    assert_eq!(severity, "warn");
    assert!(
        sig["detail"].as_str().unwrap().contains("nobody"),
        "{sig:#}"
    );

    // claim --next, over and over, by everyone: each takes only what routes to them, and the
    // unroutable tasks are never taken.
    let drain = |who: &str| -> BTreeSet<String> {
        let mut got = BTreeSet::new();
        loop {
            let r = at(&repo, T1, &["claim", "--next", "--json", "--as", who]);
            if r.code == 4 {
                return got;
            }
            let doc = one_doc(&r.ok());
            assert_eq!(doc["task"]["claimed_by"], who, "{doc:#}");
            assert!(got.insert(doc["task"]["id"].as_str().unwrap().to_string()));
        }
    };
    assert_eq!(drain("carol"), set(&["R-carol", "R-front", "R-free"]));
    assert_eq!(drain("alice"), set(&["R-alice", "R-back"]));
    assert!(drain("bob").is_empty());
    assert!(drain("tester@example.com").is_empty());
    for id in ["R-nobody", "R-empty"] {
        let t = repo.show(id);
        assert_eq!(t["status"], "open", "{t:#}");
        assert!(t.get("claimed_by").is_none());
    }
}

#[test]
fn claim_next_never_takes_another_persons_task() {
    let repo = Repo::new();
    routing_fixture(&repo);
    // alice's task is the most urgent one carol could see if routing were by exclusion.
    at(&repo, T0, &["set", "R-alice", "priority=0"]).ok();
    let first = one_doc(&at(&repo, T1, &["claim", "--next", "--json", "--as", "carol"]).ok());
    assert_ne!(first["task"]["id"], "R-alice");
    while at(&repo, T1, &["claim", "--next", "--as", "carol"]).code == 0 {}
    let t = repo.show("R-alice");
    assert_eq!(t["status"], "open", "{t:#}");
    // Acting under an alias, dave gets only unowned tasks (none left) — not alice's.
    at(&repo, T1, &["claim", "--next", "--as", "dave"]).expect(4);
    assert_eq!(repo.show("R-alice")["status"], "open");
    // alice gets it.
    let mine = one_doc(&at(&repo, T1, &["claim", "--next", "--json", "--as", "alice"]).ok());
    assert_eq!(mine["task"]["id"], "R-alice");
}

#[test]
fn aliases_route_through_for_and_roles() {
    let repo = Repo::new();
    write_config(&repo, &format!("{DAVE}roles: {{ ops: [davefowler] }}\n"));
    put(&repo, "D-own", "owner: dave\n");
    put(&repo, "D-ops", "owner: role:ops\n");
    put(&repo, "D-alice", "owner: alice\n");
    for spelling in SPELLINGS.iter().chain(&["dave.fowler"]) {
        assert_eq!(
            ready_for(&repo, Some(spelling)),
            set(&["D-own", "D-ops"]),
            "{spelling}"
        );
    }
    assert_eq!(ready_for(&repo, Some("alice")), set(&["D-alice"]));
    let got = one_doc(
        &at(
            &repo,
            T1,
            &["claim", "--next", "--json", "--as", "dave@example.com"],
        )
        .ok(),
    );
    assert!(
        ["D-own", "D-ops"].contains(&got["task"]["id"].as_str().unwrap()),
        "{got:#}"
    );
    assert_eq!(got["task"]["claimed_by"], "dave.fowler");
}

#[test]
fn strict_routing_makes_an_unknown_person_unroutable() {
    let repo = Repo::new();
    put(&repo, "Z-zed", "owner: zed\n");
    put(&repo, "Z-dave", "owner: davefowler\n");
    put(&repo, "Z-canon", "owner: dave.fowler\n");
    put(&repo, "Z-free", "");

    // Not strict: zed is a person like any other.
    write_config(&repo, DAVE);
    assert_eq!(ready_for(&repo, Some("zed")), set(&["Z-zed", "Z-free"]));
    let doc = sweep(&repo, T1);
    assert!(flagged(&doc, "unroutable_owner").is_empty(), "{doc:#}");

    // Strict: zed is nobody the config knows, so nobody is offered the task.
    write_config(&repo, &format!("{DAVE}routing: {{ strict: true }}\n"));
    for who in [Some("zed"), Some("dave"), Some("alice"), None] {
        assert!(!ready_for(&repo, who).contains("Z-zed"), "{who:?}");
    }
    assert_eq!(
        ready_for(&repo, Some("dave")),
        set(&["Z-dave", "Z-canon", "Z-free"])
    );
    let doc = sweep(&repo, T1);
    assert_eq!(
        flagged(&doc, "unroutable_owner"),
        set(&["Z-zed"]),
        "{doc:#}"
    );
    let (_, severity, sig) = &signals_of(&doc, "Z-zed")
        .into_iter()
        .find(|(k, _, _)| k == "unroutable_owner")
        .unwrap();
    assert_eq!(severity, "warn");
    assert!(sig["detail"].as_str().unwrap().contains("zed"), "{sig:#}");
    at(&repo, T1, &["claim", "--next", "--as", "zed"]).ok();
    assert_eq!(repo.show("Z-free")["claimed_by"], "zed");
    at(&repo, T1, &["claim", "--next", "--as", "zed"]).expect(4);
    assert_eq!(repo.show("Z-zed")["status"], "open");
}

// ---------------------------------------------------------------------------------------------
// 4. Assignment and pickup
// ---------------------------------------------------------------------------------------------

const ASSIGN_CONFIG: &str = "identities: { dave.fowler: [dave, davefowler, dave@example.com] }\nroles: { backend: [alice, bob] }\nsla: { pickup: 30m }\n";

const BEFORE_ASSIGN: &str = "2034-12-31T23:00:00Z";

fn new_before(repo: &Repo, id: &str) {
    at(repo, BEFORE_ASSIGN, &["new", id, "--id", id]).ok();
}

#[test]
fn assign_writes_the_assignee_and_only_they_claim_it() {
    let repo = Repo::new();
    write_config(&repo, ASSIGN_CONFIG);
    new_before(&repo, "A-1");
    let before = repo.task_file("A-1");

    let doc = one_doc(&at(&repo, T0, &["assign", "A-1", "bob", "--json"]).ok());
    assert_eq!(doc["task"]["assignee"], "bob");
    assert_eq!(doc["task"]["assigned_at"], T0);
    // Minimal diff: updated_at changes in place; the two new keys end the frontmatter.
    let expected = before.replace(
        &format!("updated_at: {BEFORE_ASSIGN}\n---\n"),
        &format!("updated_at: {T0}\nassignee: bob\nassigned_at: {T0}\n---\n"),
    );
    assert_ne!(expected, before);
    assert_eq!(repo.task_file("A-1"), expected);

    // Not ready for alice, ready for bob; claim --next skips it for alice.
    assert!(!ready_for(&repo, Some("alice")).contains("A-1"));
    assert!(ready_for(&repo, Some("bob")).contains("A-1"));
    at(&repo, T1, &["claim", "--next", "--as", "alice"]).expect(4);

    // alice by id: exit 3, naming the assignee; nothing written.
    let refused = at(&repo, T1, &["claim", "A-1", "--as", "alice"]).expect(3);
    assert!(refused.stderr.contains("bob"), "{}", refused.stderr);
    let err = one_doc(&at(&repo, T1, &["claim", "A-1", "--as", "alice", "--json"]).expect(3));
    assert!(
        err["error"]["message"].as_str().unwrap().contains("bob"),
        "{err:#}"
    );
    assert_eq!(repo.task_file("A-1"), expected);
    assert!(!lease_path(&repo, "A-1").exists());

    // bob claims it.
    let got = one_doc(&at(&repo, T1, &["claim", "--next", "--json", "--as", "bob"]).ok());
    assert_eq!(got["task"]["id"], "A-1");
    assert_eq!(repo.show("A-1")["claimed_by"], "bob");

    // --force lets someone else take an assigned task.
    new_before(&repo, "A-2");
    at(&repo, T0, &["assign", "A-2", "bob"]).ok();
    at(&repo, T1, &["claim", "A-2", "--as", "alice", "--force"]).ok();
    assert_eq!(repo.show("A-2")["claimed_by"], "alice");

    // Assigned to an alias, claimed under another spelling.
    new_before(&repo, "A-3");
    at(
        &repo,
        T0,
        &["assign", "A-3", "Dave Fowler <dave@example.com>"],
    )
    .ok();
    assert_eq!(repo.show("A-3")["assignee"], "dave.fowler");
    assert!(ready_for(&repo, Some("davefowler")).contains("A-3"));
    at(&repo, T1, &["claim", "A-3", "--as", "dave"]).ok();
    assert_eq!(repo.show("A-3")["claimed_by"], "dave.fowler");
}

#[test]
fn unassign_removes_both_keys() {
    let repo = Repo::new();
    write_config(&repo, ASSIGN_CONFIG);
    new_before(&repo, "U-1");
    let before = repo.task_file("U-1");
    at(&repo, T0, &["assign", "U-1", "bob"]).ok();
    let doc = one_doc(&at(&repo, T1, &["unassign", "U-1", "--json"]).ok());
    assert_keys(&doc, &["schema_version", "task"]);
    assert!(doc["task"].get("assignee").is_none(), "{doc:#}");
    assert!(doc["task"].get("assigned_at").is_none(), "{doc:#}");
    assert_eq!(
        repo.task_file("U-1"),
        before.replace(
            &format!("updated_at: {BEFORE_ASSIGN}\n"),
            &format!("updated_at: {T1}\n")
        )
    );
    // Anyone it routes to may claim it again, and the sweep no longer waits for a pickup.
    assert!(ready_for(&repo, Some("alice")).contains("U-1"));
    let doc = sweep(&repo, "2035-01-01T02:00:00Z");
    assert!(flagged(&doc, "pickup_overdue").is_empty(), "{doc:#}");
    // Unassigning an unassigned task changes nothing.
    let now = repo.task_file("U-1");
    at(&repo, T2, &["unassign", "U-1"]).ok();
    assert_eq!(repo.task_file("U-1"), now);
    at(&repo, T2, &["claim", "U-1", "--as", "alice"]).ok();
}

#[test]
fn assign_refuses_claimed_finished_tasks_and_roles() {
    let repo = Repo::new();
    write_config(&repo, ASSIGN_CONFIG);
    new_before(&repo, "N-1");
    new_before(&repo, "N-2");
    new_before(&repo, "N-3");
    at(&repo, T0, &["claim", "N-1", "--as", "alice"]).ok();
    at(&repo, T0, &["claim", "N-2", "--as", "alice"]).ok();
    at(&repo, T0, &["done", "N-2", "--as", "alice"]).ok();
    at(&repo, T0, &["cancel", "N-3", "--reason", "not needed"]).ok();
    for id in ["N-1", "N-2", "N-3"] {
        let before = repo.task_file(id);
        let r = at(&repo, T1, &["assign", id, "bob"]).expect(3);
        assert!(r.stderr.contains(id), "{}", r.stderr);
        assert_eq!(repo.task_file(id), before, "{id}");
        let err = one_doc(&at(&repo, T1, &["assign", id, "bob", "--json"]).expect(3));
        assert_keys(&err, &["schema_version", "error"]);
    }
    assert!(
        at(&repo, T1, &["assign", "N-1", "bob"])
            .stderr
            .contains("alice")
    );

    new_before(&repo, "N-4");
    let before = repo.task_file("N-4");
    for name in ["role:backend", "", "   "] {
        at(&repo, T1, &["assign", "N-4", name]).expect(2);
    }
    let err = one_doc(&at(&repo, T1, &["assign", "N-4", "role:backend", "--json"]).expect(2));
    assert_eq!(err["error"]["code"], "usage", "{err:#}");
    assert_eq!(repo.task_file("N-4"), before);
}

#[test]
fn pickup_overdue_fires_after_the_sla_and_stops_once_claimed() {
    let repo = Repo::new();
    write_config(&repo, ASSIGN_CONFIG);
    new_before(&repo, "P-1");
    new_before(&repo, "P-2");
    at(&repo, T0, &["assign", "P-1", "bob"]).ok();
    // P-2 is assigned later: not overdue at the time P-1 is.
    at(&repo, "2035-01-01T00:15:00Z", &["assign", "P-2", "bob"]).ok();

    let doc = sweep(&repo, "2035-01-01T00:20:00Z");
    assert!(flagged(&doc, "pickup_overdue").is_empty(), "{doc:#}");

    let doc = sweep(&repo, "2035-01-01T00:31:00Z");
    assert_eq!(flagged(&doc, "pickup_overdue"), set(&["P-1"]), "{doc:#}");
    let (_, severity, sig) = signals_of(&doc, "P-1")
        .into_iter()
        .find(|(k, _, _)| k == "pickup_overdue")
        .unwrap();
    assert_eq!(severity, "warn");
    assert!(sig["detail"].as_str().unwrap().contains("bob"), "{sig:#}");
    assert_eq!(sig["evidence"]["assignee"], "bob");
    assert_eq!(sig["evidence"]["assigned_at"], T0);
    // Warnings alone do not fail the sweep, unless asked.
    at(
        &repo,
        "2035-01-01T00:31:00Z",
        &["heartbeat", "--fail-on", "warn"],
    )
    .expect(7);

    // Once bob claims it, no more signal for P-1; P-2 is overdue by now.
    at(
        &repo,
        "2035-01-01T00:32:00Z",
        &["claim", "P-1", "--as", "bob"],
    )
    .ok();
    let doc = sweep(&repo, "2035-01-01T00:50:00Z");
    assert_eq!(flagged(&doc, "pickup_overdue"), set(&["P-2"]), "{doc:#}");
    assert!(kinds_of(&doc, "P-1").is_empty(), "{doc:#}");
}

// ---------------------------------------------------------------------------------------------
// 5. JSON contracts
// ---------------------------------------------------------------------------------------------

#[test]
fn json_documents_for_whoami_assign_unassign_and_identities_fix() {
    let repo = Repo::new();
    write_config(&repo, DAVE);

    let who = one_doc(&at(&repo, T0, &["whoami", "--json", "--as", "carol"]).ok());
    assert_eq!(
        who,
        json!({"schema_version": 1, "identity": "carol", "given": "carol", "source": "flag", "aliases": []})
    );
    let who = one_doc(&at(&repo, T0, &["whoami", "--json"]).ok());
    assert_eq!(
        (&who["identity"], &who["source"]),
        (&json!("tester@example.com"), &json!("git"))
    );

    at(&repo, BEFORE_ASSIGN, &["new", "J", "--id", "J-1"]).ok();
    let assigned = one_doc(&at(&repo, T0, &["assign", "J-1", "davefowler", "--json"]).ok());
    assert_keys(&assigned, &["schema_version", "task"]);
    assert_eq!(assigned["schema_version"], 1);
    let task = &assigned["task"];
    assert_keys(
        task,
        &[
            "id",
            "title",
            "status",
            "priority",
            "created_at",
            "updated_at",
            "assignee",
            "assigned_at",
            "path",
        ],
    );
    assert_eq!(
        (
            &task["id"],
            &task["assignee"],
            &task["assigned_at"],
            &task["updated_at"]
        ),
        (&json!("J-1"), &json!("dave.fowler"), &json!(T0), &json!(T0))
    );
    assert_eq!(
        PathBuf::from(task["path"].as_str().unwrap()),
        repo.path(".tasks/J-1.md")
    );
    // `show` agrees with what assign printed.
    assert_eq!(repo.show("J-1"), *task);

    let un = one_doc(&at(&repo, T1, &["unassign", "J-1", "--json"]).ok());
    assert_keys(&un, &["schema_version", "task"]);
    assert_keys(
        &un["task"],
        &[
            "id",
            "title",
            "status",
            "priority",
            "created_at",
            "updated_at",
            "path",
        ],
    );
    assert_eq!(un["task"]["updated_at"], T1);

    // identities fix with nothing to do, then with a task and a lease to fix.
    let empty = json!({"schema_version": 1, "dry_run": true, "tasks": [], "leases": []});
    assert_eq!(
        one_doc(&at(&repo, T1, &["identities", "fix", "--dry-run", "--json"]).ok()),
        empty
    );
    put(&repo, "J-2", "owner: Dave.Fowler\n");
    write_config(&repo, "");
    at(&repo, T1, &["claim", "J-2", "--as", "davefowler"]).ok();
    write_config(&repo, DAVE);
    for dry in [true, false] {
        let mut args = vec!["identities", "fix", "--json"];
        if dry {
            args.push("--dry-run");
        }
        let doc = one_doc(&at(&repo, T2, &args).ok());
        assert_keys(&doc, &["schema_version", "dry_run", "tasks", "leases"]);
        assert_eq!(doc["dry_run"], dry);
        let tasks = doc["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 1, "{doc:#}");
        assert_keys(&tasks[0], &["id", "path", "changes"]);
        assert_eq!(tasks[0]["id"], "J-2");
        assert_eq!(
            repo.root.join(tasks[0]["path"].as_str().unwrap()),
            repo.path(".tasks/J-2.md")
        );
        for c in tasks[0]["changes"].as_array().unwrap() {
            assert_keys(c, &["key", "from", "to"]);
        }
        assert_eq!(
            sorted_changes(&tasks[0]),
            vec![
                json!({"key": "claimed_by", "from": "davefowler", "to": "dave.fowler"}),
                json!({"key": "owner", "from": "Dave.Fowler", "to": "dave.fowler"}),
            ]
        );
        let leases = doc["leases"].as_array().unwrap();
        assert_eq!(leases.len(), 1, "{doc:#}");
        assert_keys(&leases[0], &["task", "from", "to"]);
        assert_eq!(
            leases[0],
            json!({"task": "J-2", "from": "davefowler", "to": "dave.fowler"})
        );
    }
    assert_eq!(lease(&repo, "J-2")["holder"], "dave.fowler");
}

#[test]
fn an_assignment_is_offered_to_its_assignee_and_taken_up_by_the_claim() {
    let repo = Repo::new();
    write_config(&repo, "roles: { backend: [alice] }\n");
    at(
        &repo,
        T0,
        &["new", "Carol's", "--id", "A-1", "--owner", "carol"],
    )
    .ok();
    at(&repo, T0, &["assign", "A-1", "bob"]).ok();
    // Assigned to bob, so offered to bob whoever owns it; not to carol any more.
    let for_bob = one_doc(&at(&repo, T0, &["ready", "--for", "bob", "--json"]).ok());
    assert_eq!(ids(&for_bob), ["A-1"]);
    let for_carol = one_doc(&at(&repo, T0, &["ready", "--for", "carol", "--json"]).ok());
    assert!(ids(&for_carol).is_empty(), "{for_carol:#}");
    at(&repo, T0, &["claim", "--next", "--as", "bob"]).ok();
    let task = repo.show("A-1");
    assert_eq!(task["claimed_by"], "bob");
    assert!(
        task.get("assignee").is_none() && task.get("assigned_at").is_none(),
        "{task:#}"
    );
    // bob fails it: it is open again and not held back for him, so carol's routing applies.
    at(
        &repo,
        T1,
        &["fail", "A-1", "--as", "bob", "--reason", "stuck"],
    )
    .ok();
    let for_carol = one_doc(&at(&repo, T1, &["ready", "--for", "carol", "--json"]).ok());
    assert_eq!(ids(&for_carol), ["A-1"]);
    // ready --for bob leaves out what bob failed, whoever asks.
    let for_bob = one_doc(
        &at(
            &repo,
            T1,
            &["ready", "--for", "bob", "--as", "alice", "--json"],
        )
        .ok(),
    );
    assert!(ids(&for_bob).is_empty(), "{for_bob:#}");
    // No pickup_overdue from the old assignment.
    let sweep = one_doc(
        &at(
            &repo,
            "2035-01-02T00:00:00Z",
            &["heartbeat", "--json", "--fail-on", "never"],
        )
        .ok(),
    );
    assert!(!sweep.to_string().contains("pickup_overdue"), "{sweep:#}");
}

#[test]
fn set_assignee_starts_the_pickup_clock_and_strict_routing_knows_role_members() {
    let repo = Repo::new();
    write_config(
        &repo,
        "roles: { backend: [alice] }\nrouting: { strict: true }\nsla: { pickup: 30m }\n",
    );
    at(&repo, T0, &["new", "Set", "--id", "S-1"]).ok();
    at(&repo, T0, &["set", "S-1", "assignee=alice"]).ok();
    assert_eq!(repo.show("S-1")["assigned_at"], T0);
    at(&repo, T0, &["set", "S-1", "assignee="]).ok();
    assert!(repo.show("S-1").get("assigned_at").is_none());
    // alice is known through her role, so a task she owns routes to her under strict routing.
    at(
        &repo,
        T0,
        &["new", "Hers", "--id", "H-1", "--owner", "alice"],
    )
    .ok();
    let for_alice = one_doc(&at(&repo, T0, &["ready", "--for", "alice", "--json"]).ok());
    assert!(
        ids(&for_alice).contains(&"H-1".to_string()),
        "{for_alice:#}"
    );
}
