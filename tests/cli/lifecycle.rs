//! The whole lifecycle end to end, from the main checkout and from a linked worktree.

use serde_json::Value;

use crate::common::Repo;

fn events(repo: &Repo) -> Vec<Value> {
    std::fs::read_to_string(repo.state_dir().join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn two_terminals_one_in_a_worktree_claim_finish_and_unlock_the_next() {
    let repo = Repo::new();
    let first = repo.new_task(&["Write the parser", "-p", "1"]);
    let second = repo.new_task(&["Use the parser", "--depends-on", &first]);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "tasks"]);
    let wt = repo.worktree("agent-a");

    // Only the first is ready; the second waits on it.
    let ready = repo.tasks(&["ready"]).ok();
    assert_eq!(ready.stdout.lines().count(), 1);
    assert!(
        ready.stdout.starts_with(&format!("{first}\topen\t1")),
        "{}",
        ready.stdout
    );
    let blocked = repo.tasks(&["blocked"]).ok();
    assert!(
        blocked
            .stdout
            .contains(&format!("{second}\topen\tdepends on {first} (open)")),
        "{}",
        blocked.stdout
    );

    // Terminal A, inside the linked worktree, claims the next task.
    let claimed = repo
        .tasks_in(&wt, &["claim", "--next", "--as", "alice"])
        .ok();
    assert_eq!(claimed.line(), first);
    // The write landed in the main checkout, not in the worktree's copy.
    assert!(repo.task_file(&first).contains("claimed_by: alice"));
    assert!(
        !wt.join(format!(".tasks/{first}.md"))
            .read_to_string_lossy()
            .contains("claimed_by")
    );

    // Terminal B, in the main checkout, finds nothing ready and cannot take alice's task.
    repo.tasks(&["claim", "--next", "--as", "bob"]).expect(4);
    let taken = repo.tasks(&["claim", &first, "--as", "bob"]).expect(3);
    assert!(taken.stderr.contains("held by alice"), "{}", taken.stderr);
    // Claiming again as the holder is fine and renews the lease.
    repo.tasks_in(&wt, &["claim", &first, "--as", "alice"]).ok();

    repo.tasks_in(&wt, &["heartbeat", &first, "--as", "alice"])
        .ok();
    repo.tasks(&["heartbeat", &first, "--as", "bob"]).expect(3);
    repo.tasks_in(
        &wt,
        &["note", &first, "parser handles CRLF", "--as", "alice"],
    )
    .ok();
    repo.tasks_in(
        &wt,
        &["done", &first, "--as", "alice", "--commit", "abc123"],
    )
    .ok();

    let done = repo.show(&first);
    assert_eq!(done["status"], "done");
    assert_eq!(done["outcome"], "completed");
    assert_eq!(done["commit"], "abc123");
    assert!(
        done.get("claimed_by").is_none(),
        "claim fields go when the claim ends"
    );
    assert!(
        repo.task_file(&first)
            .contains("alice: parser handles CRLF")
    );

    // The dependent task is now ready, and terminal B gets it.
    assert_eq!(
        repo.tasks(&["claim", "--next", "--as", "bob"]).ok().line(),
        second
    );
    let kinds: Vec<(String, String)> = events(&repo)
        .iter()
        .map(|e| {
            (
                e["task"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (first.clone(), "open".into()),
            (second.clone(), "open".into()),
            (first.clone(), "in_progress".into()),
            (first.clone(), "done".into()),
            (second, "in_progress".into())
        ]
    );
}

trait ReadLossy {
    fn read_to_string_lossy(&self) -> String;
}

impl ReadLossy for std::path::PathBuf {
    fn read_to_string_lossy(&self) -> String {
        std::fs::read(self)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

#[test]
fn the_root_is_found_from_subfolders_worktrees_and_flags() {
    let repo = Repo::new();
    let id = repo.new_task(&["findable"]);
    std::fs::create_dir_all(repo.path("src/deep")).unwrap();
    assert_eq!(
        repo.tasks_in(&repo.path("src/deep"), &["list"])
            .ok()
            .stdout
            .split('\t')
            .next(),
        Some(id.as_str())
    );
    let wt = repo.worktree("elsewhere");
    std::fs::create_dir_all(wt.join("sub")).unwrap();
    assert!(
        repo.tasks_in(&wt.join("sub"), &["list"])
            .ok()
            .stdout
            .starts_with(&id)
    );
    // -C, --dir and TASKS_DIR point elsewhere explicitly.
    let outside = repo.home.clone();
    let root = repo.root.to_str().unwrap();
    assert!(
        repo.tasks_in(&outside, &["-C", root, "list"])
            .ok()
            .stdout
            .starts_with(&id)
    );
    assert!(
        repo.tasks_in(&outside, &["--dir", root, "list"])
            .ok()
            .stdout
            .starts_with(&id)
    );
    let via_env = repo
        .command_in(&outside)
        .env("TASKS_DIR", repo.path(".tasks"))
        .arg("list")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&via_env.stdout).starts_with(&id));
    // Outside any repository and without .tasks/, a clear error.
    let lost = repo.tasks_in(&outside, &["list"]).expect(1);
    assert!(lost.stderr.contains("tasks init"), "{}", lost.stderr);
}

#[test]
fn unique_prefixes_work_and_ambiguous_ones_are_refused() {
    let repo = Repo::new();
    repo.new_task(&["one", "--id", "job-100"]);
    repo.new_task(&["two", "--id", "job-200"]);
    repo.tasks(&["claim", "job-1", "--as", "ann"]).ok();
    assert_eq!(repo.show("job-100")["claimed_by"], "ann");
    let amb = repo.tasks(&["show", "job"]).expect(1);
    assert!(
        amb.stderr.contains("job-100") && amb.stderr.contains("job-200"),
        "{}",
        amb.stderr
    );
    repo.tasks(&["show", "nope"]).expect(1);
    // An explicit id that is taken, or not an id at all, is refused.
    repo.tasks(&["new", "again", "--id", "job-100"]).expect(3);
    repo.tasks(&["new", "bad", "--id", "../escape"]).expect(1);
}

#[test]
fn identity_comes_from_flag_env_git_then_user_and_is_canonicalised() {
    let repo = Repo::new();
    repo.write(
        ".tasks/config.yaml",
        "identities: { dave.fowler: [dave, DaveFowler, tester@example.com] }\n",
    );
    let a = repo.new_task(&["a"]);
    let b = repo.new_task(&["b"]);
    let c = repo.new_task(&["c"]);
    repo.tasks(&["claim", &a, "--as", "DAVE"]).ok();
    assert_eq!(repo.show(&a)["claimed_by"], "dave.fowler");
    let out = repo
        .command_in(&repo.root)
        .env("TASKS_AGENT", "worker-9")
        .args(["claim", &b])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(repo.show(&b)["claimed_by"], "worker-9");
    // No flag, no TASKS_AGENT: git user.email, canonicalised through its alias.
    repo.tasks(&["claim", &c]).ok();
    assert_eq!(repo.show(&c)["claimed_by"], "dave.fowler");
    // dave and davefowler are one person: claiming again is the holder renewing.
    repo.tasks(&["claim", &a, "--as", "davefowler"]).ok();
}

#[test]
fn fail_counts_attempts_remembers_agents_and_stops_at_max() {
    let repo = Repo::new();
    repo.write(".tasks/config.yaml", "max_attempts: 2\n");
    let id = repo.new_task(&["flaky"]);
    repo.tasks(&["claim", &id, "--as", "ann"]).ok();
    repo.tasks(&["fail", &id, "--as", "ann", "--reason", "tests broke"])
        .ok();
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["attempts"].as_i64()),
        (Some("open"), Some(1))
    );
    assert_eq!(t["failed_agents"], serde_json::json!(["ann"]));
    assert_eq!(
        (t["outcome"].as_str(), t["reason"].as_str()),
        (Some("failed"), Some("tests broke"))
    );
    // ann may not take it again without --force, and it is not ready for her.
    let refused = repo.tasks(&["claim", &id, "--as", "ann"]).expect(3);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    repo.tasks(&["claim", "--next", "--as", "ann"]).expect(4);
    assert_eq!(
        repo.tasks(&["claim", "--next", "--as", "ben"]).ok().line(),
        id
    );
    repo.tasks(&["fail", &id, "--as", "ben", "--reason", "again"])
        .ok();
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["attempts"].as_i64()),
        (Some("failed"), Some(2))
    );
    assert_eq!(t["failed_agents"], serde_json::json!(["ann", "ben"]));
    // Finished: never ready again on its own; only reopen brings it back.
    repo.tasks(&["claim", &id, "--as", "cat"]).expect(3);
    repo.tasks(&["reopen", &id, "--reason", "infra fixed", "--as", "cat"])
        .ok();
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["attempts"].as_i64()),
        (Some("open"), Some(0))
    );
    repo.tasks(&["claim", &id, "--as", "ann", "--force"]).ok();
}

#[test]
fn invalid_transitions_exit_3_and_change_nothing() {
    let repo = Repo::new();
    let id = repo.new_task(&["finished"]);
    repo.tasks(&["claim", &id, "--as", "ann"]).ok();
    repo.tasks(&["done", &id, "--as", "ann"]).ok();
    let before = repo.task_file(&id);
    let events_before = events(&repo).len();
    for args in [
        vec!["unclaim", &id, "--reason", "x", "--as", "ann"],
        vec!["done", &id, "--as", "ann"],
        vec!["block", &id, "--reason", "x", "--as", "ann"],
        vec!["unblock", &id, "--as", "ann"],
        vec!["fail", &id, "--reason", "x", "--as", "ann"],
        vec!["claim", &id, "--as", "ann"],
    ] {
        let run = repo.tasks(&args).expect(3);
        assert!(run.stderr.contains("reopen"), "{args:?}: {}", run.stderr);
    }
    let beat = repo.tasks(&["heartbeat", &id, "--as", "ann"]).expect(3);
    assert!(beat.stderr.contains("not claimed"), "{}", beat.stderr);
    assert_eq!(repo.task_file(&id), before);
    assert_eq!(events(&repo).len(), events_before);
    // A holder's transitions refuse anybody else.
    let other = repo.new_task(&["held"]);
    repo.tasks(&["claim", &other, "--as", "ann"]).ok();
    let held = repo.task_file(&other);
    repo.tasks(&["done", &other, "--as", "bob"]).expect(3);
    repo.tasks(&["unclaim", &other, "--reason", "mine now", "--as", "bob"])
        .expect(3);
    assert_eq!(repo.task_file(&other), held);
    // ...unless a human forces the release of a gone worker's claim.
    repo.tasks(&[
        "unclaim",
        &other,
        "--reason",
        "worker gone",
        "--as",
        "bob",
        "--force",
    ])
    .ok();
    assert_eq!(repo.show(&other)["outcome"], "released");
}

#[test]
fn block_unblock_unclaim_cancel_reopen_record_outcomes() {
    let repo = Repo::new();
    let id = repo.new_task(&["bumpy"]);
    repo.tasks(&[
        "claim", &id, "--as", "ann", "--lease", "30m", "--pid", "4242",
    ])
    .ok();
    let lease_path = repo.state_dir().join("leases").join(format!("{id}.json"));
    let lease: Value =
        serde_json::from_str(&std::fs::read_to_string(&lease_path).unwrap()).unwrap();
    assert_eq!(
        (lease["holder"].as_str(), lease["pid"].as_u64()),
        (Some("ann"), Some(4242))
    );

    repo.tasks(&[
        "block",
        &id,
        "--reason",
        "waiting on API keys",
        "--as",
        "ann",
    ])
    .ok();
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("blocked"), Some("blocked"))
    );
    assert_eq!(t["reason"], "waiting on API keys");
    assert!(!lease_path.exists(), "the lease ends with the claim");
    repo.tasks(&["unblock", &id, "--as", "ann"]).ok();
    assert_eq!(repo.show(&id)["status"], "open");

    repo.tasks(&["claim", &id, "--as", "ann"]).ok();
    repo.tasks(&["unclaim", &id, "--reason", "out of time", "--as", "ann"])
        .ok();
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("open"), Some("released"))
    );

    repo.tasks(&["cancel", &id, "--reason", "not needed", "--as", "ann"])
        .ok();
    assert_eq!(repo.show(&id)["status"], "cancelled");
    repo.tasks(&["cancel", &id, "--reason", "twice", "--as", "ann"])
        .expect(3);
    assert!(repo.tasks(&["ready"]).ok().stdout.is_empty());
    assert!(
        repo.tasks(&["list"]).ok().stdout.is_empty(),
        "finished tasks need --all"
    );
    assert!(repo.tasks(&["list", "--all"]).ok().stdout.contains(&id));
    repo.tasks(&["reopen", &id, "--reason", "needed after all", "--as", "ann"])
        .ok();
    assert_eq!(repo.show(&id)["status"], "open");

    let outcomes: Vec<Option<String>> = events(&repo)
        .iter()
        .map(|e| e["outcome"].as_str().map(str::to_string))
        .collect();
    assert!(
        outcomes.contains(&Some("blocked".into())) && outcomes.contains(&Some("released".into()))
    );
}

#[test]
fn review_required_sends_done_to_in_review_and_reopen_asks_for_fixes() {
    let repo = Repo::new();
    repo.write(
        ".tasks/config.yaml",
        "review: required\ndone: { require: [pr_url] }\n",
    );
    let id = repo.new_task(&["reviewed"]);
    repo.tasks(&["claim", &id, "--as", "ann"]).ok();
    let missing = repo.tasks(&["done", &id, "--as", "ann"]).expect(1);
    assert!(missing.stderr.contains("--pr"), "{}", missing.stderr);
    repo.tasks(&[
        "done",
        &id,
        "--as",
        "ann",
        "--pr",
        "https://github.com/o/r/pull/17",
    ])
    .ok();
    let t = repo.show(&id);
    assert_eq!(t["status"], "in_review");
    assert_eq!(t["pr_number"], 17);
    assert_eq!(t["claimed_by"], "ann", "the claim is live while in review");
    repo.tasks(&["reopen", &id, "--reason", "tests missing", "--as", "rev"])
        .ok();
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("open"), Some("needs_review_fix"))
    );
    assert!(t.get("claimed_by").is_none());
}

#[test]
fn ready_respects_order_routing_placeholders_and_limit() {
    let repo = Repo::new();
    repo.write(".tasks/config.yaml", "roles: { backend: [alice] }\n");
    repo.write(
        ".tasks/a.md",
        "---\nid: a\ntitle: low\npriority: 3\ncreated_at: 2026-01-01T00:00:00Z\n---\n",
    );
    repo.write(
        ".tasks/b.md",
        "---\nid: b\ntitle: high\npriority: 0\ncreated_at: 2026-01-02T00:00:00Z\n---\n",
    );
    repo.write(
        ".tasks/c.md",
        "---\nid: c\ntitle: backend\nowner: role:backend\ncreated_at: 2026-01-01T00:00:00Z\n---\n",
    );
    repo.write(
        ".tasks/d.md",
        "---\nid: d\ntitle: nobody's role\nowner: role:ghosts\n---\n",
    );
    repo.write(
        ".tasks/e.md",
        "---\nid: e\ntitle: placeholder\ntype: placeholder\n---\n",
    );
    repo.write(
        ".tasks/f.md",
        "---\nid: f\ntitle: bob's\nowner: bob\ncreated_at: 2026-01-03T00:00:00Z\n---\n",
    );
    let ids = |run: crate::common::Run| -> Vec<String> {
        run.stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(repo.tasks(&["ready"]).ok()), ["b", "c", "f", "a"]);
    assert_eq!(
        ids(repo.tasks(&["ready", "--for", "alice"]).ok()),
        ["b", "c", "a"]
    );
    assert_eq!(
        ids(repo.tasks(&["ready", "--for", "bob"]).ok()),
        ["b", "f", "a"]
    );
    assert_eq!(ids(repo.tasks(&["ready", "--limit", "2"]).ok()), ["b", "c"]);
    // claim --next routes explicitly: bob never gets the backend role's task.
    let mut got = Vec::new();
    while let Ok(run) = Some(repo.tasks(&["claim", "--next", "--as", "bob"]))
        .filter(|r| r.code == 0)
        .ok_or(())
    {
        got.push(run.line());
    }
    assert_eq!(got, ["b", "f", "a"]);
    repo.tasks(&["claim", "d", "--as", "bob"]).expect(3);
    repo.tasks(&["claim", "e", "--as", "bob"]).expect(3);
}

#[test]
fn dependencies_refuse_cycles_and_set_guards_lifecycle_fields() {
    let repo = Repo::new();
    let a = repo.new_task(&["a"]);
    let b = repo.new_task(&["b", "-d", &a]);
    let c = repo.new_task(&["c", "-d", &b]);
    let cycle = repo.tasks(&["dep", "add", &a, &c]).expect(3);
    assert!(cycle.stderr.contains("cycle"), "{}", cycle.stderr);
    repo.tasks(&["dep", "add", &a, &a]).expect(3);
    repo.tasks(&["dep", "rm", &c, &b]).ok();
    assert!(repo.show(&c).get("depends_on").is_none());
    repo.tasks(&["dep", "add", &a, &c]).ok();
    assert_eq!(repo.show(&a)["depends_on"], serde_json::json!([c]));

    repo.tasks(&["set", &a, "status=done"]).expect(1);
    repo.tasks(&["set", &a, "priority=9"]).expect(1);
    repo.tasks(&[
        "set",
        &a,
        "priority=0",
        "labels=x,y",
        "estimate=3",
        "owner=",
    ])
    .ok();
    let t = repo.show(&a);
    assert_eq!(
        (t["priority"].as_i64(), t["estimate"].as_i64()),
        (Some(0), Some(3))
    );
    assert_eq!(t["labels"], serde_json::json!(["x", "y"]));
}

#[test]
fn notes_and_bodies_from_stdin() {
    let repo = Repo::new();
    let id = repo
        .tasks_stdin(
            &["new", "from stdin", "--body", "-"],
            "Line one.\n\n---\nafter a rule\n",
        )
        .ok()
        .line();
    assert!(
        repo.task_file(&id)
            .ends_with("---\nLine one.\n\n---\nafter a rule\n"),
        "{}",
        repo.task_file(&id)
    );
    repo.tasks_stdin(
        &["note", &id, "-", "--as", "ann"],
        "first line\nsecond line\n",
    )
    .ok();
    let text = repo.task_file(&id);
    assert!(text.contains("## Notes\n- "), "{text}");
    assert!(text.contains("ann: first line\n  second line\n"), "{text}");
    repo.tasks(&["note", &id, "  ", "--as", "ann"]).expect(2);
}

#[test]
fn done_checks_gate_done_with_exit_6_and_record_evidence() {
    let repo = Repo::new();
    repo.write(
        ".tasks/config.yaml",
        "done: { checks: ['echo checking-now', 'test -f built.txt'] }\n",
    );
    let id = repo.new_task(&["checked"]);
    let wt = repo.worktree("checked-wt");
    repo.tasks_in(&wt, &["claim", &id, "--as", "ann"]).ok();

    let failed = repo
        .tasks_in(&wt, &["done", &id, "--as", "ann", "--json"])
        .expect(6);
    assert_eq!(failed.json()["error"]["code"], "checks_failed");
    assert!(
        failed.stderr.contains("checking-now"),
        "check output streams to stderr: {}",
        failed.stderr
    );
    assert!(
        !failed.stdout.contains("checking-now"),
        "stdout stays one JSON document"
    );
    let t = repo.show(&id);
    assert_eq!(t["status"], "in_progress");
    assert!(
        repo.task_file(&id)
            .contains("ann: done check `test -f built.txt` exited 1"),
        "{}",
        repo.task_file(&id)
    );

    // The checks run in the claimant's worktree: a file there (not in the root) makes them pass.
    std::fs::write(wt.join("built.txt"), "ok").unwrap();
    repo.tasks_in(&wt, &["done", &id, "--as", "ann"]).ok();
    let t = repo.show(&id);
    assert_eq!(t["status"], "done");
    let head = repo.git_in(&wt, &["rev-parse", "HEAD"]);
    assert_eq!(t["verified"]["commit"], head.trim());
    // Each check with its exit status and how long it took.
    let checks = t["verified"]["checks"].as_array().unwrap();
    let cmds: Vec<&str> = checks.iter().map(|c| c["cmd"].as_str().unwrap()).collect();
    assert_eq!(cmds, ["echo checking-now", "test -f built.txt"]);
    for c in checks {
        assert_eq!(c["exit"], 0, "{c}");
        assert!(c["seconds"].as_f64().is_some_and(|s| s >= 0.0), "{c}");
    }

    // Skipping is allowed, with a reason, and recorded.
    let other = repo.new_task(&["skipped"]);
    repo.tasks(&["claim", &other, "--as", "ann"]).ok();
    repo.tasks(&["done", &other, "--as", "ann", "--no-verify"])
        .expect(2);
    repo.tasks(&[
        "done",
        &other,
        "--as",
        "ann",
        "--no-verify",
        "--reason",
        "docs only",
    ])
    .ok();
    let t = repo.show(&other);
    assert_eq!(
        (
            t["verified"]["skipped"].as_bool(),
            t["verified"]["reason"].as_str()
        ),
        (Some(true), Some("docs only"))
    );
}

#[test]
fn approve_finishes_a_task_in_review() {
    let repo = Repo::new();
    repo.write(".tasks/config.yaml", "review: required\n");
    let id = repo.new_task(&["needs eyes"]);
    repo.tasks(&["approve", &id, "--as", "rev"]).expect(3);
    repo.tasks(&["claim", &id, "--as", "ann"]).ok();
    repo.tasks(&[
        "done",
        &id,
        "--as",
        "ann",
        "--pr",
        "https://github.com/o/r/pull/3",
    ])
    .ok();
    repo.tasks(&["done", &id, "--as", "ann"]).expect(3);
    repo.tasks(&["approve", &id, "--as", "rev"]).ok();
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["outcome"].as_str()),
        (Some("done"), Some("completed_with_pr"))
    );
    assert_eq!(t["outcome_by"], "rev");
    assert!(t.get("claimed_by").is_none());
    assert!(
        !repo
            .state_dir()
            .join("leases")
            .join(format!("{id}.json"))
            .exists()
    );
}

#[test]
fn identities_compare_without_case_and_empty_names_fall_through() {
    let repo = Repo::new();
    let id = repo.new_task(&["case"]);
    repo.tasks(&["claim", &id, "--as", "bob"]).ok();
    repo.tasks(&["heartbeat", &id, "--as", "BOB"]).ok();
    repo.tasks(&["set", &id, "owner=carol"]).ok();
    assert!(
        repo.tasks(&["list", "--owner", "CAROL"])
            .ok()
            .stdout
            .starts_with(&id)
    );
    // An empty --as is no identity at all: TASKS_AGENT is next.
    let out = repo
        .command_in(&repo.root)
        .env("TASKS_AGENT", "Bob")
        .args(["note", &id, "still here", "--as", ""])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        repo.task_file(&id).contains(" Bob: still here"),
        "{}",
        repo.task_file(&id)
    );
}

#[test]
fn blocking_an_open_task_records_a_reason_but_no_outcome() {
    let repo = Repo::new();
    let id = repo.new_task(&["not yet"]);
    repo.tasks(&["block", &id, "--reason", "waiting on legal", "--as", "pm"])
        .ok();
    let t = repo.show(&id);
    assert_eq!(
        (t["status"].as_str(), t["reason"].as_str()),
        (Some("blocked"), Some("waiting on legal"))
    );
    assert!(
        t.get("outcome").is_none(),
        "no claim ended, so no outcome: {t}"
    );
    let blocked = repo.tasks(&["blocked"]).ok();
    assert!(
        blocked.stdout.contains("waiting on legal"),
        "{}",
        blocked.stdout
    );
}

#[test]
fn a_bad_id_prefix_is_a_config_error() {
    let repo = Repo::new();
    repo.write(".tasks/config.yaml", "# ids\nid_prefix: ../x\n");
    let run = repo.tasks(&["list"]).expect(1);
    assert!(
        run.stderr.contains("config.yaml:2: id_prefix `../x`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_timed_out_done_check_is_stopped_with_everything_it_started() {
    let repo = Repo::new();
    repo.write(
        ".tasks/config.yaml",
        "done: { checks: ['sleep 60 & echo $! > child.pid; wait'], timeout: 1s }\n",
    );
    let id = repo.new_task(&["slow checks"]);
    repo.tasks(&["claim", &id, "--as", "ann"]).ok();
    let run = repo.tasks(&["done", &id, "--as", "ann"]).expect(6);
    assert!(
        run.stderr.contains("did not finish within 1s"),
        "{}",
        run.stderr
    );
    let pid = repo.read("child.pid").trim().to_string();
    // The grandchild is gone: no such process, or a zombie waiting to be reaped.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next()
        .unwrap_or("");
    assert!(
        stat.is_empty() || state == "Z",
        "sleep {pid} still running: {stat}"
    );
    assert_eq!(repo.show(&id)["status"], "in_progress");
}
