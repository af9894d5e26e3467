//! Worktrees end to end: `tasks start` makes real linked worktrees, agents change their copy of
//! a task there, and `drift`, `reconcile`, `orphans` and `worktree prune` deal with the results.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::common::{Repo, Run};

const PR_URL: &str = "https://github.com/o/r/pull/9";

/// Creates a task and commits it, so a worktree branched from HEAD has it too.
fn committed_task(repo: &Repo, args: &[&str]) -> String {
    let id = repo.new_task(args);
    commit_tasks(repo, "add task");
    id
}

fn commit_tasks(repo: &Repo, message: &str) {
    repo.git(&["add", ".tasks"]);
    repo.git(&["commit", "-qm", message]);
}

/// `tasks start ID --as WHO`; returns the worktree path it printed.
fn start(repo: &Repo, id: &str, who: &str) -> PathBuf {
    let run = repo.tasks(&["start", id, "--as", who]).ok();
    PathBuf::from(run.line())
}

/// The copy of a task file inside a worktree.
fn wt_file(wt: &Path, id: &str) -> PathBuf {
    wt.join(".tasks").join(format!("{id}.md"))
}

/// Rewrites a file with `f`, panicking when `f` changed nothing (the edit must take).
fn edit(path: &Path, f: impl FnOnce(&str) -> String) {
    let before = std::fs::read_to_string(path).unwrap();
    let after = f(&before);
    assert_ne!(
        before,
        after,
        "the edit of {} changed nothing",
        path.display()
    );
    std::fs::write(path, after).unwrap();
}

/// Replaces the line starting with `key: ` in the frontmatter.
fn set_key(text: &str, key: &str, value: &str) -> String {
    let prefix = format!("{key}: ");
    let mut done = false;
    let out: Vec<String> = text
        .split_inclusive('\n')
        .map(|line| {
            if !done && line.starts_with(&prefix) {
                done = true;
                format!("{prefix}{value}\n")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert!(done, "no `{key}:` line in\n{text}");
    out.concat()
}

/// Adds `key: value` as the last frontmatter line.
fn add_key(text: &str, key: &str, value: &str) -> String {
    let rest = text.strip_prefix("---\n").expect("frontmatter");
    let end = rest.find("\n---\n").expect("closing ---") + 1;
    format!("---\n{}{key}: {value}\n{}", &rest[..end], &rest[end..])
}

fn commit_in(repo: &Repo, wt: &Path, message: &str) {
    repo.git_in(wt, &["commit", "-qam", message]);
}

fn common_dir(repo: &Repo) -> PathBuf {
    let out = repo.git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
    PathBuf::from(out.trim())
}

fn lease_path(repo: &Repo, id: &str) -> PathBuf {
    common_dir(repo)
        .join("tasks")
        .join("leases")
        .join(format!("{id}.json"))
}

fn events(repo: &Repo) -> Vec<Value> {
    std::fs::read_to_string(common_dir(repo).join("tasks").join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (task id, kind, severity) of every signal in a sweep document.
fn signals(doc: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for t in doc["tasks"].as_array().expect("tasks array") {
        for s in t["signals"].as_array().expect("signals array") {
            out.push((
                t["id"].as_str().unwrap().to_string(),
                s["kind"].as_str().unwrap().to_string(),
                s["severity"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// The one signal of `kind` about `id`.
fn signal<'a>(doc: &'a Value, id: &str, kind: &str) -> &'a Value {
    let row = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no row for {id} in {doc:#}"));
    let found: Vec<&Value> = row["signals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "one {kind} for {id} in {doc:#}");
    found[0]
}

/// The evidence entry for one key of a drift signal.
fn key_evidence<'a>(sig: &'a Value, key: &str) -> &'a Value {
    sig["evidence"]["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("no evidence.keys in {sig:#}"))
        .iter()
        .find(|k| k["key"] == key)
        .unwrap_or_else(|| panic!("no key {key} in {sig:#}"))
}

fn object_keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// The linked worktrees git knows about (the main one left out), as `git worktree list
/// --porcelain` records: (path, branch without refs/heads/, prunable).
fn linked_worktrees(repo: &Repo) -> Vec<(PathBuf, Option<String>, bool)> {
    let out = repo.git(&["worktree", "list", "--porcelain"]);
    let mut all = Vec::new();
    for block in out.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut path = None;
        let mut branch = None;
        let mut prunable = false;
        for line in block.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                path = Some(PathBuf::from(p));
            } else if let Some(b) = line.strip_prefix("branch refs/heads/") {
                branch = Some(b.to_string());
            } else if line.starts_with("prunable") {
                prunable = true;
            }
        }
        all.push((path.unwrap(), branch, prunable));
    }
    all.into_iter()
        .filter(|(p, _, _)| *p != repo.root)
        .collect()
}

fn branch_exists(repo: &Repo, branch: &str) -> bool {
    !repo.git(&["branch", "--list", branch]).trim().is_empty()
}

#[test]
fn the_incident_a_task_finished_in_a_worktree_is_found_and_reconciled() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Fix queue race"]);
    let events_at_start = events(&repo).len();

    // The agent starts: a claim and a worktree of its own.
    let started = repo.tasks(&["start", &id, "--as", "alice"]).ok();
    let wt = PathBuf::from(started.line());
    assert_eq!(wt, repo.root.join(".worktrees").join(&id));
    assert!(
        wt_file(&wt, &id).is_file(),
        "the worktree has the task file"
    );
    assert_eq!(
        linked_worktrees(&repo),
        vec![(wt.clone(), Some(format!("tasks/{id}")), false)]
    );
    let t = repo.show(&id);
    assert_eq!(t["status"], "in_progress");
    assert_eq!(t["claimed_by"], "alice");
    assert_eq!(t["worktree"], format!(".worktrees/{id}"));
    assert_eq!(t["branch"], format!("tasks/{id}"));
    let file = repo.task_file(&id);
    assert!(
        file.contains(&format!("\nworktree: .worktrees/{id}\n")),
        "{file}"
    );
    assert!(file.contains(&format!("\nbranch: tasks/{id}\n")), "{file}");
    assert!(lease_path(&repo, &id).is_file());
    // The worktrees folder stays out of the root's git status.
    assert_eq!(
        repo.git(&["status", "--porcelain"]).trim(),
        format!("M .tasks/{id}.md")
    );

    // Inside its worktree the agent finishes, records the PR in its copy, and commits.
    edit(&wt_file(&wt, &id), |t| {
        let t = set_key(t, "status", "done");
        let t = add_key(&t, "pr_url", PR_URL);
        add_key(&t, "pr_number", "9")
    });
    commit_in(&repo, &wt, "finish the task");
    assert_eq!(repo.show(&id)["status"], "in_progress", "the root lags");

    // Drift sees it, as an error.
    repo.tasks(&["drift"]).expect(7);
    let run = repo.tasks(&["drift", "--json"]).expect(7);
    let doc = run.json();
    assert_eq!(
        object_keys(&doc),
        BTreeSet::from(["schema_version", "generated_at", "tasks", "global"])
    );
    assert_eq!(doc["schema_version"], 1);
    assert!(doc["generated_at"].is_string());
    assert_eq!(doc["global"], serde_json::json!([]));
    let rows = doc["tasks"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{doc:#}");
    assert_eq!(
        object_keys(&rows[0]),
        BTreeSet::from(["id", "status", "signals"])
    );
    assert_eq!(rows[0]["id"], id.as_str());
    assert_eq!(rows[0]["status"], "in_progress");
    assert_eq!(
        signals(&doc),
        vec![(id.clone(), "completed_unreconciled".into(), "error".into())]
    );
    let sig = signal(&doc, &id, "completed_unreconciled");
    for k in ["kind", "severity", "detail", "evidence"] {
        assert!(sig.get(k).is_some(), "signal lacks {k}: {sig:#}");
    }
    assert!(sig["detail"].as_str().unwrap().contains("done"), "{sig:#}");
    let status = key_evidence(sig, "status");
    assert_eq!(
        (&status["base"], &status["root"], &status["worktree"]),
        (
            &Value::from("open"),
            &Value::from("in_progress"),
            &Value::from("done")
        )
    );
    let pr_url = key_evidence(sig, "pr_url");
    assert_eq!(
        (&pr_url["base"], &pr_url["root"], &pr_url["worktree"]),
        (&Value::Null, &Value::Null, &Value::from(PR_URL))
    );
    let pr_number = key_evidence(sig, "pr_number");
    assert_eq!(
        (
            &pr_number["base"],
            &pr_number["root"],
            &pr_number["worktree"]
        ),
        (&Value::Null, &Value::Null, &Value::from(9))
    );

    // A dry run says what it would take and writes nothing.
    let events_before = events(&repo).len();
    assert_eq!(events_before, events_at_start + 1, "start logged the claim");
    let lagging = repo.read_bytes(&format!(".tasks/{id}.md"));
    let dry = repo.tasks(&["reconcile", "--dry-run"]).ok();
    assert!(
        dry.stdout.contains("would take") && dry.stdout.contains("status in_progress → done"),
        "{}",
        dry.stdout
    );
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), lagging);
    assert!(lease_path(&repo, &id).is_file());
    assert_eq!(events(&repo).len(), events_before);

    // Reconcile brings it home and ends the claim properly.
    repo.tasks(&["reconcile"]).ok();
    let t = repo.show(&id);
    assert_eq!(t["status"], "done");
    assert_eq!(t["pr_url"], PR_URL);
    assert_eq!(t["pr_number"], 9);
    assert_eq!(t["outcome"], "completed_with_pr");
    assert_eq!(t["outcome_by"], "alice");
    for key in ["claimed_by", "claimed_at", "worktree", "branch"] {
        assert!(
            t.get(key).is_none(),
            "{key} survived the end of the claim: {t:#}"
        );
    }
    assert!(
        !lease_path(&repo, &id).exists(),
        "the lease ends with the claim"
    );
    let log = events(&repo);
    assert_eq!(log.len(), events_before + 1, "one event for the transition");
    let last = log.last().unwrap();
    assert_eq!(last["task"], id.as_str());
    assert_eq!(last["from"], "in_progress");
    assert_eq!(last["to"], "done");
    assert_eq!(last["outcome"], "completed_with_pr");

    // Clean now, and reconciling again is a no-op.
    let clean = repo.tasks(&["drift", "--json"]).ok().json();
    assert_eq!(clean["tasks"], serde_json::json!([]), "{clean:#}");
    repo.tasks(&["drift", "--fail-on", "warn"]).ok();
    let bytes = repo.read_bytes(&format!(".tasks/{id}.md"));
    let again = repo.tasks(&["reconcile"]).ok();
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), bytes);
    assert!(again.stdout.is_empty(), "{}", again.stdout);
    assert!(
        again.stderr.contains("nothing to reconcile"),
        "{}",
        again.stderr
    );
    assert_eq!(events(&repo).len(), events_before + 1);
}

#[test]
fn uncommitted_edits_and_untracked_new_tasks_in_a_worktree_are_drift() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Tune the pool", "-p", "2"]);
    let wt = start(&repo, &id, "alice");

    // An uncommitted change of one key: drift (a warning), not yet in the root.
    edit(&wt_file(&wt, &id), |t| set_key(t, "priority", "0"));
    repo.tasks(&["drift"]).ok();
    repo.tasks(&["drift", "--fail-on", "warn"]).expect(7);
    let doc = repo.tasks(&["drift", "--json"]).ok().json();
    assert_eq!(
        signals(&doc),
        vec![(id.clone(), "metadata_drift".into(), "warn".into())]
    );
    let priority = key_evidence(signal(&doc, &id, "metadata_drift"), "priority");
    assert_eq!(
        (&priority["base"], &priority["root"], &priority["worktree"]),
        (&Value::from(2), &Value::from(2), &Value::from(0))
    );
    assert_eq!(priority["resolution"], "take_worktree");

    // A task file only the worktree has, untracked, in a subfolder, with CRLF endings and
    // an unknown key and a comment: drift names it, reconcile copies it byte for byte.
    let new_text = "---\r\nid: WT-1\r\ntitle: Found while working\r\nstatus: open\r\n# keep me\r\ncustom_key: 'quoted'\r\n---\r\nSeen in the worktree.\r\n";
    let new_rel = ".tasks/found/WT-1.md";
    std::fs::create_dir_all(wt.join(".tasks/found")).unwrap();
    std::fs::write(wt.join(new_rel), new_text).unwrap();
    assert!(!repo.path(new_rel).exists());
    assert!(
        repo.git_in(&wt, &["status", "--porcelain"])
            .contains("?? .tasks/found/"),
        "the new file is untracked"
    );
    let doc = repo.tasks(&["drift", "--json"]).ok().json();
    let new_sig = signal(&doc, "WT-1", "metadata_drift");
    assert_eq!(new_sig["evidence"]["new_file"], true, "{new_sig:#}");
    let row = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "WT-1")
        .unwrap();
    assert_eq!(row["status"], "open");

    repo.tasks(&["reconcile"]).ok();
    assert_eq!(repo.read_bytes(new_rel), new_text.as_bytes());
    assert_eq!(repo.show(&id)["priority"], 0);
    assert_eq!(
        repo.show(&id)["status"],
        "in_progress",
        "the claim is untouched"
    );
    assert_eq!(repo.show("WT-1")["custom_key"], "quoted");
    repo.tasks(&["drift", "--fail-on", "warn"]).ok();
    let root_bytes = repo.read_bytes(&format!(".tasks/{id}.md"));
    repo.tasks(&["reconcile"]).ok();
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), root_bytes);
    assert_eq!(repo.read_bytes(new_rel), new_text.as_bytes());
}

#[test]
fn conflicting_edits_are_reported_left_alone_and_settled_only_by_prefer() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Original title"]);
    let wt = start(&repo, &id, "alice");
    // The root and the worktree (through --local, on its own copy) both retitle the task.
    repo.tasks(&["set", &id, "title=Root title"]).ok();
    repo.tasks_in(&wt, &["--local", "set", &id, "title=Worktree title"])
        .ok();
    assert!(
        std::fs::read_to_string(wt_file(&wt, &id))
            .unwrap()
            .contains("title: Worktree title\n")
    );
    assert!(repo.task_file(&id).contains("title: Root title\n"));
    commit_in(&repo, &wt, "retitle");

    let doc = repo.tasks(&["drift", "--json"]).ok().json();
    let sig = signal(&doc, &id, "metadata_drift");
    let title = key_evidence(sig, "title");
    assert_eq!(title["resolution"], "conflict");
    assert_eq!(
        (&title["base"], &title["root"], &title["worktree"]),
        (
            &Value::from("Original title"),
            &Value::from("Root title"),
            &Value::from("Worktree title")
        )
    );
    assert_eq!(sig["evidence"]["conflicts"], 1);

    let before = repo.read_bytes(&format!(".tasks/{id}.md"));
    let events_before = events(&repo).len();
    let run = repo.tasks(&["reconcile"]).expect(3);
    assert!(
        run.stdout.contains("conflict") && run.stdout.contains("title"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Worktree title"), "{}", run.stdout);
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), before);
    let json = repo.tasks(&["reconcile", "--json"]).expect(3).json();
    let conflicts = json["tasks"][0]["conflicts"].as_array().unwrap().clone();
    assert_eq!(conflicts.len(), 1, "{json:#}");
    assert_eq!(conflicts[0]["key"], "title");
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), before);

    // --prefer root keeps the root's value and is content.
    repo.tasks(&["reconcile", "--prefer", "root"]).ok();
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), before);
    // --prefer worktree takes the worktree's, changing only that line (and updated_at).
    repo.tasks(&["reconcile", "--prefer", "worktree"]).ok();
    let after = repo.task_file(&id);
    assert_eq!(repo.show(&id)["title"], "Worktree title");
    let before = String::from_utf8(before).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert!(
        changed
            .iter()
            .all(|(a, _)| a.starts_with("title:") || a.starts_with("updated_at:")),
        "{changed:?}"
    );
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(repo.show(&id)["status"], "in_progress");
    assert_eq!(events(&repo).len(), events_before, "no transition");
    repo.tasks(&["drift", "--fail-on", "warn"]).ok();
}

#[test]
fn notes_added_on_both_sides_all_survive_once() {
    let repo = Repo::new();
    let id = repo.new_task(&["Take notes"]);
    repo.tasks(&["note", &id, "before the branch", "--as", "alice"])
        .ok();
    commit_tasks(&repo, "task with a note");
    let wt = start(&repo, &id, "alice");

    repo.tasks(&["note", &id, "root side note", "--as", "alice"])
        .ok();
    edit(&wt_file(&wt, &id), |t| {
        assert!(t.contains("## Notes\n"), "{t}");
        format!("{t}- 2026-01-01T00:00:00Z alice: worktree side note\n")
    });
    commit_in(&repo, &wt, "a note from the worktree");

    let doc = repo.tasks(&["drift", "--json"]).ok().json();
    let sig = signal(&doc, &id, "metadata_drift");
    assert_eq!(sig["evidence"]["body"]["added"], 1, "{sig:#}");
    assert_eq!(sig["evidence"]["body"]["conflicts"], 0, "{sig:#}");

    repo.tasks(&["reconcile"]).ok();
    let text = repo.task_file(&id);
    for note in [
        "before the branch",
        "root side note",
        "alice: worktree side note",
    ] {
        assert_eq!(text.matches(note).count(), 1, "{note}:\n{text}");
    }
    assert_eq!(text.matches("## Notes").count(), 1, "{text}");
    assert!(
        text.find("root side note").unwrap() < text.find("worktree side note").unwrap(),
        "{text}"
    );
    let bytes = repo.read_bytes(&format!(".tasks/{id}.md"));
    let again = repo.tasks(&["reconcile"]).ok();
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), bytes);
    assert!(
        again.stderr.contains("nothing to reconcile"),
        "{}",
        again.stderr
    );
    repo.tasks(&["drift", "--fail-on", "warn"]).ok();
}

#[test]
fn notes_sections_started_on_both_sides_merge_under_one_heading() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["No notes yet"]);
    let wt = start(&repo, &id, "alice");
    repo.tasks(&["note", &id, "root first", "--as", "alice"])
        .ok();
    // The agent notes on its own copy with the tool (--local), which starts the section the
    // same way the root's note did.
    repo.tasks_in(
        &wt,
        &["--local", "note", &id, "worktree first", "--as", "alice"],
    )
    .ok();
    let copy = std::fs::read_to_string(wt_file(&wt, &id)).unwrap();
    assert!(
        copy.contains("## Notes\n") && copy.contains("alice: worktree first"),
        "{copy}"
    );
    assert!(
        !repo.task_file(&id).contains("worktree first"),
        "--local wrote the worktree's copy"
    );
    commit_in(&repo, &wt, "first note");
    repo.tasks(&["reconcile"]).ok();
    let text = repo.task_file(&id);
    assert_eq!(text.matches("## Notes").count(), 1, "{text}");
    assert_eq!(text.matches("root first").count(), 1, "{text}");
    assert_eq!(text.matches("worktree first").count(), 1, "{text}");
    let bytes = repo.read_bytes(&format!(".tasks/{id}.md"));
    repo.tasks(&["reconcile"]).ok();
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), bytes);
}

#[test]
fn status_rank_decides_between_root_and_worktree() {
    let repo = Repo::new();
    let blocked = repo.new_task(&["Will be blocked in the worktree"]);
    let reviewed = repo.new_task(&["Will be in review in the worktree"]);
    commit_tasks(&repo, "two tasks");
    let wt_b = start(&repo, &blocked, "alice");
    let wt_r = start(&repo, &reviewed, "bob");
    edit(&wt_file(&wt_b, &blocked), |t| {
        set_key(t, "status", "blocked")
    });
    commit_in(&repo, &wt_b, "blocked");
    edit(&wt_file(&wt_r, &reviewed), |t| {
        set_key(t, "status", "in_review")
    });
    commit_in(&repo, &wt_r, "in review");

    let doc = repo.tasks(&["drift", "--json"]).expect(7).json();
    let b = key_evidence(signal(&doc, &blocked, "metadata_drift"), "status");
    assert_eq!(
        b["resolution"], "conflict",
        "in_progress vs blocked: equal rank"
    );
    let r = key_evidence(signal(&doc, &reviewed, "completed_unreconciled"), "status");
    assert_eq!(r["resolution"], "take_worktree");

    let blocked_before = repo.read_bytes(&format!(".tasks/{blocked}.md"));
    let events_before = events(&repo).len();
    let run = repo.tasks(&["reconcile"]).expect(3);
    assert!(run.stdout.contains(&blocked), "{}", run.stdout);
    assert_eq!(
        repo.read_bytes(&format!(".tasks/{blocked}.md")),
        blocked_before,
        "the conflict is left alone"
    );
    let t = repo.show(&reviewed);
    assert_eq!(t["status"], "in_review");
    assert_eq!(t["outcome"], "needs_review");
    assert_eq!(t["claimed_by"], "bob", "in review still holds the claim");
    assert_eq!(t["branch"], format!("tasks/{reviewed}"));
    let log = events(&repo);
    assert_eq!(log.len(), events_before + 1);
    assert_eq!(
        (
            log.last().unwrap()["task"].as_str(),
            log.last().unwrap()["from"].as_str(),
            log.last().unwrap()["to"].as_str()
        ),
        (
            Some(reviewed.as_str()),
            Some("in_progress"),
            Some("in_review")
        )
    );
    // The worktree's blocked can still be forced in.
    repo.tasks(&["reconcile", "--prefer", "worktree", &blocked])
        .ok();
    let t = repo.show(&blocked);
    assert_eq!(t["status"], "blocked");
    assert_eq!(t["outcome"], "blocked");
    assert!(t.get("claimed_by").is_none(), "{t:#}");
    assert!(!lease_path(&repo, &blocked).exists());
}

#[test]
fn a_deleted_worktree_is_worker_gone_and_drift_skips_it() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Abandoned"]);
    let wt = start(&repo, &id, "alice");
    repo.tasks(&["orphans"]).ok();
    std::fs::remove_dir_all(&wt).unwrap();

    let run = repo.tasks(&["orphans", "--json"]).expect(7);
    let doc = run.json();
    assert_eq!(
        signals(&doc),
        vec![(id.clone(), "worker_gone".into(), "error".into())]
    );
    let sig = signal(&doc, &id, "worker_gone");
    assert_eq!(sig["evidence"]["claimed_by"], "alice");
    assert!(sig["detail"].as_str().unwrap().contains("alice"), "{sig:#}");
    repo.tasks(&["orphans"]).expect(7);

    assert!(
        linked_worktrees(&repo)
            .iter()
            .any(|(p, _, prunable)| *p == wt && *prunable),
        "git now calls it prunable"
    );
    let drift = repo.tasks(&["drift", "--json", "--fail-on", "warn"]).ok();
    assert_eq!(drift.json()["tasks"], serde_json::json!([]));
    assert_eq!(drift.json()["global"], serde_json::json!([]));
    assert!(drift.stderr.is_empty(), "{}", drift.stderr);
    repo.tasks(&["reconcile"]).ok();
}

#[test]
fn leftover_worktrees_of_finished_tasks_are_orphans_and_prune_removes_only_safe_ones() {
    let repo = Repo::new();
    let clean = repo.new_task(&["Clean and merged"]);
    let dirty = repo.new_task(&["Dirty worktree"]);
    let ahead = repo.new_task(&["Unmerged commits"]);
    commit_tasks(&repo, "three tasks");
    let wt_clean = start(&repo, &clean, "alice");
    let wt_dirty = start(&repo, &dirty, "alice");
    let wt_ahead = start(&repo, &ahead, "alice");
    std::fs::write(wt_dirty.join("scratch.txt"), "not committed\n").unwrap();
    std::fs::write(wt_ahead.join("feature.txt"), "work\n").unwrap();
    repo.git_in(&wt_ahead, &["add", "feature.txt"]);
    commit_in(&repo, &wt_ahead, "the feature");
    // A branch named like a task that does not exist.
    repo.git(&["branch", "tasks/GHOST-1"]);

    // Nothing is an orphan while the tasks are in progress (except the ghost branch).
    let doc = repo.tasks(&["orphans", "--json"]).ok().json();
    assert_eq!(
        signals(&doc),
        vec![("GHOST-1".into(), "orphan_worktree".into(), "warn".into())]
    );

    for id in [&clean, &dirty, &ahead] {
        repo.tasks(&["done", id, "--as", "alice"]).ok();
    }
    let doc = repo.tasks(&["orphans", "--json"]).ok().json();
    let mut found = signals(&doc);
    found.sort();
    let mut expected: Vec<(String, String, String)> = [&clean, &dirty, &ahead, &"GHOST-1".into()]
        .iter()
        .map(|id| (id.to_string(), "orphan_worktree".into(), "warn".into()))
        .collect();
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(
        signal(&doc, &clean, "orphan_worktree")["evidence"]["branch"],
        format!("tasks/{clean}")
    );
    assert_eq!(
        signal(&doc, "GHOST-1", "orphan_worktree")["evidence"]["worktree"],
        Value::Null
    );
    repo.tasks(&["orphans"]).ok();
    repo.tasks(&["orphans", "--fail-on", "warn"]).expect(7);

    // A dry run says what it would do and does nothing.
    let listed_before = linked_worktrees(&repo);
    assert_eq!(listed_before.len(), 3);
    let dry = repo
        .tasks(&["worktree", "prune", "--dry-run", "--json"])
        .ok()
        .json();
    assert_eq!(dry["dry_run"], true);
    let removed: Vec<&str> = dry["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["task"].as_str().unwrap())
        .collect();
    assert_eq!(removed, vec![clean.as_str()]);
    let human_dry = repo.tasks(&["worktree", "prune", "--dry-run"]).ok();
    assert!(
        human_dry.stdout.contains("would remove") && human_dry.stdout.contains(&clean),
        "{}",
        human_dry.stdout
    );
    assert_eq!(linked_worktrees(&repo), listed_before);
    assert!(wt_clean.is_dir());
    assert!(branch_exists(&repo, &format!("tasks/{clean}")));

    let pruned = repo.tasks(&["worktree", "prune", "--json"]).ok().json();
    assert_eq!(pruned["dry_run"], false);
    let removed: Vec<&str> = pruned["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["task"].as_str().unwrap())
        .collect();
    assert_eq!(removed, vec![clean.as_str()]);
    let reason = |id: &str| -> String {
        pruned["kept"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["task"] == id)
            .unwrap_or_else(|| panic!("{id} not kept: {pruned:#}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason(&dirty).contains("uncommitted"), "{}", reason(&dirty));
    assert!(reason(&dirty).contains("scratch.txt"), "{}", reason(&dirty));
    assert!(reason(&ahead).contains("not merged"), "{}", reason(&ahead));
    assert!(
        reason("GHOST-1").contains("no task"),
        "{}",
        reason("GHOST-1")
    );

    assert!(!wt_clean.exists());
    assert!(!branch_exists(&repo, &format!("tasks/{clean}")));
    let left: BTreeSet<PathBuf> = linked_worktrees(&repo).into_iter().map(|w| w.0).collect();
    assert_eq!(left, BTreeSet::from([wt_dirty.clone(), wt_ahead.clone()]));
    for b in [
        format!("tasks/{dirty}"),
        format!("tasks/{ahead}"),
        "tasks/GHOST-1".into(),
    ] {
        assert!(branch_exists(&repo, &b), "{b} was deleted");
    }
    assert_eq!(
        std::fs::read_to_string(wt_dirty.join("scratch.txt")).unwrap(),
        "not committed\n"
    );
    let doc = repo.tasks(&["orphans", "--json"]).ok().json();
    assert!(
        !signals(&doc).iter().any(|(id, _, _)| *id == clean),
        "{doc:#}"
    );

    // Once merged into the root's HEAD, the unmerged one goes too.
    repo.git(&["merge", "-q", "--no-edit", &format!("tasks/{ahead}")]);
    let pruned = repo.tasks(&["worktree", "prune"]).ok();
    assert!(
        pruned.stdout.contains("removed worktree"),
        "{}",
        pruned.stdout
    );
    assert!(!wt_ahead.exists());
    assert!(!branch_exists(&repo, &format!("tasks/{ahead}")));
    assert!(wt_dirty.is_dir());
    assert!(branch_exists(&repo, "tasks/GHOST-1"));
}

#[test]
fn claim_fields_on_an_open_task_are_an_orphan_claim() {
    let repo = Repo::new();
    repo.write(
        ".tasks/OC-1.md",
        "---\nid: OC-1\ntitle: Released by hand\nstatus: open\nclaimed_by: bob\n---\n",
    );
    let doc = repo.tasks(&["orphans", "--json"]).ok().json();
    assert_eq!(
        signals(&doc),
        vec![("OC-1".into(), "orphan_claim".into(), "warn".into())]
    );
    let sig = signal(&doc, "OC-1", "orphan_claim");
    assert_eq!(sig["evidence"]["keys"], serde_json::json!(["claimed_by"]));
    assert_eq!(doc["tasks"][0]["status"], "open");
    repo.tasks(&["orphans", "--fail-on", "warn"]).expect(7);
}

#[test]
fn start_is_undone_when_the_branch_already_exists() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Branch in the way"]);
    repo.git(&["branch", &format!("tasks/{id}")]);
    let before = repo.read_bytes(&format!(".tasks/{id}.md"));
    let events_before = events(&repo).len();

    let run = repo.tasks(&["start", &id, "--as", "alice"]).expect(1);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert!(run.stderr.contains("undone"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no path printed: {}", run.stdout);
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), before);
    assert!(!lease_path(&repo, &id).exists());
    assert_eq!(events(&repo).len(), events_before);
    assert!(!repo.root.join(".worktrees").join(&id).exists());
    assert_eq!(linked_worktrees(&repo), vec![]);
    assert!(
        branch_exists(&repo, &format!("tasks/{id}")),
        "the undo leaves a branch it did not make"
    );
    // Still ready for anyone.
    assert_eq!(
        repo.tasks(&["ready"]).ok().stdout.split('\t').next(),
        Some(id.as_str())
    );

    let json = repo
        .tasks(&["start", &id, "--as", "alice", "--json"])
        .expect(1)
        .json();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["error"]["code"], "worktree_failed");
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), before);
}

#[test]
fn inside_its_worktree_an_agent_acts_as_the_claim_holder_without_as() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Who am I"]);
    let wt = start(&repo, &id, "alice");
    // The harness clears the environment (no TASKS_AGENT, no USER) but sets git user.email to
    // tester@example.com in the repository config, which the worktree shares: without the
    // worktree rule the identity would be tester@example.com.
    let mut cmd = repo.command_in(&wt);
    assert!(
        cmd.get_envs()
            .all(|(k, _)| k != "TASKS_AGENT" && k != "USER"),
        "the harness must not name the agent"
    );
    let note = Run::from_output(
        cmd.args(["note", &id, "x marks the spot"])
            .output()
            .unwrap(),
    )
    .ok();
    assert!(note.stderr.contains("note added"), "{}", note.stderr);
    let text = repo.task_file(&id);
    let line = text
        .lines()
        .find(|l| l.contains("x marks the spot"))
        .unwrap_or_else(|| panic!("no note in\n{text}"));
    assert!(line.contains(" alice: x marks the spot"), "{line}");
    assert!(
        !std::fs::read_to_string(wt_file(&wt, &id))
            .unwrap()
            .contains("x marks"),
        "the note went to the root"
    );

    repo.tasks_in(&wt, &["heartbeat", &id]).ok();
    let lease: Value =
        serde_json::from_str(&std::fs::read_to_string(lease_path(&repo, &id)).unwrap()).unwrap();
    assert_eq!(lease["holder"], "alice");
    // From the main checkout the same command is somebody else.
    let outside = repo.tasks(&["heartbeat", &id]).expect(3);
    assert!(
        outside.stderr.contains("tester@example.com"),
        "{}",
        outside.stderr
    );
    // And inside the worktree the holder can finish without naming herself.
    repo.tasks_in(&wt, &["done", &id]).ok();
    let t = repo.show(&id);
    assert_eq!(t["status"], "done");
    assert_eq!(t["outcome_by"], "alice");
}

/// Four processes run `tasks start --next --json --as agent-N` at the same moment over four
/// ready tasks. Returns the ids of the tasks and each agent's run.
fn four_starts_at_once(repo: &Repo) -> (BTreeSet<String>, Vec<Run>) {
    let ids: BTreeSet<String> = (0..4)
        .map(|i| repo.new_task(&[&format!("parallel {i}")]))
        .collect();
    commit_tasks(repo, "four tasks");
    let children: Vec<_> = (0..4)
        .map(|n| {
            repo.command_in(&repo.root)
                .args(["start", "--next", "--json", "--as", &format!("agent-{n}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let runs = children
        .into_iter()
        .map(|c| Run::from_output(c.wait_with_output().unwrap()))
        .collect();
    (ids, runs)
}

/// Checks a successful `start --json` by `agent`; returns (task id, worktree path).
fn started_by(repo: &Repo, run: &Run, agent: &str) -> (String, PathBuf) {
    let doc = run.json();
    let id = doc["task"]["id"].as_str().unwrap().to_string();
    assert_eq!(doc["task"]["claimed_by"], agent);
    assert_eq!(repo.show(&id)["claimed_by"], agent);
    let path = PathBuf::from(doc["path"].as_str().unwrap());
    assert_eq!(path, repo.root.join(".worktrees").join(&id));
    assert!(wt_file(&path, &id).is_file());
    (id, path)
}

/// Every task started exactly once, each in its own worktree on its own branch.
fn assert_four_distinct(repo: &Repo, ids: &BTreeSet<String>, got: &[(String, PathBuf)]) {
    let got_ids: BTreeSet<String> = got.iter().map(|g| g.0.clone()).collect();
    let got_paths: BTreeSet<PathBuf> = got.iter().map(|g| g.1.clone()).collect();
    assert_eq!(got.len(), 4);
    assert_eq!(&got_ids, ids, "every task once");
    assert_eq!(got_paths.len(), 4);
    let listed = linked_worktrees(repo);
    assert_eq!(listed.len(), 4, "{listed:?}");
    let listed_paths: BTreeSet<PathBuf> = listed.iter().map(|w| w.0.clone()).collect();
    assert_eq!(listed_paths, got_paths);
    for (path, branch, _) in &listed {
        let id = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(branch.as_deref(), Some(format!("tasks/{id}").as_str()));
    }
    repo.tasks(&["start", "--next", "--as", "agent-9"])
        .expect(4);
}

/// What must hold even when git trips over concurrent `git worktree add`s (see the ignored
/// test below): no task is given twice, each success has its own worktree, and a start that
/// fails leaves its task open with no claim and no lease.
#[test]
fn four_agents_start_next_at_once_never_share_a_task_and_failures_are_undone() {
    let repo = Repo::new();
    let (ids, runs) = four_starts_at_once(&repo);
    let mut got = Vec::new();
    for (n, run) in runs.iter().enumerate() {
        let agent = format!("agent-{n}");
        match run.code {
            0 => got.push(started_by(&repo, run, &agent)),
            1 => {
                assert_eq!(
                    run.json()["error"]["code"],
                    "worktree_failed",
                    "{}",
                    run.stdout
                );
                assert!(run.stderr.contains("was undone"), "{}", run.stderr);
            }
            code => panic!("{agent}: exit {code}\n{}\n{}", run.stdout, run.stderr),
        }
    }
    assert!(!got.is_empty(), "somebody got a task");
    let got_ids: BTreeSet<&String> = got.iter().map(|g| &g.0).collect();
    let got_paths: BTreeSet<&PathBuf> = got.iter().map(|g| &g.1).collect();
    assert_eq!(got_ids.len(), got.len(), "a task was given twice: {got:?}");
    assert_eq!(got_paths.len(), got.len());
    let listed: BTreeSet<PathBuf> = linked_worktrees(&repo).into_iter().map(|w| w.0).collect();
    assert_eq!(listed.iter().collect::<BTreeSet<_>>(), got_paths);
    for id in ids.iter().filter(|id| !got_ids.contains(id)) {
        let t = repo.show(id);
        assert_eq!(t["status"], "open", "{t:#}");
        assert!(t.get("claimed_by").is_none(), "{t:#}");
        assert!(!lease_path(&repo, id).exists());
    }
}

#[test]
fn four_agents_start_next_at_once_all_succeed() {
    // The race is timing-dependent: several rounds make it show reliably.
    for _ in 0..25 {
        let repo = Repo::new();
        let (ids, runs) = four_starts_at_once(&repo);
        let got: Vec<(String, PathBuf)> = runs
            .into_iter()
            .enumerate()
            .map(|(n, run)| started_by(&repo, &run.ok(), &format!("agent-{n}")))
            .collect();
        assert_four_distinct(&repo, &ids, &got);
    }
}

#[test]
fn start_json_is_idempotent_for_the_holder_and_refused_to_others() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Start me"]);
    let doc = repo
        .tasks(&["start", &id, "--as", "alice", "--json"])
        .ok()
        .json();
    assert_eq!(
        object_keys(&doc),
        BTreeSet::from(["schema_version", "task", "path", "branch"])
    );
    assert_eq!(doc["schema_version"], 1);
    let wt = repo.root.join(".worktrees").join(&id);
    assert_eq!(doc["path"], wt.to_str().unwrap());
    assert_eq!(doc["branch"], format!("tasks/{id}"));
    let task = &doc["task"];
    assert_eq!(task["id"], id.as_str());
    assert_eq!(task["status"], "in_progress");
    assert_eq!(task["claimed_by"], "alice");
    assert_eq!(task["worktree"], format!(".worktrees/{id}"));
    assert_eq!(task["branch"], format!("tasks/{id}"));
    assert!(
        task["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!(".tasks/{id}.md"))
    );

    let bytes = repo.read_bytes(&format!(".tasks/{id}.md"));
    let events_before = events(&repo).len();
    let again = repo
        .tasks(&["start", &id, "--as", "alice", "--json"])
        .ok()
        .json();
    assert_eq!(again["path"], doc["path"]);
    assert_eq!(again["branch"], doc["branch"]);
    assert_eq!(
        repo.tasks(&["start", &id, "--as", "alice"]).ok().line(),
        wt.to_str().unwrap()
    );
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), bytes);
    assert_eq!(events(&repo).len(), events_before);
    assert_eq!(linked_worktrees(&repo).len(), 1);

    let refused = repo.tasks(&["start", &id, "--as", "bob"]).expect(3);
    assert!(refused.stderr.contains("alice"), "{}", refused.stderr);
    let refused = repo
        .tasks(&["start", &id, "--as", "bob", "--json"])
        .expect(3)
        .json();
    assert_eq!(refused["schema_version"], 1);
    assert!(refused["error"]["code"].is_string(), "{refused:#}");
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), bytes);
    assert_eq!(linked_worktrees(&repo).len(), 1);
}

#[test]
fn start_on_a_task_already_claimed_adds_the_worktree_without_a_second_claim() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Claimed first"]);
    repo.tasks(&["claim", &id, "--as", "alice"]).ok();
    let claimed_at = repo.show(&id)["claimed_at"].clone();
    let events_before = events(&repo).len();
    let run = repo.tasks(&["start", &id, "--as", "alice"]).ok();
    let wt = PathBuf::from(run.line());
    assert_eq!(wt, repo.root.join(".worktrees").join(&id));
    assert!(run.stderr.contains("worktree added"), "{}", run.stderr);
    let t = repo.show(&id);
    assert_eq!(t["worktree"], format!(".worktrees/{id}"));
    assert_eq!(t["branch"], format!("tasks/{id}"));
    assert_eq!(t["claimed_at"], claimed_at);
    assert_eq!(events(&repo).len(), events_before, "no new transition");
}

#[test]
fn lists_changed_on_both_sides_merge_as_sets() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Labelled", "--label", "shared"]);
    let wt = start(&repo, &id, "alice");
    repo.tasks(&["set", &id, "labels=shared,from-root"]).ok();
    edit(&wt_file(&wt, &id), |t| {
        set_key(t, "labels", "[from-worktree]")
    });
    commit_in(&repo, &wt, "relabel");
    // Drift shows what the root will get: the merged list, which is neither side's.
    let doc = repo.tasks(&["drift", "--json"]).ok().json();
    let sig = signal(&doc, &id, "metadata_drift");
    let labels = &sig["evidence"]["keys"][0];
    assert_eq!(labels["key"], "labels", "{sig:#}");
    assert_eq!(labels["resolution"], "merged");
    assert_eq!(
        labels["result"],
        serde_json::json!(["from-root", "from-worktree"])
    );
    let human = repo.tasks(&["drift"]).ok();
    assert!(
        human.stdout.contains("merged: [from-root, from-worktree]"),
        "{}",
        human.stdout
    );
    repo.tasks(&["reconcile"]).ok();
    // The worktree dropped `shared` and added its own; the root's addition stays.
    assert_eq!(
        repo.show(&id)["labels"],
        serde_json::json!(["from-root", "from-worktree"])
    );
    let bytes = repo.read_bytes(&format!(".tasks/{id}.md"));
    repo.tasks(&["reconcile"]).ok();
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), bytes);
}

/// A task changed in a worktree and deleted in the root, and its worktree's path.
fn deleted_in_root(repo: &Repo) -> (String, PathBuf) {
    let id = committed_task(repo, &["Deleted in the root"]);
    let wt = start(repo, &id, "alice");
    edit(&wt_file(&wt, &id), |t| set_key(t, "title", "Still wanted"));
    commit_in(repo, &wt, "retitle");
    repo.git(&["rm", "-qf", &format!(".tasks/{id}.md")]);
    repo.git(&["commit", "-qm", "drop the task"]);
    (id, wt)
}

#[test]
fn a_task_changed_in_a_worktree_but_deleted_in_the_root_is_a_conflict() {
    let repo = Repo::new();
    let (id, _wt) = deleted_in_root(&repo);
    let doc = repo.tasks(&["drift", "--json"]).ok().json();
    let sig = signal(&doc, &id, "metadata_drift");
    assert_eq!(sig["evidence"]["deleted_in_root"], true, "{sig:#}");
    let run = repo.tasks(&["reconcile"]).expect(3);
    assert!(run.stdout.contains("deleted in the root"), "{}", run.stdout);
    assert!(
        !repo.path(&format!(".tasks/{id}.md")).exists(),
        "never guessed back"
    );
}

#[test]
fn prefer_settles_a_deleted_in_root_conflict() {
    // The root's side: the deletion stands, and that settles it for good.
    let repo = Repo::new();
    let (id, _wt) = deleted_in_root(&repo);
    let rel = format!(".tasks/{id}.md");
    repo.tasks(&["reconcile", "--prefer", "root"]).ok();
    assert!(!repo.path(&rel).exists());
    repo.tasks(&["drift", "--fail-on", "warn"]).ok();
    let again = repo.tasks(&["reconcile", "--prefer", "worktree"]).ok();
    assert!(!repo.path(&rel).exists(), "settled: {}", again.stdout);

    // The worktree's side: its copy comes back to the root.
    let repo = Repo::new();
    let (id, wt) = deleted_in_root(&repo);
    let rel = format!(".tasks/{id}.md");
    repo.tasks(&["reconcile", "--prefer", "worktree"]).ok();
    assert_eq!(
        repo.read_bytes(&rel),
        std::fs::read(wt_file(&wt, &id)).unwrap()
    );
    repo.tasks(&["reconcile"]).ok();
    repo.tasks(&["drift", "--fail-on", "warn"]).ok();
}

#[test]
fn prune_clears_a_finished_task_whose_worktree_folder_is_gone() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Finished, folder deleted"]);
    let wt = start(&repo, &id, "alice");
    repo.tasks(&["done", &id, "--as", "alice"]).ok();
    std::fs::remove_dir_all(&wt).unwrap();
    let doc = repo.tasks(&["orphans", "--json"]).ok().json();
    assert_eq!(
        signals(&doc),
        vec![(id.clone(), "orphan_worktree".into(), "warn".into())]
    );
    // Nothing can be lost: no checkout to be dirty, and the branch is merged (it has no
    // commit of its own).
    let pruned = repo.tasks(&["worktree", "prune", "--json"]).ok().json();
    assert_eq!(pruned["kept"], serde_json::json!([]), "{pruned:#}");
    assert!(!branch_exists(&repo, &format!("tasks/{id}")));
    assert_eq!(linked_worktrees(&repo), vec![]);
}

#[test]
fn a_failed_start_leaves_no_branch_behind() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Folder in the way"]);
    let folder = repo.root.join(".worktrees").join(&id);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("leftover.txt"), "from an earlier run\n").unwrap();
    let before = repo.read_bytes(&format!(".tasks/{id}.md"));

    let run = repo.tasks(&["start", &id, "--as", "alice"]).expect(1);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), before);
    assert!(!lease_path(&repo, &id).exists());
    // "nothing changed" must include git: no branch made by the failed start is left.
    assert!(
        !branch_exists(&repo, &format!("tasks/{id}")),
        "{}",
        repo.git(&["branch"])
    );
    // Once the folder is out of the way the task can be started.
    std::fs::remove_dir_all(&folder).unwrap();
    let wt = start(&repo, &id, "alice");
    assert_eq!(wt, folder);
}

#[test]
fn start_next_passes_over_a_task_whose_old_branch_is_in_the_way_and_orphans_names_it() {
    let repo = Repo::new();
    let first = committed_task(&repo, &["First", "--priority", "0"]);
    let second = committed_task(&repo, &["Second", "--priority", "1"]);
    // Left from an earlier claim that was released: the task is open again.
    repo.git(&["branch", &format!("tasks/{first}")]);
    let run = repo.tasks(&["start", "--next", "--as", "alice"]).ok();
    assert_eq!(
        PathBuf::from(run.line()),
        repo.root.join(".worktrees").join(&second)
    );
    assert!(run.stderr.contains(&first), "{}", run.stderr);
    assert_eq!(repo.show(&first)["status"], "open");
    let doc = repo.tasks(&["orphans", "--json"]).ok().json();
    let sig = signal(&doc, &first, "orphan_worktree");
    assert!(
        sig["detail"].as_str().unwrap().contains("open again"),
        "{sig:#}"
    );
    // prune keeps it: the branch may hold work.
    let prune = repo.tasks(&["worktree", "prune"]).ok();
    assert!(prune.stdout.contains("is open"), "{}", prune.stdout);
    assert!(branch_exists(&repo, &format!("tasks/{first}")));
}

#[test]
fn a_worktree_copy_never_puts_an_unclaimed_root_task_under_a_claim() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Claimed only in a copy"]);
    let wt = start(&repo, &id, "alice");
    repo.tasks(&["unclaim", &id, "--as", "alice", "--reason", "later"])
        .ok();
    let rel = format!(".tasks/{id}.md");
    let before = repo.read_bytes(&rel);
    edit(&wt_file(&wt, &id), |t| set_key(t, "status", "in_progress"));
    commit_in(&repo, &wt, "claim in the copy");
    let doc = repo.tasks(&["drift", "--json"]).ok().json();
    let sig = signal(&doc, &id, "metadata_drift");
    assert_eq!(key_evidence(sig, "status")["resolution"], "conflict");
    for prefer in [&[][..], &["--prefer", "worktree"][..]] {
        let mut args = vec!["reconcile"];
        args.extend_from_slice(prefer);
        repo.tasks(&args).expect(3);
        assert_eq!(repo.read_bytes(&rel), before, "root untouched");
    }
}

#[test]
fn an_outcome_the_worktree_recorded_is_the_one_reported_and_logged() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Own outcome"]);
    let wt = start(&repo, &id, "alice");
    edit(&repo.root.join(format!(".tasks/{id}.md")), |t| {
        add_key(t, "pr_url", "https://github.com/o/r/pull/9")
    });
    edit(&wt_file(&wt, &id), |t| {
        add_key(&set_key(t, "status", "done"), "outcome", "completed")
    });
    commit_in(&repo, &wt, "done");
    let doc = repo.tasks(&["reconcile", "--json"]).ok().json();
    assert_eq!(doc["tasks"][0]["status"]["outcome"], "completed", "{doc:#}");
    let task = repo.show(&id);
    assert_eq!(task["outcome"], "completed");
    assert_eq!(task["outcome_by"], "alice");
    assert!(task["outcome_at"].is_string(), "{task:#}");
    let last = events(&repo).pop().unwrap();
    assert_eq!(
        (&last["to"], &last["outcome"]),
        (&"done".into(), &"completed".into())
    );
}

#[test]
fn a_worktrees_dir_outside_the_root_gets_no_gitignore() {
    let repo = Repo::new();
    repo.write(".tasks/config.yaml", "worktrees: { dir: ../outside-wt }\n");
    commit_tasks(&repo, "config");
    let id = committed_task(&repo, &["Outside"]);
    let wt = start(&repo, &id, "alice");
    let outside = repo.root.parent().unwrap().join("outside-wt");
    assert_eq!(wt, std::fs::canonicalize(outside.join(&id)).unwrap());
    assert!(
        !outside.join(".gitignore").exists(),
        "nothing written outside the repository"
    );
    assert_eq!(repo.show(&id)["worktree"], format!("../outside-wt/{id}"));
}

#[test]
fn reconcile_never_writes_over_a_root_copy_it_cannot_read() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Anchor"]);
    let wt = start(&repo, &id, "alice");
    // A task new in the worktree, and a root file of the same id that is not UTF-8.
    std::fs::write(
        wt.join(".tasks/N-1.md"),
        "---\nid: N-1\ntitle: From the worktree\n---\n",
    )
    .unwrap();
    let precious = b"---\nid: N-1\ntitle: caf\xe9 precious\n---\nkeep me\n".to_vec();
    std::fs::write(repo.root.join(".tasks/N-1.md"), &precious).unwrap();
    let run = repo.tasks(&["reconcile"]).ok();
    assert_eq!(repo.read_bytes(".tasks/N-1.md"), precious, "{}", run.stdout);
    // The same id unreadable at another path: no second file with that id appears.
    std::fs::remove_file(repo.root.join(".tasks/N-1.md")).unwrap();
    std::fs::create_dir_all(repo.root.join(".tasks/old")).unwrap();
    std::fs::write(repo.root.join(".tasks/old/N-1.md"), &precious).unwrap();
    repo.tasks(&["reconcile"]).ok();
    assert!(!repo.path(".tasks/N-1.md").exists());
}

#[test]
fn a_reopen_after_reconcile_stands() {
    let repo = Repo::new();
    let id = committed_task(&repo, &["Finished in a worktree"]);
    let wt = start(&repo, &id, "alice");
    edit(&wt_file(&wt, &id), |t| set_key(t, "status", "done"));
    commit_in(&repo, &wt, "done");
    repo.tasks(&["reconcile"]).ok();
    assert_eq!(repo.show(&id)["status"], "done");
    commit_tasks(&repo, "reconciled");
    repo.tasks(&["reopen", &id, "--reason", "tests fail"]).ok();
    // The worktree still says done, but that is what the root already took: no drift, and
    // reconcile does not close the task again.
    repo.tasks(&["drift"]).ok();
    repo.tasks(&["heartbeat"]).ok();
    let bytes = repo.read_bytes(&format!(".tasks/{id}.md"));
    repo.tasks(&["reconcile"]).ok();
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), bytes);
    assert_eq!(repo.show(&id)["status"], "open");
    // A new change in the worktree is still seen.
    edit(&wt_file(&wt, &id), |t| {
        add_key(t, "pr_url", "https://github.com/o/r/pull/5")
    });
    let doc = repo.tasks(&["drift", "--json"]).expect(7).json();
    assert_eq!(
        key_evidence(signal(&doc, &id, "completed_unreconciled"), "pr_url")["resolution"],
        "take_worktree"
    );
}

#[test]
fn a_copy_never_reopens_a_finished_task_and_review_is_not_skipped() {
    let repo = Repo::new();
    // A task finished in the root, set back to open in some worktree's copy.
    let done = committed_task(&repo, &["Done already"]);
    repo.tasks(&["claim", &done, "--as", "bob"]).ok();
    repo.tasks(&["done", &done, "--as", "bob"]).ok();
    // Committing the new task commits the finished one's file too.
    let other = committed_task(&repo, &["Other"]);
    let wt = start(&repo, &other, "alice");
    edit(&wt_file(&wt, &done), |t| set_key(t, "status", "open"));
    commit_in(&repo, &wt, "reopen in the copy");
    let before = repo.read_bytes(&format!(".tasks/{done}.md"));
    let run = repo.tasks(&["reconcile"]).expect(3);
    assert!(run.stdout.contains("conflict"), "{}", run.stdout);
    assert_eq!(repo.read_bytes(&format!(".tasks/{done}.md")), before);

    // With review required and done checks configured, a copy that says done goes to review,
    // and the skipped checks are on record for the sweep.
    let repo = Repo::new();
    repo.write(
        ".tasks/config.yaml",
        "review: required\ndone: { checks: [\"true\"] }\n",
    );
    commit_tasks(&repo, "config");
    let id = committed_task(&repo, &["Reviewed"]);
    let wt = start(&repo, &id, "alice");
    edit(&wt_file(&wt, &id), |t| set_key(t, "status", "done"));
    commit_in(&repo, &wt, "done");
    let doc = repo.tasks(&["reconcile", "--json"]).ok().json();
    assert_eq!(doc["tasks"][0]["status"]["to"], "in_review", "{doc:#}");
    assert_eq!(doc["tasks"][0]["status"]["outcome"], "needs_review");
    let task = repo.show(&id);
    assert_eq!(task["status"], "in_review");
    assert_eq!(task["verified"]["skipped"], true, "{task:#}");
}

#[test]
fn prune_drops_only_the_record_of_the_worktree_it_prunes() {
    let repo = Repo::new();
    let finished = committed_task(&repo, &["Finished"]);
    let working = committed_task(&repo, &["Still working"]);
    let wt_done = start(&repo, &finished, "alice");
    let wt_live = start(&repo, &working, "bob");
    repo.tasks(&["done", &finished, "--as", "alice"]).ok();
    std::fs::remove_dir_all(&wt_done).unwrap();
    // The live claim's folder is away for a moment (a remount, say).
    let away = repo.root.parent().unwrap().join("away");
    std::fs::rename(&wt_live, &away).unwrap();
    repo.tasks(&["worktree", "prune"]).ok();
    assert!(!branch_exists(&repo, &format!("tasks/{finished}")));
    std::fs::rename(&away, &wt_live).unwrap();
    // git still knows the live worktree: its record was not pruned with the other one.
    let listed = repo.git(&["worktree", "list", "--porcelain"]);
    assert!(
        listed.contains(&format!("branch refs/heads/tasks/{working}")),
        "{listed}"
    );
}
