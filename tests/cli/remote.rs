//! Clones sharing `.tasks/` through a bare repository: `tasks sync` and `--remote` claims.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{Repo, Run};

/// A bare repository holding `main` with `.tasks/`, and clones of it beside `repo.root`.
struct Shared {
    repo: Repo,
    bare: PathBuf,
}

impl Shared {
    /// `repo.root` is pushed to a new bare repository and becomes its first clone.
    fn new(tasks: usize) -> (Shared, Vec<String>) {
        let repo = Repo::new();
        let ids: Vec<String> = (0..tasks)
            .map(|i| repo.new_task(&[&format!("task {i}")]))
            .collect();
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-qm", "tasks"]);
        let bare = repo.root.parent().unwrap().join("shared.git");
        repo.git(&["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()]);
        repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
        repo.git(&["push", "-q", "-u", "origin", "main"]);
        (Shared { repo, bare }, ids)
    }

    fn clone(&self, name: &str) -> PathBuf {
        let dir = self.repo.root.parent().unwrap().join(name);
        self.repo.git(&[
            "clone",
            "-q",
            self.bare.to_str().unwrap(),
            dir.to_str().unwrap(),
        ]);
        self.repo.git_in(
            &dir,
            &["config", "user.email", &format!("{name}@example.com")],
        );
        self.repo.git_in(&dir, &["config", "user.name", name]);
        dir
    }

    fn tasks(&self, dir: &Path, args: &[&str]) -> Run {
        self.repo.tasks_in(dir, args)
    }

    /// Runs `tasks` in `dir` with the clock pinned at `now`.
    fn tasks_at(&self, dir: &Path, now: &str, args: &[&str]) -> Run {
        let mut cmd = self.repo.command_in(dir);
        Run::from_output(cmd.env("TASKS_NOW", now).args(args).output().unwrap())
    }

    /// The subjects of the commits on the remote's `main`, newest first.
    fn remote_log(&self) -> Vec<String> {
        self.repo
            .git_in(&self.bare, &["log", "--format=%s", "main"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The task files on the remote's `main`, by id.
    fn remote_tasks(&self) -> BTreeMap<String, String> {
        let check = self.repo.root.parent().unwrap().join("check");
        if check.exists() {
            self.repo.git_in(&check, &["pull", "-q", "--ff-only"]);
        } else {
            self.clone("check");
        }
        let mut out = BTreeMap::new();
        for e in std::fs::read_dir(check.join(".tasks")).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".md").filter(|n| *n != "README") {
                out.insert(id.to_string(), std::fs::read_to_string(e.path()).unwrap());
            }
        }
        out
    }
}

fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .map(|v| v.trim().to_string())
}

#[test]
fn eight_claimers_on_three_clones_claim_each_task_exactly_once() {
    let (shared, ids) = Shared::new(50);
    let clones = [
        shared.repo.root.clone(),
        shared.clone("two"),
        shared.clone("three"),
    ];
    let claimed: Vec<(String, Vec<String>, Vec<i32>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|n| {
                let dir = clones[n % 3].clone();
                let shared = &shared;
                s.spawn(move || {
                    let agent = format!("agent-{n}");
                    let mut got = Vec::new();
                    let mut codes = Vec::new();
                    loop {
                        let mut cmd = shared.repo.command_in(&dir);
                        let run = Run::from_output(
                            cmd.args(["claim", "--remote", "--next", "--as", &agent])
                                .output()
                                .unwrap(),
                        );
                        codes.push(run.code);
                        match run.code {
                            0 => got.push(run.line()),
                            4 => break,
                            _ => panic!("{agent}: exit {}: {}", run.code, run.stderr),
                        }
                    }
                    (agent, got, codes)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut by_task: BTreeMap<String, String> = BTreeMap::new();
    for (agent, got, codes) in &claimed {
        assert!(
            codes.iter().all(|c| *c == 0 || *c == 4),
            "{agent}: {codes:?}"
        );
        assert_eq!(codes.last(), Some(&4), "{agent} ends with nothing ready");
        for id in got {
            if let Some(other) = by_task.insert(id.clone(), agent.clone()) {
                panic!("{id} claimed by both {other} and {agent}");
            }
        }
    }
    let mut all = ids.clone();
    all.sort();
    assert_eq!(by_task.keys().cloned().collect::<Vec<_>>(), all);

    let remote = shared.remote_tasks();
    assert_eq!(remote.len(), 50);
    for (id, text) in &remote {
        assert_eq!(
            field(text, "status").as_deref(),
            Some("in_progress"),
            "{id}"
        );
        assert_eq!(
            field(text, "claimed_by"),
            by_task.get(id).cloned(),
            "{id}: the remote names the claimer that printed it"
        );
    }
}

#[test]
fn claim_remote_of_a_task_taken_on_another_clone_exits_3() {
    let (shared, ids) = Shared::new(1);
    let other = shared.clone("other");
    shared
        .tasks(&other, &["claim", "--remote", &ids[0], "--as", "bob"])
        .ok();
    let run = shared
        .repo
        .tasks(&["claim", "--remote", &ids[0], "--as", "alice"])
        .expect(3);
    assert!(run.stderr.contains("bob"), "{}", run.stderr);
    // The claimer's own clone shows its claim without a sync; the lease is kept there.
    assert!(
        std::fs::read_to_string(other.join(format!(".tasks/{}.md", ids[0])))
            .unwrap()
            .contains("claimed_by: bob")
    );
    assert!(
        other
            .join(format!(".git/tasks/leases/{}.json", ids[0]))
            .exists()
    );
}

#[test]
fn two_clones_edit_different_tasks_and_sync_both_ways() {
    let (shared, ids) = Shared::new(2);
    let a = shared.repo.root.clone();
    let b = shared.clone("b");
    shared.tasks(&a, &["set", &ids[0], "priority=0"]).ok();
    shared.tasks(&b, &["set", &ids[1], "priority=4"]).ok();
    shared.tasks(&a, &["sync"]).ok();
    shared.tasks(&b, &["sync"]).ok();
    shared.tasks(&a, &["sync"]).ok();
    for dir in [&a, &b] {
        let t0 = std::fs::read_to_string(dir.join(format!(".tasks/{}.md", ids[0]))).unwrap();
        let t1 = std::fs::read_to_string(dir.join(format!(".tasks/{}.md", ids[1]))).unwrap();
        assert_eq!(field(&t0, "priority").as_deref(), Some("0"), "{dir:?}");
        assert_eq!(field(&t1, "priority").as_deref(), Some("4"), "{dir:?}");
    }
    let remote = shared.remote_tasks();
    assert_eq!(field(&remote[&ids[0]], "priority").as_deref(), Some("0"));
    assert_eq!(field(&remote[&ids[1]], "priority").as_deref(), Some("4"));
    // Nothing left to do: both clones are clean and in sync.
    for dir in [&a, &b] {
        assert_eq!(shared.repo.git_in(dir, &["status", "--porcelain"]), "");
    }
    shared.tasks(&b, &["sync"]).ok();
}

#[test]
fn conflicting_edits_of_one_key_are_reported_not_guessed() {
    let (shared, ids) = Shared::new(1);
    let a = shared.repo.root.clone();
    let b = shared.clone("b");
    let path = format!(".tasks/{}.md", ids[0]);
    shared.tasks(&a, &["set", &ids[0], "priority=0"]).ok();
    shared.tasks(&a, &["sync"]).ok();
    shared.tasks(&b, &["set", &ids[0], "priority=4"]).ok();
    let before = std::fs::read_to_string(b.join(&path)).unwrap();
    let run = shared.tasks(&b, &["sync", "--json"]).expect(3);
    let doc = run.json();
    assert_eq!(doc["conflicts"][0]["id"], ids[0].as_str());
    assert!(
        doc["conflicts"][0]["conflicts"][0]
            .as_str()
            .unwrap()
            .starts_with("priority:"),
        "{doc}"
    );
    // Nothing guessed: the local copy keeps its value and the remote keeps its own.
    assert_eq!(std::fs::read_to_string(b.join(&path)).unwrap(), before);
    assert_eq!(
        field(&shared.remote_tasks()[&ids[0]], "priority").as_deref(),
        Some("0")
    );
    // Settled explicitly, it goes through.
    shared.tasks(&b, &["sync", "--prefer", "remote"]).ok();
    assert_eq!(
        field(&std::fs::read_to_string(b.join(&path)).unwrap(), "priority").as_deref(),
        Some("0")
    );
}

#[test]
fn sync_leaves_unrelated_staged_and_unstaged_changes_alone() {
    let (shared, ids) = Shared::new(2);
    let a = shared.repo.root.clone();
    let b = shared.clone("b");
    shared.tasks(&b, &["set", &ids[1], "priority=1"]).ok();
    shared.tasks(&b, &["sync"]).ok();

    std::fs::write(a.join("README"), "staged edit\n").unwrap();
    std::fs::write(a.join("NEW"), "new staged file\n").unwrap();
    shared.repo.git_in(&a, &["add", "README", "NEW"]);
    std::fs::write(a.join("README"), "staged edit\nthen an unstaged line\n").unwrap();
    std::fs::write(a.join("UNTRACKED"), "untracked\n").unwrap();
    shared.tasks(&a, &["set", &ids[0], "priority=0"]).ok();
    let staged = shared
        .repo
        .git_in(&a, &["diff", "--cached", "--", ".", ":!.tasks"]);
    let unstaged = shared.repo.git_in(&a, &["diff", "--", ".", ":!.tasks"]);

    shared.tasks(&a, &["sync"]).ok();

    assert_eq!(
        shared
            .repo
            .git_in(&a, &["diff", "--cached", "--", ".", ":!.tasks"]),
        staged
    );
    assert_eq!(
        shared.repo.git_in(&a, &["diff", "--", ".", ":!.tasks"]),
        unstaged
    );
    assert_eq!(
        std::fs::read_to_string(a.join("README")).unwrap(),
        "staged edit\nthen an unstaged line\n"
    );
    assert_eq!(
        std::fs::read_to_string(a.join("UNTRACKED")).unwrap(),
        "untracked\n"
    );
    let status = shared.repo.git_in(&a, &["status", "--porcelain"]);
    assert_eq!(status, "A  NEW\nMM README\n?? UNTRACKED\n");
    // The task change went out, the remote's came in, and the commits hold only task files.
    let t1 = std::fs::read_to_string(a.join(format!(".tasks/{}.md", ids[1]))).unwrap();
    assert_eq!(field(&t1, "priority").as_deref(), Some("1"));
    assert_eq!(
        field(&shared.remote_tasks()[&ids[0]], "priority").as_deref(),
        Some("0")
    );
    let touched = shared
        .repo
        .git_in(&a, &["diff", "--name-only", "HEAD~2", "HEAD"]);
    assert!(
        touched.lines().all(|l| l.starts_with(".tasks/")),
        "{touched}"
    );
}

#[test]
fn sync_with_an_unreachable_remote_fails_and_keeps_the_change_committed() {
    let (shared, ids) = Shared::new(1);
    shared
        .repo
        .git(&["remote", "set-url", "origin", "/nonexistent/remote.git"]);
    shared.repo.tasks(&["set", &ids[0], "priority=0"]).ok();
    let run = shared.repo.tasks(&["sync"]).expect(1);
    assert!(run.stderr.contains("cannot fetch"), "{}", run.stderr);
    assert_eq!(shared.repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn done_remote_finishes_the_claim_on_the_remote() {
    let (shared, ids) = Shared::new(1);
    let b = shared.clone("b");
    shared
        .tasks(&b, &["claim", "--remote", &ids[0], "--as", "bob"])
        .ok();
    shared
        .tasks(&b, &["done", "--remote", &ids[0], "--as", "bob"])
        .ok();
    let remote = shared.remote_tasks();
    assert_eq!(field(&remote[&ids[0]], "status").as_deref(), Some("done"));
    assert_eq!(field(&remote[&ids[0]], "claimed_by"), None);
}

#[test]
fn start_remote_claims_on_the_remote_once_and_makes_the_worktree_here() {
    let (shared, ids) = Shared::new(1);
    let id = &ids[0];
    let a = shared.repo.root.clone();
    let b = shared.clone("b");
    let claims = |shared: &Shared| {
        shared
            .remote_log()
            .iter()
            .filter(|s| s.contains(id.as_str()))
            .count()
    };

    let doc = shared
        .tasks(&a, &["start", "--remote", id, "--as", "alice", "--json"])
        .ok()
        .json();
    let worktree = a.join(".worktrees").join(id);
    assert!(worktree.is_dir());
    assert_eq!(doc["path"], worktree.to_str().unwrap());
    assert_eq!(doc["branch"], format!("tasks/{id}"));
    assert_eq!(doc["task"]["claimed_by"], "alice");
    assert_eq!(doc["task"]["worktree"], format!(".worktrees/{id}"));
    shared.repo.git_in(
        &a,
        &[
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/tasks/{id}"),
        ],
    );
    assert_eq!(claims(&shared), 1, "{:?}", shared.remote_log());
    let remote = shared.remote_tasks();
    assert_eq!(field(&remote[id], "status").as_deref(), Some("in_progress"));
    assert_eq!(field(&remote[id], "claimed_by").as_deref(), Some("alice"));

    // The holder starting again renews; the remote gets no second claim.
    shared
        .tasks(&a, &["start", "--remote", id, "--as", "alice"])
        .ok();
    assert_eq!(claims(&shared), 1, "{:?}", shared.remote_log());

    // Another clone cannot start it: exit 3 naming the holder, and nothing made there.
    let run = shared
        .tasks(&b, &["start", "--remote", id, "--as", "bob"])
        .expect(3);
    assert!(run.stderr.contains("alice"), "{}", run.stderr);
    assert!(!b.join(".worktrees").join(id).exists());
    assert_eq!(shared.repo.git_in(&b, &["branch", "--list", "tasks/*"]), "");
    assert_eq!(claims(&shared), 1, "{:?}", shared.remote_log());
    assert_eq!(
        field(&shared.remote_tasks()[id], "claimed_by").as_deref(),
        Some("alice")
    );
}

/// The `stale_claim` signals of each task in a `heartbeat --json` document, by id.
fn stale_claims(doc: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|row| {
            let signal = row["signals"]
                .as_array()?
                .iter()
                .find(|s| s["kind"] == "stale_claim")?;
            Some((row["id"].as_str()?.to_string(), signal.clone()))
        })
        .collect()
}

#[test]
fn stale_claim_sees_a_claim_branch_pushed_from_another_clone() {
    let (shared, ids) = Shared::new(2);
    let (fresh, old) = (&ids[0], &ids[1]);
    let a = shared.repo.root.clone();
    let b = shared.clone("b");
    let claimed = "2026-11-20T10:00:00Z";
    for id in &ids {
        shared
            .tasks_at(&a, claimed, &["claim", "--remote", id, "--as", "alice"])
            .ok();
    }
    // Clone A works on both branches and pushes them: one commit recent, one old.
    let mut commits = BTreeMap::new();
    for (id, when) in [
        (fresh, "2026-11-20T12:00:00Z"),
        (old, "2026-11-20T10:10:00Z"),
    ] {
        let branch = format!("tasks/{id}");
        shared.repo.git_in(&a, &["checkout", "-q", "-b", &branch]);
        std::fs::write(a.join(format!("work-{id}")), "work\n").unwrap();
        shared.repo.git_in(&a, &["add", &format!("work-{id}")]);
        let dates = [("GIT_AUTHOR_DATE", when), ("GIT_COMMITTER_DATE", when)];
        shared
            .repo
            .git_env_in(&a, &["commit", "-qm", "work"], &dates);
        commits.insert(id.clone(), shared.repo.git_in(&a, &["rev-parse", "HEAD"]));
        shared.repo.git_in(&a, &["push", "-q", "origin", &branch]);
        shared.repo.git_in(&a, &["checkout", "-q", "main"]);
    }

    // Clone B has the claims (from the shared branch) but no lease and no branch of its own.
    let now = "2026-11-20T12:30:00Z";
    shared.tasks_at(&b, now, &["sync"]).ok();
    assert!(!b.join(format!(".git/tasks/leases/{fresh}.json")).exists());
    let before = stale_claims(
        &shared
            .tasks_at(&b, now, &["heartbeat", "--json"])
            .ok()
            .json(),
    );
    assert!(
        before.contains_key(fresh) && before.contains_key(old),
        "before the fetch B sees no work on either branch: {before:?}"
    );

    // After a fetch, the branch A pushed an hour and a half after the lease ran out keeps
    // its claim alive; the branch with only an old commit does not.
    shared.repo.git_in(&b, &["fetch", "-q", "origin"]);
    let doc = shared
        .tasks_at(&b, now, &["heartbeat", "--json"])
        .ok()
        .json();
    let stale = stale_claims(&doc);
    assert!(!stale.contains_key(fresh), "{doc}");
    let signal = &stale[old];
    assert_eq!(signal["severity"], "warn");
    let evidence = &signal["evidence"];
    assert_eq!(evidence["holder"], "alice");
    assert_eq!(evidence["branch"], format!("tasks/{old}"));
    assert_eq!(evidence["commit"], commits[old].trim());
    assert_eq!(evidence["expired_at"], "2026-11-20T11:10:00Z");
    assert_eq!(evidence["last_sign"], "2026-11-20T10:10:00Z");
    let row = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == fresh.as_str())
        .unwrap();
    assert_eq!(row["holder"], "alice");
    assert_eq!(row["status"], "in_progress");

    // Once the lease has run out past the fresh commit too, it is stale as well.
    let later = shared
        .tasks_at(&b, "2026-11-20T13:30:00Z", &["heartbeat", "--json"])
        .ok()
        .json();
    let stale = stale_claims(&later);
    assert_eq!(
        stale[fresh]["evidence"]["expired_at"],
        "2026-11-20T13:00:00Z"
    );
    assert_eq!(stale[fresh]["evidence"]["commit"], commits[fresh].trim());
}

#[test]
fn sync_prefer_local_settles_a_conflict_this_clones_way() {
    let (shared, ids) = Shared::new(1);
    let id = &ids[0];
    let a = shared.repo.root.clone();
    let b = shared.clone("b");
    let path = format!(".tasks/{id}.md");
    shared.tasks(&a, &["set", id, "priority=0"]).ok();
    shared.tasks(&a, &["sync"]).ok();
    shared.tasks(&b, &["set", id, "priority=4"]).ok();
    shared.tasks(&b, &["sync"]).expect(3);

    shared.tasks(&b, &["sync", "--prefer", "local"]).ok();
    let here = std::fs::read_to_string(b.join(&path)).unwrap();
    assert_eq!(field(&here, "priority").as_deref(), Some("4"));
    assert_eq!(
        field(&shared.remote_tasks()[id], "priority").as_deref(),
        Some("4")
    );
    assert_eq!(shared.repo.git_in(&b, &["status", "--porcelain"]), "");
    // The other clone takes the settled value on its next sync.
    shared.tasks(&a, &["sync"]).ok();
    let there = std::fs::read_to_string(a.join(&path)).unwrap();
    assert_eq!(field(&there, "priority").as_deref(), Some("4"));
}

#[test]
fn sync_json_prints_one_document() {
    let (shared, ids) = Shared::new(2);
    let a = shared.repo.root.clone();
    let b = shared.clone("b");
    shared.tasks(&b, &["set", &ids[1], "priority=4"]).ok();
    shared.tasks(&b, &["sync"]).ok();
    shared.tasks(&a, &["set", &ids[0], "priority=0"]).ok();

    let run = shared.tasks(&a, &["sync", "--json"]).ok();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let doc = run.json();
    assert_eq!(
        doc,
        serde_json::json!({
            "schema_version": 1,
            "remote": "origin/main",
            "committed": true,
            "pushed": true,
            "taken": [ids[1]],
            "conflicts": [],
        })
    );
    assert_eq!(
        doc.as_object().unwrap().keys().next().map(String::as_str),
        Some("schema_version")
    );

    // Nothing to do: the same shape, all quiet.
    let run = shared.tasks(&a, &["sync", "--json"]).ok();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert_eq!(
        run.json(),
        serde_json::json!({
            "schema_version": 1,
            "remote": "origin/main",
            "committed": false,
            "pushed": false,
            "taken": [],
            "conflicts": [],
        })
    );

    // A conflict: one document listing it, and no error document after it.
    shared.tasks(&b, &["set", &ids[0], "priority=3"]).ok();
    let run = shared.tasks(&b, &["sync", "--json"]).expect(3);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let doc = run.json();
    assert_eq!(doc["committed"], true);
    assert_eq!(doc["pushed"], false);
    assert_eq!(doc["taken"], serde_json::json!([]));
    assert_eq!(doc["conflicts"][0]["id"], ids[0].as_str());
    assert_eq!(doc["conflicts"][0]["path"], format!(".tasks/{}.md", ids[0]));
    assert!(doc.get("error").is_none(), "{doc}");
}

#[test]
fn sync_stops_before_pushing_when_a_change_of_yours_is_in_the_way() {
    let (shared, ids) = Shared::new(1);
    let a = shared.repo.root.clone();
    let b = shared.clone("b");
    std::fs::write(b.join("README"), "edited on b\n").unwrap();
    shared.repo.git_in(&b, &["commit", "-qam", "readme"]);
    shared.repo.git_in(&b, &["push", "-q", "origin", "main"]);
    let before = shared.remote_log();

    std::fs::write(a.join("README"), "unstaged edit on a\n").unwrap();
    shared.tasks(&a, &["set", &ids[0], "priority=0"]).ok();
    let run = shared.tasks(&a, &["sync"]).expect(3);
    assert!(run.stderr.contains("README"), "{}", run.stderr);
    assert_eq!(shared.remote_log(), before, "nothing was pushed");
    assert_eq!(
        std::fs::read_to_string(a.join("README")).unwrap(),
        "unstaged edit on a\n"
    );
    // The task change is committed here and goes out once the way is clear.
    assert_eq!(
        shared.repo.git_in(&a, &["status", "--porcelain"]),
        " M README\n"
    );
    shared.repo.git_in(&a, &["checkout", "--", "README"]);
    shared.tasks(&a, &["sync"]).ok();
    assert_eq!(
        field(&shared.remote_tasks()[&ids[0]], "priority").as_deref(),
        Some("0")
    );
    assert_eq!(
        std::fs::read_to_string(a.join("README")).unwrap(),
        "edited on b\n"
    );
}

#[test]
fn sync_on_another_branch_than_the_shared_one_pushes_nothing_of_it() {
    let (shared, ids) = Shared::new(1);
    let a = shared.repo.root.clone();
    shared
        .repo
        .write(".tasks/config.yaml", "remote: { branch: main }\n");
    shared.repo.git(&["commit", "-qam", "config"]);
    shared.repo.git(&["push", "-q", "origin", "main"]);
    shared.repo.git(&["checkout", "-q", "-b", "feature"]);
    std::fs::write(a.join("CODE"), "work in progress\n").unwrap();
    shared.repo.git(&["add", "CODE"]);
    shared.repo.git(&["commit", "-qm", "wip"]);
    let before = shared.remote_log();
    let head = shared.repo.git(&["rev-parse", "HEAD"]);
    shared.tasks(&a, &["set", &ids[0], "priority=0"]).ok();

    let run = shared.tasks(&a, &["sync", "--json"]).expect(1);
    assert_eq!(run.json()["error"]["code"], "not_the_shared_branch");
    assert!(
        run.stderr.contains("feature") && run.stderr.contains("main"),
        "{}",
        run.stderr
    );
    // Nothing moved: not the remote, not the branch, not the task change.
    assert_eq!(shared.remote_log(), before);
    assert_eq!(shared.repo.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(
        shared.repo.git(&["status", "--porcelain"]),
        format!(" M .tasks/{}.md\n", ids[0])
    );
}
