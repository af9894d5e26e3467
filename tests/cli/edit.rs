//! `tasks edit`: the editor on a copy, the result checked with the store's parser, saved only
//! over the file the edit started from.

use std::path::PathBuf;

use crate::common::{Repo, Run, bin};

const NOW: &str = "2030-01-02T03:04:05Z";

/// Runs `tasks edit ID` with `EDITOR` set to `editor` (and no VISUAL), the clock pinned.
fn edit(repo: &Repo, editor: &str, args: &[&str]) -> Run {
    let mut cmd = repo.command_in(&repo.root);
    cmd.env("EDITOR", editor)
        .env("TASKS_NOW", NOW)
        .env("TASKS_BIN", bin())
        .arg("edit")
        .args(args);
    Run::from_output(cmd.output().unwrap())
}

/// An executable editor script in the test's HOME.
fn script(repo: &Repo, name: &str, body: &str) -> String {
    let path = repo.home.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

fn edits_dir(repo: &Repo) -> PathBuf {
    repo.state_dir().join("edits")
}

fn leftover_copies(repo: &Repo) -> Vec<PathBuf> {
    std::fs::read_dir(edits_dir(repo))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// The path after "kept in " in a message.
fn kept_copy(stderr: &str) -> PathBuf {
    let at = stderr.find("kept in ").expect(stderr) + "kept in ".len();
    let path: String = stderr[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ':')
        .collect();
    PathBuf::from(path)
}

#[test]
fn an_edit_is_checked_and_saved_changing_only_what_was_edited() {
    let repo = Repo::new();
    let id = repo.new_task(&["Write the parser", "--label", "core"]);
    let before = repo.task_file(&id);
    // An editor given with arguments, run the way git runs it.
    let run = edit(&repo, "sed -i -e 's/^priority: 2$/priority: 0/'", &[&id]).ok();
    assert!(run.stderr.contains("saved"), "{}", run.stderr);
    let after = repo.task_file(&id);
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert_eq!(changed[0].1, "priority: 0");
    assert_eq!(changed[1].1, format!("updated_at: {NOW}"));
    assert!(leftover_copies(&repo).is_empty());

    // VISUAL comes before EDITOR; the body can be edited; --json prints the task.
    let mut cmd = repo.command_in(&repo.root);
    cmd.env(
        "VISUAL",
        script(&repo, "append.sh", "printf 'More detail.\\n' >> \"$1\""),
    )
    .env("EDITOR", "false")
    .args(["edit", &id, "--json"]);
    let run = Run::from_output(cmd.output().unwrap()).ok();
    let json = run.json();
    assert_eq!(json["changed"], true);
    assert_eq!(json["task"]["priority"], 0);
    assert!(repo.task_file(&id).ends_with("More detail.\n"));
}

#[test]
fn the_holder_editing_a_task_renews_the_lease() {
    let repo = Repo::new();
    let id = repo.new_task(&["Write the parser"]);
    repo.tasks(&["claim", &id, "--as", "alice"]).ok();
    let mut cmd = repo.command_in(&repo.root);
    cmd.env("EDITOR", "sed -i -e 's/^priority: 2$/priority: 1/'")
        .env("TASKS_NOW", NOW)
        .args(["edit", &id, "--as", "alice"]);
    Run::from_output(cmd.output().unwrap()).ok();
    let lease: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.state_dir().join(format!("leases/{id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(lease["renewed_at"], NOW);
}

#[test]
fn a_broken_edit_is_refused_with_its_line_and_the_file_stays_byte_identical() {
    let repo = Repo::new();
    let id = repo.new_task(&["Write the parser"]);
    let path = format!(".tasks/{id}.md");
    // id on line 2, title 3, status 4, priority 5.
    let cases = [
        ("s/^title: .*/title: a: b/", "3", "invalid YAML"),
        ("s/^status: open/status: dun/", "4", "unknown status `dun`"),
        ("s/^priority: 2/priority: 9/", "5", "out of range"),
        ("s/^id: .*/id: T-other/", "2", "the id changed"),
        ("s/^status: open/status: done/", "4", "tasks done"),
        ("1d", "1", "frontmatter"),
    ];
    for (sed, line, problem) in cases {
        let before = repo.read_bytes(&path);
        let run = edit(&repo, &format!("sed -i -e '{sed}'"), &[&id]).expect(1);
        assert!(
            run.stderr.contains(&format!("{path}:{line}: ")),
            "{sed}: want line {line}:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains(problem), "{sed}:\n{}", run.stderr);
        assert!(run.stderr.contains("was not changed"), "{}", run.stderr);
        assert_eq!(repo.read_bytes(&path), before, "{sed}");
        // The broken edit is not lost: it is kept where the message says.
        let copy = kept_copy(&run.stderr);
        let kept = std::fs::read_to_string(&copy).unwrap();
        assert_ne!(kept.as_bytes(), before.as_slice());
        std::fs::remove_file(copy).unwrap();
    }

    // The claim fields belong to claim and the commands that end a claim.
    repo.tasks(&["claim", &id, "--as", "alice"]).ok();
    let before = repo.read_bytes(&path);
    let run = edit(
        &repo,
        "sed -i -e 's/^claimed_by: alice/claimed_by: bob/'",
        &[&id],
    )
    .expect(1);
    assert!(
        run.stderr.contains("`claimed_by` changed"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.read_bytes(&path), before);

    // Under --json the error is a document on stdout.
    let run = edit(
        &repo,
        "sed -i -e 's/^status: in_progress/status: open/'",
        &[&id, "--json"],
    )
    .expect(1);
    let json = run.json();
    assert_eq!(json["error"]["code"], "invalid_edit");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tasks unclaim"),
        "{json}"
    );
    assert_eq!(repo.read_bytes(&path), before);
}

#[test]
fn an_edit_that_changes_nothing_leaves_the_file_alone() {
    let repo = Repo::new();
    let id = repo.new_task(&["Write the parser"]);
    let path = format!(".tasks/{id}.md");
    let before = repo.read_bytes(&path);
    let run = edit(&repo, "true", &[&id]).ok();
    assert!(run.stderr.contains("nothing changed"), "{}", run.stderr);
    assert_eq!(repo.read_bytes(&path), before);
    let json = edit(&repo, "true", &[&id, "--json"]).ok().json();
    assert_eq!(json["changed"], false);
    assert_eq!(json["task"]["id"], id.as_str());
    assert!(leftover_copies(&repo).is_empty());
}

#[test]
fn a_change_made_while_the_editor_was_open_is_a_conflict() {
    let repo = Repo::new();
    let id = repo.new_task(&["Write the parser"]);
    let path = format!(".tasks/{id}.md");
    // The editor changes its copy while another agent notes something on the real file. That
    // note goes through at once: no lock is held while the editor runs.
    let editor = script(
        &repo,
        "meanwhile.sh",
        &format!(
            "sed -i -e 's/^priority: 2$/priority: 0/' \"$1\"\n\
             \"$TASKS_BIN\" note {id} 'found meanwhile' --as bob || exit 42"
        ),
    );
    let run = edit(&repo, &editor, &[&id]).expect(3);
    assert!(
        run.stderr.contains("changed while you were editing"),
        "{}",
        run.stderr
    );
    let file = repo.task_file(&id);
    assert!(file.contains("found meanwhile"), "{file}");
    assert!(file.contains("priority: 2"), "{file}");
    let copy = kept_copy(&run.stderr);
    let kept = std::fs::read_to_string(&copy).unwrap();
    assert!(kept.contains("priority: 0"), "{kept}");
    assert!(!kept.contains("found meanwhile"));
    assert!(copy.starts_with(edits_dir(&repo)), "{}", copy.display());
    assert!(run.stderr.contains(&path), "{}", run.stderr);

    let json = edit(&repo, &editor, &[&id, "--json"]).expect(3).json();
    assert_eq!(json["error"]["code"], "changed_underneath");
}

#[test]
fn without_an_editor_edit_says_how_to_set_one() {
    let repo = Repo::new();
    let id = repo.new_task(&["Write the parser"]);
    let before = repo.read_bytes(&format!(".tasks/{id}.md"));
    let run = repo.tasks(&["edit", &id]).expect(1);
    assert!(
        run.stderr.contains("VISUAL") && run.stderr.contains("EDITOR"),
        "{}",
        run.stderr
    );
    // Blank counts as not set.
    let run = edit(&repo, "  ", &[&id]).expect(1);
    assert!(run.stderr.contains("no editor"), "{}", run.stderr);
    let json = edit(&repo, "", &[&id, "--json"]).expect(1).json();
    assert_eq!(json["error"]["code"], "no_editor");
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), before);
}

#[test]
fn an_editor_that_fails_saves_nothing() {
    let repo = Repo::new();
    let id = repo.new_task(&["Write the parser"]);
    let before = repo.read_bytes(&format!(".tasks/{id}.md"));
    let editor = script(
        &repo,
        "fails.sh",
        "sed -i -e 's/^priority: 2$/priority: 0/' \"$1\"; exit 3",
    );
    let run = edit(&repo, &editor, &[&id]).expect(1);
    assert!(run.stderr.contains("failed"), "{}", run.stderr);
    assert_eq!(repo.read_bytes(&format!(".tasks/{id}.md")), before);
    // The edit it made is kept, not lost.
    assert!(
        std::fs::read_to_string(kept_copy(&run.stderr))
            .unwrap()
            .contains("priority: 0")
    );
    let run = edit(&repo, "false", &[&id]).expect(1);
    assert!(!run.stderr.contains("kept in"), "{}", run.stderr);
}

#[test]
fn an_edit_that_cannot_take_the_lock_says_where_it_is_kept() {
    let repo = Repo::new();
    let id = repo.new_task(&["locked out"]);
    let before = repo.task_file(&id);
    // The store's lock, held by this test the way another writer would hold it.
    std::fs::create_dir_all(repo.state_dir()).unwrap();
    let held = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(repo.state_dir().join("lock"))
        .unwrap();
    held.lock().unwrap();
    let mut cmd = repo.command_in(&repo.root);
    cmd.env("EDITOR", "sed -i -e 's/^priority: 2$/priority: 1/'")
        .env("TASKS_NOW", NOW)
        .env("TASKS_LOCK_TIMEOUT", "0.3")
        .args(["edit", &id]);
    let run = Run::from_output(cmd.output().unwrap()).expect(5);
    drop(held);
    let copy = kept_copy(&run.stderr);
    assert!(copy.exists(), "{}", run.stderr);
    assert!(
        std::fs::read_to_string(&copy)
            .unwrap()
            .contains("priority: 1"),
        "the copy holds the edit"
    );
    assert_eq!(repo.task_file(&id), before, "nothing was saved");
}
