//! Minimal-diff writes through the real binary, byte for byte (DESIGN §3).
//!
//! Every test hand-writes task files full of things a careless writer would destroy —
//! comments, unknown keys, odd quoting, padding, block lists, CRLF, a BOM, a body with `---`
//! lines and no final newline — runs real commands with a pinned clock, and compares the whole
//! file with the exact bytes expected: only the lines of the keys a command changed differ.

use crate::common::{Repo, Run};

/// The roles the fixtures' owners route to, so `claim` finds them ready.
const CONFIG: &str = "roles: { backend: [alice, carol] }\n";

fn repo() -> Repo {
    let repo = Repo::new();
    repo.write(".tasks/config.yaml", CONFIG);
    repo
}

/// Runs the binary with the clock pinned at `now` (a time of day on 2026-11-20).
fn at(repo: &Repo, now: &str, args: &[&str]) -> Run {
    let mut cmd = repo.command_in(&repo.root);
    cmd.env("TASKS_NOW", format!("2026-11-20T{now}Z"));
    Run::from_output(cmd.args(args).output().unwrap())
}

/// Compares whole files, showing both as text on failure.
#[track_caller]
fn assert_file(repo: &Repo, rel: &str, expected: &str) {
    let actual = repo.read_bytes(rel);
    assert!(
        actual == expected.as_bytes(),
        "{rel} differs\n--- expected ---\n{expected:?}\n--- actual ---\n{:?}",
        String::from_utf8_lossy(&actual)
    );
}

/// Every `\n` is part of a `\r\n` and no `\r` stands alone.
#[track_caller]
fn assert_all_crlf(bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\n' => assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at byte {i}"),
            b'\r' => assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at byte {i}"),
            _ => {}
        }
    }
}

fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

// ---------------------------------------------------------------------------------------------
// An LF file with everything in it, through claim, note, set, done and reopen.

const LF_PATH: &str = ".tasks/T-lf01.md";

/// The frontmatter lines that no command below touches, up to `created_at`.
const LF_HEAD: &str = "---\n\
# Owned by the pool team; keep keys in this order.\n\
id: T-lf01   # never change\n\
title: 'Fix: queue race in pool acquire'\n";

/// Between `status` and `priority`: nothing. Between `priority` and `labels`:
const LF_TYPE_OWNER: &str = "type: bug\nowner: role:backend\n";

/// From after `labels` to `created_at`, untouched by every command.
const LF_MIDDLE: &str = "estimate: \"3d\"   # unknown key, double quoted\n\
reviewers: [carol, 'dave']\n\
links:\n  spec: https://example.com/spec#s3\n  tracker: {id: 42, url: \"https://t/42\"}\n\
\n\
# timestamps\n\
created_at: 2026-11-19T09:00:00Z\n";

const LF_LABELS_BLOCK: &str = "labels:\n  - pool\n  - concurrency\n";

/// A body with `---` lines, a notes section followed by another section, and no final newline.
const LF_BODY_BEFORE_NOTE: &str = "What, why, acceptance.\n\
---\n\
Not frontmatter: the line above is body.\n\
## Notes\n\
- 2026-11-19T09:30:00Z bob: first look\n";
const LF_BODY_AFTER_NOTE: &str = "\n## Links\nsee spec\n---";

fn lf_original() -> String {
    [
        LF_HEAD,
        "status:   open   # note\n",
        "priority: 2\n",
        LF_TYPE_OWNER,
        LF_LABELS_BLOCK,
        LF_MIDDLE,
        "---\n",
        LF_BODY_BEFORE_NOTE,
        LF_BODY_AFTER_NOTE,
    ]
    .concat()
}

#[test]
fn lf_file_through_claim_note_set_done_reopen_changes_only_the_touched_lines() {
    let repo = repo();
    repo.write(LF_PATH, lf_original());

    // A read changes nothing.
    at(&repo, "09:59:00", &["show", "T-lf01"]).ok();
    assert_file(&repo, LF_PATH, &lf_original());

    // claim: status rewritten in place (padding and comment kept), three keys appended.
    at(&repo, "10:00:00", &["--as", "alice", "claim", "T-lf01"]).ok();
    let claimed = [
        LF_HEAD,
        "status:   in_progress   # note\n",
        "priority: 2\n",
        LF_TYPE_OWNER,
        LF_LABELS_BLOCK,
        LF_MIDDLE,
        "updated_at: 2026-11-20T10:00:00Z\n",
        "claimed_by: alice\n",
        "claimed_at: 2026-11-20T10:00:00Z\n",
        "---\n",
        LF_BODY_BEFORE_NOTE,
        LF_BODY_AFTER_NOTE,
    ]
    .concat();
    assert_file(&repo, LF_PATH, &claimed);

    // note: the last line of the Notes section, before the blank line and the next heading.
    at(
        &repo,
        "10:05:00",
        &[
            "--as",
            "alice",
            "note",
            "T-lf01",
            "reproduced with 3 parallel acquires",
        ],
    )
    .ok();
    let note = "- 2026-11-20T10:05:00Z alice: reproduced with 3 parallel acquires\n";
    let noted = [
        LF_HEAD,
        "status:   in_progress   # note\n",
        "priority: 2\n",
        LF_TYPE_OWNER,
        LF_LABELS_BLOCK,
        LF_MIDDLE,
        "updated_at: 2026-11-20T10:05:00Z\n",
        "claimed_by: alice\n",
        "claimed_at: 2026-11-20T10:00:00Z\n",
        "---\n",
        LF_BODY_BEFORE_NOTE,
        note,
        LF_BODY_AFTER_NOTE,
    ]
    .concat();
    assert_file(&repo, LF_PATH, &noted);

    // set: a scalar in place, a block list re-rendered on one line alone, a new key appended.
    at(
        &repo,
        "10:10:00",
        &[
            "--as",
            "alice",
            "set",
            "T-lf01",
            "priority=0",
            "labels=x,y",
            "custom=hello",
        ],
    )
    .ok();
    let set = [
        LF_HEAD,
        "status:   in_progress   # note\n",
        "priority: 0\n",
        LF_TYPE_OWNER,
        "labels: [x, \"y\"]\n",
        LF_MIDDLE,
        "updated_at: 2026-11-20T10:10:00Z\n",
        "claimed_by: alice\n",
        "claimed_at: 2026-11-20T10:00:00Z\n",
        "custom: hello\n",
        "---\n",
        LF_BODY_BEFORE_NOTE,
        note,
        LF_BODY_AFTER_NOTE,
    ]
    .concat();
    assert_file(&repo, LF_PATH, &set);

    // done --pr: the claim lines go, the evidence and outcome are appended.
    at(
        &repo,
        "10:15:00",
        &[
            "--as",
            "alice",
            "done",
            "T-lf01",
            "--pr",
            "https://github.com/acme/pool/pull/42",
        ],
    )
    .ok();
    let done_head = [
        LF_HEAD,
        "status:   done   # note\n",
        "priority: 0\n",
        LF_TYPE_OWNER,
        "labels: [x, \"y\"]\n",
        LF_MIDDLE,
        "updated_at: 2026-11-20T10:15:00Z\n",
        "custom: hello\n",
        "pr_url: https://github.com/acme/pool/pull/42\n",
        "pr_number: 42\n",
        "outcome: completed_with_pr\n",
        "outcome_at: 2026-11-20T10:15:00Z\n",
        "outcome_by: alice\n",
    ]
    .concat();
    let done = [
        &done_head,
        "---\n",
        LF_BODY_BEFORE_NOTE,
        note,
        LF_BODY_AFTER_NOTE,
    ]
    .concat();
    assert_file(&repo, LF_PATH, &done);

    // reopen: status back to open, the reason appended; nothing else moves.
    at(
        &repo,
        "10:20:00",
        &[
            "--as",
            "alice",
            "reopen",
            "T-lf01",
            "--reason",
            "flaky again",
        ],
    )
    .ok();
    let reopened = done
        .replace("status:   done   # note\n", "status:   open   # note\n")
        .replace(
            "updated_at: 2026-11-20T10:15:00Z\n",
            "updated_at: 2026-11-20T10:20:00Z\n",
        )
        .replace(
            "outcome_by: alice\n---\n",
            "outcome_by: alice\nreason: flaky again\n---\n",
        );
    assert_ne!(reopened, done);
    assert_file(&repo, LF_PATH, &reopened);

    // And the tool reads its own writes back as it meant them.
    let task = &at(&repo, "10:21:00", &["show", "T-lf01", "--json"])
        .ok()
        .json()["task"];
    assert_eq!(task["status"], "open");
    assert_eq!(task["priority"], 0);
    assert_eq!(task["labels"], serde_json::json!(["x", "y"]));
    assert_eq!(task["estimate"], "3d");
    assert_eq!(task["links"]["tracker"]["url"], "https://t/42");
}

// ---------------------------------------------------------------------------------------------
// A whole CRLF file with a BOM, through note (creating the Notes section), claim, dep add,
// block, unblock and set.

const CRLF_PATH: &str = ".tasks/T-crlf.md";

fn crlf_original() -> String {
    let mut text = String::from("\u{feff}");
    text.push_str(&crlf(
        "---\n\
id: T-crlf\n\
title: \"Windows: line endings\"\n\
status: todo\n\
priority: 1   # high\n\
owner: alice\n\
depends_on: []\n\
x-custom:\n  nested: value\n  list: [1, 2]\n\
# trailing comment\n\
---\n\
Body with CRLF.\n\
---\n\
still body\n\
no final newline",
    ));
    text
}

#[test]
fn crlf_file_with_bom_keeps_every_line_ending_and_the_body() {
    let repo = repo();
    // A finished task the CRLF task can depend on.
    repo.write(
        ".tasks/T-dep1.md",
        "---\nid: T-dep1\ntitle: Done already\nstatus: done\n---\n",
    );
    let original = crlf_original();
    repo.write(CRLF_PATH, &original);

    // note: the body has no `## Notes`, so the section is created at its end, in CRLF, after
    // the unterminated last line is ended.
    at(
        &repo,
        "10:00:00",
        &["--as", "alice", "note", "T-crlf", "first note"],
    )
    .ok();
    let fm_head = "\u{feff}---\r\n\
id: T-crlf\r\n\
title: \"Windows: line endings\"\r\n";
    let fm_tail = "owner: alice\r\n";
    let custom = "x-custom:\r\n  nested: value\r\n  list: [1, 2]\r\n# trailing comment\r\n";
    let body = "Body with CRLF.\r\n---\r\nstill body\r\nno final newline\r\n\r\n## Notes\r\n\
- 2026-11-20T10:00:00Z alice: first note\r\n";
    let expected = [
        fm_head,
        "status: todo\r\n",
        "priority: 1   # high\r\n",
        fm_tail,
        "depends_on: []\r\n",
        custom,
        "updated_at: 2026-11-20T10:00:00Z\r\n",
        "---\r\n",
        body,
    ]
    .concat();
    assert_file(&repo, CRLF_PATH, &expected);

    // dep add: a flow list rewritten in place.
    at(
        &repo,
        "10:01:00",
        &["--as", "alice", "dep", "add", "T-crlf", "T-dep1"],
    )
    .ok();
    let expected = [
        fm_head,
        "status: todo\r\n",
        "priority: 1   # high\r\n",
        fm_tail,
        "depends_on: [T-dep1]\r\n",
        custom,
        "updated_at: 2026-11-20T10:01:00Z\r\n",
        "---\r\n",
        body,
    ]
    .concat();
    assert_file(&repo, CRLF_PATH, &expected);

    // claim: the alias `todo` is written canonically, in place.
    at(&repo, "10:02:00", &["--as", "alice", "claim", "T-crlf"]).ok();
    let claim_lines = "claimed_by: alice\r\nclaimed_at: 2026-11-20T10:02:00Z\r\n";
    let expected = [
        fm_head,
        "status: in_progress\r\n",
        "priority: 1   # high\r\n",
        fm_tail,
        "depends_on: [T-dep1]\r\n",
        custom,
        "updated_at: 2026-11-20T10:02:00Z\r\n",
        claim_lines,
        "---\r\n",
        body,
    ]
    .concat();
    assert_file(&repo, CRLF_PATH, &expected);

    // block: the claim lines go, the outcome and reason are appended.
    at(
        &repo,
        "10:03:00",
        &[
            "--as",
            "alice",
            "block",
            "T-crlf",
            "--reason",
            "waiting on vendor",
        ],
    )
    .ok();
    let outcome = "outcome: blocked\r\n\
outcome_at: 2026-11-20T10:03:00Z\r\n\
outcome_by: alice\r\n\
reason: waiting on vendor\r\n";
    let expected = [
        fm_head,
        "status: blocked\r\n",
        "priority: 1   # high\r\n",
        fm_tail,
        "depends_on: [T-dep1]\r\n",
        custom,
        "updated_at: 2026-11-20T10:03:00Z\r\n",
        outcome,
        "---\r\n",
        body,
    ]
    .concat();
    assert_file(&repo, CRLF_PATH, &expected);

    // unblock: status and updated_at only; the outcome of the last claim stays.
    at(&repo, "10:04:00", &["--as", "alice", "unblock", "T-crlf"]).ok();
    let expected = [
        fm_head,
        "status: open\r\n",
        "priority: 1   # high\r\n",
        fm_tail,
        "depends_on: [T-dep1]\r\n",
        custom,
        "updated_at: 2026-11-20T10:04:00Z\r\n",
        outcome,
        "---\r\n",
        body,
    ]
    .concat();
    assert_file(&repo, CRLF_PATH, &expected);

    // set: padding and comment of `priority` kept; a nested block mapping re-rendered alone,
    // the comment after it kept.
    at(
        &repo,
        "10:05:00",
        &[
            "--as",
            "alice",
            "set",
            "T-crlf",
            "priority=3",
            "x-custom={nested: other}",
        ],
    )
    .ok();
    let expected = [
        fm_head,
        "status: open\r\n",
        "priority: 3   # high\r\n",
        fm_tail,
        "depends_on: [T-dep1]\r\n",
        "x-custom: {nested: other}\r\n# trailing comment\r\n",
        "updated_at: 2026-11-20T10:05:00Z\r\n",
        outcome,
        "---\r\n",
        body,
    ]
    .concat();
    assert_file(&repo, CRLF_PATH, &expected);
    assert_all_crlf(&repo.read_bytes(CRLF_PATH)[3..]);
    assert!(
        repo.read_bytes(CRLF_PATH)
            .starts_with("\u{feff}---\r\n".as_bytes())
    );

    // dep rm of the last dependency removes the key's line and nothing else.
    at(
        &repo,
        "10:06:00",
        &["--as", "alice", "dep", "rm", "T-crlf", "T-dep1"],
    )
    .ok();
    let expected = expected.replace("depends_on: [T-dep1]\r\n", "").replace(
        "updated_at: 2026-11-20T10:05:00Z\r\n",
        "updated_at: 2026-11-20T10:06:00Z\r\n",
    );
    assert_file(&repo, CRLF_PATH, &expected);
}

#[test]
fn multi_line_note_in_a_crlf_file_is_written_in_crlf() {
    let repo = repo();
    repo.write(
        ".tasks/T-ml.md",
        "---\r\nid: T-ml\r\ntitle: t\r\n---\r\nbody\r\n",
    );
    at(
        &repo,
        "10:00:00",
        &["--as", "alice", "note", "T-ml", "line one\nline two"],
    )
    .ok();
    assert_file(
        &repo,
        ".tasks/T-ml.md",
        "---\r\nid: T-ml\r\ntitle: t\r\nupdated_at: 2026-11-20T10:00:00Z\r\n---\r\n\
body\r\n\r\n## Notes\r\n- 2026-11-20T10:00:00Z alice: line one\r\n  line two\r\n",
    );
}

// ---------------------------------------------------------------------------------------------
// fail, unclaim, fail again to `failed`, and reopen, on a file with a block list of failed
// agents and a commented counter.

const FAIL_PATH: &str = ".tasks/T-fail.md";
const FAIL_BODY: &str = "Body.\n\n## Notes\n";

#[test]
fn fail_unclaim_fail_reopen_touch_only_their_keys() {
    let repo = repo();
    let head = "---\nid: T-fail\ntitle: Flaky \"integration\" test\n";
    let tail = "notes_url: 'https://wiki/x?a=1&b=2'\n";
    repo.write(
        FAIL_PATH,
        [
            head,
            "status: open\n",
            "max_attempts: 2\n",
            "failed_agents:\n  - bob\n",
            "attempts: 0   # reset by reopen\n",
            tail,
            "---\n",
            FAIL_BODY,
        ]
        .concat(),
    );

    at(&repo, "10:00:00", &["--as", "alice", "claim", "T-fail"]).ok();
    at(
        &repo,
        "10:01:00",
        &["--as", "alice", "fail", "T-fail", "--reason", "timeout"],
    )
    .ok();
    let after_first_fail = [
        head,
        "status: open\n",
        "max_attempts: 2\n",
        "failed_agents: [bob, alice]\n",
        "attempts: 1   # reset by reopen\n",
        tail,
        "updated_at: 2026-11-20T10:01:00Z\n",
        "outcome: failed\n",
        "outcome_at: 2026-11-20T10:01:00Z\n",
        "outcome_by: alice\n",
        "reason: timeout\n",
        "---\n",
        FAIL_BODY,
    ]
    .concat();
    assert_file(&repo, FAIL_PATH, &after_first_fail);

    // carol claims and lets go: outcome and reason rewritten in place.
    at(&repo, "10:02:00", &["--as", "carol", "claim", "T-fail"]).ok();
    at(
        &repo,
        "10:03:00",
        &["--as", "carol", "unclaim", "T-fail", "--reason", "no time"],
    )
    .ok();
    let after_unclaim = [
        head,
        "status: open\n",
        "max_attempts: 2\n",
        "failed_agents: [bob, alice]\n",
        "attempts: 1   # reset by reopen\n",
        tail,
        "updated_at: 2026-11-20T10:03:00Z\n",
        "outcome: released\n",
        "outcome_at: 2026-11-20T10:03:00Z\n",
        "outcome_by: carol\n",
        "reason: no time\n",
        "---\n",
        FAIL_BODY,
    ]
    .concat();
    assert_file(&repo, FAIL_PATH, &after_unclaim);

    // carol fails it: attempts reach max_attempts, so it is failed.
    at(&repo, "10:04:00", &["--as", "carol", "claim", "T-fail"]).ok();
    at(
        &repo,
        "10:05:00",
        &["--as", "carol", "fail", "T-fail", "--reason", "still red"],
    )
    .ok();
    let failed = [
        head,
        "status: failed\n",
        "max_attempts: 2\n",
        "failed_agents: [bob, alice, carol]\n",
        "attempts: 2   # reset by reopen\n",
        tail,
        "updated_at: 2026-11-20T10:05:00Z\n",
        "outcome: failed\n",
        "outcome_at: 2026-11-20T10:05:00Z\n",
        "outcome_by: carol\n",
        "reason: still red\n",
        "---\n",
        FAIL_BODY,
    ]
    .concat();
    assert_file(&repo, FAIL_PATH, &failed);

    at(
        &repo,
        "10:06:00",
        &[
            "--as",
            "dave",
            "reopen",
            "T-fail",
            "--reason",
            "new approach",
        ],
    )
    .ok();
    let reopened = [
        head,
        "status: open\n",
        "max_attempts: 2\n",
        "failed_agents: [bob, alice, carol]\n",
        "attempts: 0   # reset by reopen\n",
        tail,
        "updated_at: 2026-11-20T10:06:00Z\n",
        "outcome: failed\n",
        "outcome_at: 2026-11-20T10:05:00Z\n",
        "outcome_by: carol\n",
        "reason: new approach\n",
        "---\n",
        FAIL_BODY,
    ]
    .concat();
    assert_file(&repo, FAIL_PATH, &reopened);
}

#[test]
fn a_refused_transition_leaves_the_file_alone() {
    let repo = repo();
    let text = "---\nid: T-held\ntitle: x   # c\nstatus: in_progress\nclaimed_by: alice\n---\nb";
    repo.write(".tasks/T-held.md", text);
    for args in [
        &["--as", "bob", "claim", "T-held"][..],
        &["--as", "bob", "done", "T-held"],
        &["--as", "bob", "fail", "T-held", "--reason", "r"],
        &["--as", "bob", "unclaim", "T-held", "--reason", "r"],
        &["--as", "bob", "unblock", "T-held"],
        &["--as", "bob", "reopen", "T-held", "--reason", "r"],
        &["--as", "bob", "set", "T-held", "status=open"],
        &["--as", "bob", "set", "T-held", "priority=9"],
    ] {
        let run = at(&repo, "10:00:00", args);
        assert_ne!(run.code, 0, "{args:?} succeeded");
        assert_file(&repo, ".tasks/T-held.md", text);
    }
}

// ---------------------------------------------------------------------------------------------
// Files the tool cannot parse are never rewritten, whatever the command.

#[test]
fn unparseable_files_are_never_rewritten() {
    let repo = repo();
    let bad: Vec<(&str, Vec<u8>)> = vec![
        (
            "T-yaml",
            b"---\nid: T-yaml\ntitle: [unclosed\nstatus: open\n---\nbody\n".to_vec(),
        ),
        (
            "T-status",
            b"---\nid: T-status\ntitle: x\nstatus: wip\n---\nbody\n".to_vec(),
        ),
        (
            "T-prio",
            b"---\nid: T-prio\ntitle: x\npriority: 9\n---\n".to_vec(),
        ),
        ("T-noid", b"---\ntitle: no id here\n---\n".to_vec()),
        (
            "T-dupkey",
            b"---\nid: T-dupkey\ntitle: a\ntitle: b\n---\n".to_vec(),
        ),
        (
            "T-utf8",
            b"---\nid: T-utf8\ntitle: \xff\xfe bad\n---\n".to_vec(),
        ),
        ("T-nofm", b"# T-nofm\n\nno frontmatter at all\n".to_vec()),
        ("T-open", b"---\nid: T-open\ntitle: never closed\n".to_vec()),
        ("T-list", b"---\n- id\n- T-list\n---\n".to_vec()),
        ("T-badid", b"---\nid: ../T-badid\ntitle: x\n---\n".to_vec()),
        (
            "T-labels",
            b"---\nid: T-labels\nlabels: {a: 1}\n---\n".to_vec(),
        ),
        ("T-empty", b"".to_vec()),
        // Two files carrying one id: neither may be written.
        ("T-twin-a", b"---\nid: T-twin\ntitle: a\n---\n".to_vec()),
        ("T-twin-b", b"---\nid: T-twin\ntitle: b\n---\n".to_vec()),
    ];
    for (name, bytes) in &bad {
        repo.write(&format!(".tasks/{name}.md"), bytes);
    }
    // One good task beside them keeps working.
    let good = "---\nid: T-good\ntitle: fine\n---\n";
    repo.write(".tasks/T-good.md", good);

    let check_untouched = |what: &str| {
        for (name, bytes) in &bad {
            assert!(
                repo.read_bytes(&format!(".tasks/{name}.md")) == *bytes,
                "{name} was rewritten by {what}"
            );
        }
    };

    for id in [
        "T-yaml", "T-status", "T-prio", "T-noid", "T-dupkey", "T-utf8", "T-nofm", "T-open",
        "T-list", "T-badid", "T-labels", "T-empty", "T-twin", "T-twin-a", "T-twin-b",
    ] {
        for args in [
            &["claim", id][..],
            &["claim", id, "--force"],
            &["note", id, "hello"],
            &["set", id, "priority=1"],
            &["set", id, "custom=x"],
            &["done", id],
            &["block", id, "--reason", "r"],
            &["unblock", id],
            &["fail", id, "--reason", "r"],
            &["unclaim", id, "--reason", "r", "--force"],
            &["reopen", id, "--reason", "r"],
            &["cancel", id, "--reason", "r"],
            &["dep", "add", id, "T-good"],
            &["dep", "add", "T-good", id],
            &["heartbeat", id],
        ] {
            let mut full = vec!["--as", "alice"];
            full.extend_from_slice(args);
            let run = at(&repo, "10:00:00", &full);
            assert_ne!(
                run.code, 0,
                "{full:?} succeeded on a bad file\n{}",
                run.stderr
            );
            check_untouched(&format!("{full:?}"));
        }
    }

    // Sweeps and listings read but never write.
    for args in [
        &["list", "--all"][..],
        &["ready"],
        &["blocked"],
        &["heartbeat"],
        &["heartbeat", "--fix"],
    ] {
        at(&repo, "10:00:00", args);
        check_untouched(&format!("{args:?}"));
    }

    // `claim --next` passes over them and claims the good one.
    let run = at(&repo, "10:00:00", &["--as", "alice", "claim", "--next"]).ok();
    assert_eq!(run.line(), "T-good");
    check_untouched("claim --next");
    assert_file(
        &repo,
        ".tasks/T-good.md",
        "---\nid: T-good\ntitle: fine\nstatus: in_progress\nupdated_at: 2026-11-20T10:00:00Z\n\
claimed_by: alice\nclaimed_at: 2026-11-20T10:00:00Z\n---\n",
    );
}

#[test]
fn a_parseable_file_the_editor_cannot_edit_safely_is_refused_untouched() {
    let repo = repo();
    // A flow-mapping frontmatter has no key lines to rewrite.
    let text = "---\n{id: T-flow, title: flow style}\n---\nbody\n";
    repo.write(".tasks/T-flow.md", text);
    at(&repo, "10:00:00", &["show", "T-flow"]).ok();
    let run = at(&repo, "10:00:00", &["--as", "alice", "claim", "T-flow"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("T-flow.md"), "{}", run.stderr);
    assert_file(&repo, ".tasks/T-flow.md", text);
    at(&repo, "10:00:00", &["--as", "alice", "note", "T-flow", "x"]).expect(1);
    assert_file(&repo, ".tasks/T-flow.md", text);
}

// ---------------------------------------------------------------------------------------------
// Product bugs, asserting the correct behaviour.

#[test]
fn a_quoted_key_below_status_does_not_stop_a_claim() {
    let repo = repo();
    let text = "---\nid: T-q\ntitle: quoted keys\nstatus: open\n\"on\": push\n'x y': 1\n---\n";
    repo.write(".tasks/T-q.md", text);
    at(&repo, "10:00:00", &["--as", "alice", "claim", "T-q"]).ok();
    assert_file(
        &repo,
        ".tasks/T-q.md",
        "---\nid: T-q\ntitle: quoted keys\nstatus: in_progress\n\"on\": push\n'x y': 1\n\
updated_at: 2026-11-20T10:00:00Z\nclaimed_by: alice\nclaimed_at: 2026-11-20T10:00:00Z\n---\n",
    );
}

#[test]
fn set_can_change_a_key_it_had_to_quote() {
    let repo = repo();
    repo.write(".tasks/T-on.md", "---\nid: T-on\ntitle: t\n---\n");
    at(
        &repo,
        "10:00:00",
        &["--as", "alice", "set", "T-on", "on=push"],
    )
    .ok();
    assert_file(
        &repo,
        ".tasks/T-on.md",
        "---\nid: T-on\ntitle: t\n\"on\": push\nupdated_at: 2026-11-20T10:00:00Z\n---\n",
    );
    at(
        &repo,
        "10:01:00",
        &["--as", "alice", "set", "T-on", "on=pull"],
    )
    .ok();
    assert_file(
        &repo,
        ".tasks/T-on.md",
        "---\nid: T-on\ntitle: t\n\"on\": pull\nupdated_at: 2026-11-20T10:01:00Z\n---\n",
    );
    at(
        &repo,
        "10:02:00",
        &["--as", "alice", "set", "T-on", "title=renamed"],
    )
    .ok();
    assert_file(
        &repo,
        ".tasks/T-on.md",
        "---\nid: T-on\ntitle: renamed\n\"on\": pull\nupdated_at: 2026-11-20T10:02:00Z\n---\n",
    );
}

#[test]
fn an_indented_comment_under_a_key_survives_a_claim() {
    let repo = repo();
    let text =
        "---\nid: T-ic\ntitle: t\nstatus: open\n  # set by the lifecycle commands only\n---\n";
    repo.write(".tasks/T-ic.md", text);
    at(&repo, "10:00:00", &["--as", "alice", "claim", "T-ic"]).ok();
    assert_file(
        &repo,
        ".tasks/T-ic.md",
        "---\nid: T-ic\ntitle: t\nstatus: in_progress\n  # set by the lifecycle commands only\n\
updated_at: 2026-11-20T10:00:00Z\nclaimed_by: alice\nclaimed_at: 2026-11-20T10:00:00Z\n---\n",
    );
}

#[test]
fn a_reason_with_a_line_separator_is_written() {
    let repo = repo();
    repo.write(".tasks/T-ls.md", "---\nid: T-ls\ntitle: t\n---\n");
    at(
        &repo,
        "10:00:00",
        &[
            "--as",
            "alice",
            "block",
            "T-ls",
            "--reason",
            "one\u{2028}two",
        ],
    )
    .ok();
    let task = &at(&repo, "10:00:00", &["show", "T-ls", "--json"])
        .ok()
        .json()["task"];
    assert_eq!(task["reason"], "one\u{2028}two");
    assert_eq!(task["status"], "blocked");
}
