//! A corpus of broken task files (DESIGN §3: "A file that cannot be parsed is never
//! rewritten; it is reported with its path, line and reason, and every other task keeps
//! working") and a broken config (§2: unknown keys are an error that names the key).
//!
//! Every case lives in a repository beside two good tasks, G-1 (priority 3) and G-2
//! (priority 4). Broken files that carry a priority say 0, so a reader that mistook one for a
//! task would put it first in `ready` and `claim --next`.

use crate::common::{Repo, Run};

/// One broken file: where it is, its bytes, and the line and reason it must be reported with.
struct Bad {
    rel: &'static str,
    bytes: &'static [u8],
    line: usize,
    reason: &'static str,
}

/// What the user would type to reach the broken task (its id, or its file name without one).
struct Case {
    files: Vec<Bad>,
    query: &'static str,
}

fn invalid_yaml() -> Case {
    Case {
        files: vec![Bad {
            rel: ".tasks/Y-1.md",
            bytes: b"---\nid: Y-1\npriority: 0\ntitle: a: b\nstatus: open\n---\nBody.\n",
            line: 4,
            reason: "invalid YAML",
        }],
        query: "Y-1",
    }
}

fn missing_id() -> Case {
    Case {
        files: vec![Bad {
            rel: ".tasks/M-1.md",
            bytes: b"---\ntitle: no id here\npriority: 0\nstatus: open\n---\nBody.\n",
            line: 1,
            reason: "missing required key `id`",
        }],
        query: "M-1",
    }
}

fn unclosed_frontmatter() -> Case {
    Case {
        files: vec![Bad {
            rel: ".tasks/U-1.md",
            bytes: b"---\nid: U-1\ntitle: never closed\npriority: 0\nstatus: open\n\nBody.\n",
            line: 1,
            reason: "never closed",
        }],
        query: "U-1",
    }
}

fn non_utf8() -> Case {
    Case {
        files: vec![Bad {
            rel: ".tasks/N-1.md",
            bytes: b"---\nid: N-1\npriority: 0\ntitle: caf\xe9 \xff\xfe\nstatus: open\n---\n",
            line: 4,
            reason: "not valid UTF-8",
        }],
        query: "N-1",
    }
}

fn empty_file() -> Case {
    Case {
        files: vec![Bad {
            rel: ".tasks/E-1.md",
            bytes: b"",
            line: 1,
            reason: "empty",
        }],
        query: "E-1",
    }
}

fn no_frontmatter() -> Case {
    Case {
        files: vec![Bad {
            rel: ".tasks/P-1.md",
            bytes: b"# P-1: just markdown\n\nid: P-1\nstatus: open\n",
            line: 1,
            reason: "no frontmatter",
        }],
        query: "P-1",
    }
}

fn invalid_status() -> Case {
    Case {
        files: vec![Bad {
            rel: ".tasks/S-1.md",
            bytes: b"---\nid: S-1\ntitle: bad status\npriority: 0\nstatus: wip\n---\n",
            line: 5,
            reason: "unknown status `wip`",
        }],
        query: "S-1",
    }
}

fn duplicate_ids() -> Case {
    Case {
        files: vec![
            Bad {
                rel: ".tasks/D-1.md",
                bytes: b"---\nid: D-1\ntitle: first copy\npriority: 0\nstatus: open\n---\n",
                line: 2,
                reason: "duplicate id `D-1` (also in .tasks/sub/copy.md)",
            },
            Bad {
                rel: ".tasks/sub/copy.md",
                bytes: b"---\ntitle: second copy\npriority: 0\nid: D-1\nstatus: open\n---\n",
                line: 4,
                reason: "duplicate id `D-1` (also in .tasks/D-1.md)",
            },
        ],
        query: "D-1",
    }
}

fn corpus() -> Vec<Case> {
    vec![
        invalid_yaml(),
        missing_id(),
        unclosed_frontmatter(),
        non_utf8(),
        empty_file(),
        no_frontmatter(),
        invalid_status(),
        duplicate_ids(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A repository with G-1 and G-2 and the given broken files, all committed.
fn repo_with(files: &[&Bad]) -> Repo {
    let repo = Repo::new();
    repo.tasks(&["new", "Good one", "--id", "G-1", "-p", "3"])
        .ok();
    repo.tasks(&["new", "Good two", "--id", "G-2", "-p", "4"])
        .ok();
    for bad in files {
        repo.write(bad.rel, bad.bytes);
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "tasks, some broken"]);
    repo
}

/// The ids in the first column of piped `list`/`ready` output.
fn ids(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

fn json_ids(run: &Run) -> Vec<String> {
    run.json()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// The line number a `warning: PATH:LINE: reason` on stderr gives for `rel`, with its reason.
fn warned_line(stderr: &str, rel: &str) -> Option<(usize, String)> {
    let prefix = format!("warning: {rel}:");
    stderr.lines().find_map(|l| {
        let rest = l.strip_prefix(&prefix)?;
        let (n, reason) = rest.split_once(": ")?;
        Some((n.parse().ok()?, reason.to_string()))
    })
}

/// Each broken file is warned about exactly once, on the right line, with its reason; nothing
/// else is.
#[track_caller]
fn assert_warnings(stderr: &str, files: &[&Bad]) {
    for bad in files {
        let (line, reason) = warned_line(stderr, bad.rel)
            .unwrap_or_else(|| panic!("no `{}:LINE:` warning on stderr:\n{stderr}", bad.rel));
        assert_eq!(line, bad.line, "wrong line for {}:\n{stderr}", bad.rel);
        assert!(
            reason.contains(bad.reason),
            "reason for {} should say `{}`:\n{stderr}",
            bad.rel,
            bad.reason
        );
    }
    let warnings = stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .count();
    assert_eq!(
        warnings,
        files.len(),
        "one warning per broken file:\n{stderr}"
    );
}

/// The warnings name their files in path order, a stable order whatever the scan did.
#[track_caller]
fn assert_in_path_order(stderr: &str) {
    let warned: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("warning: "))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    let mut sorted = warned.clone();
    sorted.sort_unstable();
    assert_eq!(warned, sorted, "warnings in a stable (path) order");
}

#[track_caller]
fn assert_unchanged(repo: &Repo, files: &[&Bad]) {
    for bad in files {
        assert_eq!(
            repo.read_bytes(bad.rel),
            bad.bytes,
            "{} was rewritten",
            bad.rel
        );
    }
}

/// A failing `show`/`claim` of the broken task names its file (and line, where the file is
/// named after the id it was reached by).
#[track_caller]
fn assert_names_files(run: &Run, files: &[&Bad], what: &str) {
    assert_eq!(
        run.code, 1,
        "{what}: exit code\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    for bad in files {
        assert!(
            run.stderr.contains(bad.rel),
            "{what}: stderr does not name {}:\n{}",
            bad.rel,
            run.stderr
        );
    }
    let first = files[0];
    assert!(
        run.stderr
            .contains(&format!("{}:{}", first.rel, first.line)),
        "{what}: stderr does not give {}:{}:\n{}",
        first.rel,
        first.line,
        run.stderr
    );
}

/// The whole contract for one case.
fn check(case: &Case) {
    let files: Vec<&Bad> = case.files.iter().collect();
    let repo = repo_with(&files);

    // list: exit 0, the good tasks, a warning per broken file.
    let run = repo.tasks(&["list"]).ok();
    assert_eq!(ids(&run), ["G-1", "G-2"], "{}", run.stdout);
    assert_warnings(&run.stderr, &files);
    let run = repo.tasks(&["list", "--all", "--json"]).ok();
    assert_eq!(json_ids(&run), ["G-1", "G-2"]);
    assert_warnings(&run.stderr, &files);

    // ready: the same, never the broken one.
    let run = repo.tasks(&["ready", "--as", "carol"]).ok();
    assert_eq!(ids(&run), ["G-1", "G-2"], "{}", run.stdout);
    assert_warnings(&run.stderr, &files);

    // show and claim of the broken task fail with exit 1, naming the file.
    assert_names_files(&repo.tasks(&["show", case.query]), &files, "show");
    assert_names_files(
        &repo.tasks(&["claim", case.query, "--as", "bob"]),
        &files,
        "claim",
    );
    let run = repo.tasks(&["claim", case.query, "--as", "bob", "--json"]);
    assert_names_files(&run, &files, "claim --json");
    let err = &run.json()["error"];
    let said = format!("{} {}", err["message"], err["hints"]);
    assert!(
        said.contains(files[0].rel),
        "the JSON error names the file: {}",
        run.stdout
    );

    // claim --next takes the first good task; a transition on it works.
    let run = repo.tasks(&["claim", "--next", "--as", "carol"]).ok();
    assert_eq!(run.line(), "G-1");
    repo.tasks(&["note", "G-1", "working", "--as", "carol"])
        .ok();
    repo.tasks(&["done", "G-1", "--as", "carol"]).ok();
    assert_eq!(repo.show("G-1")["status"], "done");
    let run = repo.tasks(&["claim", "--next", "--as", "dan"]).ok();
    assert_eq!(run.line(), "G-2");
    // Nothing else is ready: the broken task is never handed out.
    repo.tasks(&["claim", "--next", "--as", "erin"]).expect(4);

    // Not a byte of any broken file changed, and nothing but the good tasks did.
    assert_unchanged(&repo, &files);
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    let mut changed: Vec<&str> = status.lines().collect();
    changed.sort_unstable();
    assert_eq!(
        changed,
        [" M .tasks/G-1.md", " M .tasks/G-2.md"],
        "{status}"
    );
}

// ---------------------------------------------------------------------------------------------
// The corpus, one case per test.

#[test]
fn invalid_yaml_is_reported_and_left_alone() {
    check(&invalid_yaml());
}

#[test]
fn missing_id_is_reported_and_left_alone() {
    check(&missing_id());
}

#[test]
fn unclosed_frontmatter_is_reported_and_left_alone() {
    check(&unclosed_frontmatter());
}

#[test]
fn non_utf8_is_reported_and_left_alone() {
    check(&non_utf8());
}

#[test]
fn empty_file_is_reported_and_left_alone() {
    check(&empty_file());
}

#[test]
fn no_frontmatter_is_reported_and_left_alone() {
    check(&no_frontmatter());
}

#[test]
fn invalid_status_is_reported_and_left_alone() {
    check(&invalid_status());
}

#[test]
fn duplicate_ids_are_both_reported_and_never_claimed() {
    check(&duplicate_ids());
}

/// Every broken file at once: the good tasks still work, each file is reported once, in path
/// order.
#[test]
fn whole_corpus_at_once() {
    let cases = corpus();
    let files: Vec<&Bad> = cases.iter().flat_map(|c| &c.files).collect();
    let repo = repo_with(&files);
    let run = repo.tasks(&["list"]).ok();
    assert_eq!(ids(&run), ["G-1", "G-2"]);
    assert_warnings(&run.stderr, &files);
    assert_in_path_order(&run.stderr);

    assert_eq!(
        repo.tasks(&["claim", "--next", "--as", "carol"])
            .ok()
            .line(),
        "G-1"
    );
    repo.tasks(&["block", "G-1", "--reason", "waiting", "--as", "carol"])
        .ok();
    repo.tasks(&["unblock", "G-1"]).ok();
    repo.tasks(&["set", "G-2", "priority=0"]).ok();
    repo.tasks(&["dep", "add", "G-1", "G-2"]).ok();
    assert_eq!(ids(&repo.tasks(&["ready"]).ok()), ["G-2"]);
    let run = repo.tasks(&["blocked", "--json"]).ok();
    assert_eq!(json_ids(&run), ["G-1"]);
    assert_warnings(&run.stderr, &files);
    // A new task's id never takes a broken file's name.
    let run = repo.tasks(&["new", "Fresh", "--id", "Y-1"]).expect(3);
    assert!(run.stderr.contains("Y-1"), "{}", run.stderr);
    assert_unchanged(&repo, &files);
}

/// Among thousands of good tasks in nested folders (enough that the scan reads on several
/// threads while it walks), every broken file is still reported once, in path order, and
/// every good task is read, whichever thread read it.
#[test]
fn a_large_folder_reports_the_same() {
    let cases = corpus();
    let files: Vec<&Bad> = cases.iter().flat_map(|c| &c.files).collect();
    let repo = Repo::new();
    let count = 3000;
    for i in 0..count {
        let folder = match i % 3 {
            0 => ".tasks",
            1 => ".tasks/area",
            _ => ".tasks/area/deeper",
        };
        let deps = match i {
            _ if i == count - 1 => "[B-0000]",
            // A dependency on no task (dependency checks).
            1234 => "[NOPE-1]",
            1500 => "[NOPE-2]",
            _ => "[]",
        };
        // An owner that routes to nobody (routing checks).
        let owner = if matches!(i, 1500 | 2345) {
            "role:nobody"
        } else {
            "alice"
        };
        // A claim field on an open task (orphan checks).
        let stray = if i == 1500 { "claimed_by: bob\n" } else { "" };
        repo.write(
            &format!("{folder}/B-{i:04}.md"),
            format!(
                "---\nid: B-{i:04}\ntitle: task {i}\nstatus: open\npriority: 2\n\
                 owner: {owner}\nlabels: [bulk, n{}]\ndepends_on: {deps}\n{stray}---\nBody of {i}.\n",
                i % 7
            ),
        );
    }
    repo.write(
        ".tasks/G-1.md",
        "---\nid: G-1\ntitle: Good one\nstatus: open\npriority: 3\n---\n",
    );
    for bad in &files {
        repo.write(bad.rel, bad.bytes);
    }

    let run = repo.tasks(&["list", "--all", "--json"]).ok();
    let mut expected: Vec<String> = (0..count).map(|i| format!("B-{i:04}")).collect();
    expected.push("G-1".into());
    assert_eq!(json_ids(&run), expected);
    let tasks = run.json()["tasks"].as_array().unwrap().clone();
    assert_eq!(tasks[7]["labels"], serde_json::json!(["bulk", "n0"]));
    assert_eq!(
        tasks[count - 1]["depends_on"],
        serde_json::json!(["B-0000"])
    );
    assert_warnings(&run.stderr, &files);
    assert_in_path_order(&run.stderr);

    // The last task waits for the first, wherever each was read; B-1234 waits for a task
    // that does not exist, B-2345 for someone to hold its role, and B-1500 for both.
    let run = repo.tasks(&["ready", "--json", "--as", "alice"]).ok();
    let ready = json_ids(&run);
    assert_eq!(ready.len(), count - 3, "all but four B tasks, and G-1");
    for blocked in ["B-1234", "B-1500", "B-2345", "B-2999"] {
        assert!(
            !ready.iter().any(|id| id == blocked),
            "{blocked} is not ready"
        );
    }

    // The sweep runs its checks on two cores here: every signal is still there, once.
    let run = repo
        .tasks(&["heartbeat", "--json", "--fail-on", "never"])
        .ok();
    let doc = run.json();
    let mut kinds: Vec<(String, String)> = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| {
            row["signals"].as_array().unwrap().iter().map(|s| {
                (
                    row["id"].as_str().unwrap_or_default().to_string(),
                    s["kind"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    // The checks run in turns on two cores, but a row lists its signals (of one severity)
    // in the order the checks are documented: dependencies, orphans, routing.
    let mixed: Vec<&str> = kinds
        .iter()
        .filter(|(id, _)| id == "B-1500")
        .map(|(_, kind)| kind.as_str())
        .collect();
    assert_eq!(
        mixed,
        ["dangling_dependency", "orphan_claim", "unroutable_owner"]
    );
    kinds.sort();
    assert!(
        kinds.contains(&("B-1234".into(), "dangling_dependency".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("B-2345".into(), "unroutable_owner".into())),
        "{kinds:?}"
    );
    // Each broken file is reported once, by its path.
    let mut reported: Vec<String> = doc["global"]
        .as_array()
        .unwrap()
        .iter()
        .chain(
            doc["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r["signals"].as_array().unwrap()),
        )
        .filter(|s| s["kind"] == "invalid_file" || s["kind"] == "duplicate_id")
        .map(|s| s["evidence"]["path"].as_str().unwrap().to_string())
        .collect();
    reported.sort();
    let mut broken: Vec<String> = files.iter().map(|b| b.rel.to_string()).collect();
    broken.sort();
    assert_eq!(reported, broken, "{}", run.stdout);
    let mut details: Vec<(&str, &str)> = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let id = r["id"].as_str().unwrap();
            r["signals"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |s| (id, s["detail"].as_str().unwrap()))
        })
        .collect();
    let all = details.len();
    details.sort_unstable();
    details.dedup();
    assert_eq!(details.len(), all, "no signal twice:\n{}", run.stdout);
    assert_eq!(repo.show("B-1500")["title"], "task 1500");
    assert_unchanged(&repo, &files);
}

/// Line numbers count from the top of the file whatever the line endings, with a byte-order
/// mark, and in subfolders; a key that is not the right shape is reported on its own line.
#[test]
fn line_numbers_hold_for_crlf_bom_and_subfolders() {
    let files = [
        Bad {
            rel: ".tasks/C-1.md",
            bytes: b"---\r\nid: C-1\r\ntitle: crlf\r\nstatus: nope\r\n---\r\nBody.\r\n",
            line: 4,
            reason: "unknown status `nope`",
        },
        Bad {
            rel: ".tasks/C-2.md",
            bytes: b"\xef\xbb\xbf---\nid: C-2\ntitle: bom\nlabels: [a]\nstatus: nope\n---\n",
            line: 5,
            reason: "unknown status `nope`",
        },
        Bad {
            rel: ".tasks/sub/deeper/C-3.md",
            bytes: b"---\nid: C-3\ntitle: range\npriority: 9\n---\n",
            line: 4,
            reason: "priority 9 is out of range",
        },
        Bad {
            rel: ".tasks/C-4.md",
            bytes: b"---\nid: C-4\ntitle: words\nlabels: [x]\n# a comment\npriority: high\n---\n",
            line: 6,
            reason: "`priority` must be a whole number",
        },
        Bad {
            rel: ".tasks/C-5.md",
            bytes:
                b"---\r\nid: C-5\r\ntitle: ok\r\nowner: alice\r\nbad: [unclosed: x: y\r\n---\r\n",
            line: 5,
            reason: "invalid YAML",
        },
    ];
    let broken: Vec<&Bad> = files.iter().collect();
    let repo = repo_with(&broken);
    let run = repo.tasks(&["list"]).ok();
    assert_warnings(&run.stderr, &broken);
    for bad in &broken {
        let query = bad.rel.rsplit('/').next().unwrap().trim_end_matches(".md");
        assert_names_files(&repo.tasks(&["show", query]), &[bad], "show");
    }
    assert_unchanged(&repo, &broken);
}

// ---------------------------------------------------------------------------------------------
// A task whose frontmatter is fine but whose body is not UTF-8.

fn body_not_utf8() -> Bad {
    Bad {
        rel: ".tasks/B-1.md",
        bytes: b"---\nid: B-1\ntitle: bad body\npriority: 0\n---\nline one\nbad \xff here\n",
        line: 7,
        reason: "not valid UTF-8",
    }
}

#[test]
fn body_not_utf8_is_never_rewritten() {
    let bad = body_not_utf8();
    let repo = repo_with(&[&bad]);
    for args in [
        vec!["show", "B-1"],
        vec!["claim", "B-1", "--as", "bob"],
        vec!["note", "B-1", "hello"],
        vec!["cancel", "B-1", "--reason", "r"],
        vec!["set", "B-1", "priority=1"],
    ] {
        let run = repo.tasks(&args);
        assert_names_files(&run, &[&bad], &format!("{args:?}"));
        assert!(run.stderr.contains(bad.reason), "{args:?}: {}", run.stderr);
    }
    assert_unchanged(&repo, &[&bad]);
    repo.tasks(&["claim", "G-1", "--as", "carol"]).ok();
    repo.tasks(&["done", "G-1", "--as", "carol"]).ok();
    assert_unchanged(&repo, &[&bad]);
}

/// One unreadable task must not stop `claim --next` for everybody.
#[test]
fn body_not_utf8_does_not_stop_claim_next() {
    let bad = body_not_utf8();
    let repo = repo_with(&[&bad]);
    let run = repo.tasks(&["claim", "--next", "--as", "carol"]).ok();
    assert_eq!(run.line(), "G-1");
    let run = repo.tasks(&["claim", "--next", "--as", "dan"]).ok();
    assert_eq!(run.line(), "G-2");
    repo.tasks(&["claim", "--next", "--as", "erin"]).expect(4);
    assert_unchanged(&repo, &[&bad]);
}

// ---------------------------------------------------------------------------------------------
// Broken files that are not named after their id.

#[test]
fn show_and_claim_name_broken_files_whatever_they_are_called() {
    let dup = [
        Bad {
            rel: ".tasks/one.md",
            bytes: b"---\nid: D-3\ntitle: one\npriority: 0\n---\n",
            line: 2,
            reason: "duplicate id `D-3`",
        },
        Bad {
            rel: ".tasks/two.md",
            bytes: b"---\nid: D-3\ntitle: two\npriority: 0\n---\n",
            line: 2,
            reason: "duplicate id `D-3`",
        },
    ];
    let status = Bad {
        rel: ".tasks/misc/notes.md",
        bytes: b"---\nid: S-2\ntitle: st\nstatus: wip\n---\n",
        line: 4,
        reason: "unknown status `wip`",
    };
    let repo = repo_with(&[&dup[0], &dup[1], &status]);
    assert_warnings(
        &repo.tasks(&["list"]).ok().stderr,
        &[&dup[0], &dup[1], &status],
    );
    let dups: Vec<&Bad> = dup.iter().collect();
    assert_names_files(&repo.tasks(&["show", "D-3"]), &dups, "show D-3");
    assert_names_files(
        &repo.tasks(&["claim", "D-3", "--as", "bob"]),
        &dups,
        "claim D-3",
    );
    assert_names_files(&repo.tasks(&["show", "S-2"]), &[&status], "show S-2");
    assert_names_files(
        &repo.tasks(&["claim", "S-2", "--as", "bob"]),
        &[&status],
        "claim S-2",
    );
    assert_eq!(
        repo.tasks(&["claim", "--next", "--as", "carol"])
            .ok()
            .line(),
        "G-1"
    );
    assert_unchanged(&repo, &[&dup[0], &dup[1], &status]);
}

// ---------------------------------------------------------------------------------------------
// A broken config.

/// Every command, set up so that it would succeed with a good config.
const EVERY_COMMAND: &[&[&str]] = &[
    &["init"],
    &["new", "Another"],
    &["list"],
    &["list", "--all"],
    &["show", "G-1"],
    &["ready"],
    &["blocked"],
    &["claim", "G-2"],
    &["claim", "--next"],
    &["heartbeat", "G-1"],
    &["note", "G-1", "hello"],
    &["done", "G-1"],
    &["block", "G-1", "--reason", "r"],
    &["unblock", "B-1"],
    &["fail", "G-1", "--reason", "r"],
    &["unclaim", "G-1", "--reason", "r"],
    &["reopen", "X-1", "--reason", "r"],
    &["cancel", "G-2", "--reason", "r"],
    &["set", "G-2", "priority=1"],
    &["dep", "add", "G-2", "X-1"],
    &["dep", "rm", "B-1", "G-2"],
];

fn config_repo() -> Repo {
    let repo = repo_with(&[]);
    repo.tasks(&["claim", "G-1", "--as", "alice"]).ok();
    repo.tasks(&["new", "Blocked", "--id", "B-1", "-d", "G-2"])
        .ok();
    repo.tasks(&["block", "B-1", "--reason", "r"]).ok();
    repo.tasks(&["new", "Finished", "--id", "X-1"]).ok();
    repo.tasks(&["cancel", "X-1", "--reason", "r"]).ok();
    repo
}

fn snapshot(repo: &Repo) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walk(&repo.path(".tasks"))
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&repo.root).unwrap().display().to_string();
            let bytes = std::fs::read(&p).unwrap();
            (rel, bytes)
        })
        .collect();
    files.sort();
    files
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[track_caller]
fn assert_every_command_refuses(repo: &Repo, at: &str, key: &str) {
    let before = snapshot(repo);
    for cmd in EVERY_COMMAND {
        let mut args = cmd.to_vec();
        args.extend(["--as", "alice"]);
        let run = repo.tasks(&args);
        assert_eq!(
            run.code, 1,
            "{cmd:?} should exit 1\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        assert!(
            run.stderr.contains(at),
            "{cmd:?}: stderr does not name {at}:\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("`{key}`")),
            "{cmd:?}: stderr does not name `{key}`:\n{}",
            run.stderr
        );
        assert!(
            run.stdout.is_empty(),
            "{cmd:?} printed on stdout: {}",
            run.stdout
        );

        args.push("--json");
        let run = repo.tasks(&args).expect(1);
        let err = &run.json()["error"];
        assert_eq!(run.json()["schema_version"], 1);
        assert_eq!(err["code"], "config", "{cmd:?}: {}", run.stdout);
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains(at) && message.contains(key),
            "{cmd:?}: {message}"
        );
    }
    assert_eq!(
        snapshot(repo),
        before,
        "a command wrote something despite the broken config"
    );
}

#[test]
fn config_with_an_unknown_key_stops_every_command() {
    let repo = config_repo();
    repo.write(
        ".tasks/config.yaml",
        "# settings\nlease: 1h\nleese: 2h\nmax_attempts: 3\n",
    );
    assert_every_command_refuses(&repo, ".tasks/config.yaml:3", "leese");
}

#[test]
fn config_with_an_unknown_nested_key_names_its_line() {
    let repo = config_repo();
    repo.write(
        ".tasks/config.yaml",
        "# settings\n\nlease: 1h\nsla:\n  pickup: 2h\n  reveiw: 24h\n",
    );
    assert_every_command_refuses(&repo, ".tasks/config.yaml:6", "reveiw");
}

#[test]
fn config_fixed_again_everything_works() {
    let repo = config_repo();
    let good = repo.read(".tasks/config.yaml");
    repo.write(".tasks/config.yaml", "leese: 2h\n");
    repo.tasks(&["list"]).expect(1);
    repo.write(".tasks/config.yaml", good);
    assert_eq!(ids(&repo.tasks(&["ready"]).ok()), ["G-2"]);
    repo.tasks(&["done", "G-1", "--as", "alice"]).ok();
}
