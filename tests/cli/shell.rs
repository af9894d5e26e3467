//! Shell integration: completion scripts, dynamic completion of task ids, man pages.

use std::path::Path;

use clap::CommandFactory;

use crate::common::{Repo, Run, bin};

const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

/// Asks the binary for completions the way a shell's script does: `TASKS_COMPLETE=<shell>`
/// and the words of the line after `--`, the last one being the word under the cursor.
fn complete(repo: &Repo, dir: &Path, shell: &str, line: &[&str]) -> Run {
    let mut cmd = repo.command_in(dir);
    cmd.env("TASKS_COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", (line.len() - 1).to_string())
        .arg("--")
        .args(line);
    Run::from_output(cmd.output().unwrap())
}

/// The values offered in a completion answer, without their descriptions, and without the
/// flags that are offered beside them when the word under the cursor is empty.
fn candidates(run: &Run) -> Vec<String> {
    run.stdout
        .split(['\n', '\u{b}'])
        .filter(|l| !l.is_empty())
        .map(|l| l.split(['\t', ':']).next().unwrap().to_string())
        .filter(|c| !c.starts_with('-'))
        .collect()
}

#[test]
fn every_shell_gets_a_script_that_asks_the_binary() {
    let repo = Repo::new();
    for shell in SHELLS {
        let run = repo.tasks(&["completions", shell]).ok();
        assert!(run.stdout.len() > 100, "{shell}:\n{}", run.stdout);
        assert!(
            run.stdout.contains("TASKS_COMPLETE"),
            "{shell}:\n{}",
            run.stdout
        );
        // Started by path, the binary names its own absolute path for the script to call.
        assert!(
            run.stdout.contains(bin().to_str().unwrap()),
            "{shell}:\n{}",
            run.stdout
        );
        let json = repo.tasks(&["completions", shell, "--json"]).ok().json();
        assert_eq!(json["shell"], shell);
        assert_eq!(json["script"], run.stdout.as_str());
    }
    let bad = repo.tasks(&["completions", "tcsh"]).expect(2);
    assert!(bad.stderr.contains("bash"), "{}", bad.stderr);
}

#[test]
fn every_shell_completes_subcommands_flags_and_the_ids_in_the_files() {
    let repo = Repo::new();
    let first = repo.new_task(&["Write the parser"]);
    repo.tasks(&["new", "Use the parser", "--id", "T-use"]).ok();
    for shell in SHELLS {
        let subcommands = candidates(&complete(&repo, &repo.root, shell, &["tasks", ""]).ok());
        for name in ["claim", "heartbeat", "identities", "edit", "guide", "man"] {
            assert!(
                subcommands.iter().any(|c| c == name),
                "{shell}: no {name} in {subcommands:?}"
            );
        }
        let nested = candidates(&complete(&repo, &repo.root, shell, &["tasks", "dep", ""]).ok());
        assert!(nested.contains(&"tree".to_string()), "{shell}: {nested:?}");
        let flags = complete(&repo, &repo.root, shell, &["tasks", "claim", "--n"]).ok();
        assert!(flags.stdout.contains("--next"), "{shell}: {}", flags.stdout);

        let ids = complete(&repo, &repo.root, shell, &["tasks", "show", "T-"]).ok();
        assert_eq!(
            candidates(&ids),
            {
                let mut want = vec![first.clone(), "T-use".to_string()];
                want.sort();
                want
            },
            "{shell}:\n{}",
            ids.stdout
        );
        if matches!(shell, "zsh" | "fish" | "powershell") {
            assert!(
                ids.stdout.contains("Write the parser"),
                "{shell}: {}",
                ids.stdout
            );
        }
        assert_eq!(ids.stderr, "", "{shell}");
    }
    // The ids are read when asked: a task made a moment ago is there.
    repo.tasks(&["new", "Fresh", "--id", "T-fresh"]).ok();
    let ids = candidates(&complete(&repo, &repo.root, "bash", &["tasks", "claim", "T-f"]).ok());
    // The first task's id is random, and may start with `T-f` too.
    let mut want = vec!["T-fresh".to_string()];
    if first.starts_with("T-f") {
        want.push(first.clone());
        want.sort();
    }
    assert_eq!(ids, want);
}

#[test]
fn ids_for_lifecycle_commands_leave_out_finished_tasks_unless_nothing_else_matches() {
    let repo = Repo::new();
    repo.tasks(&["new", "Open one", "--id", "T-open"]).ok();
    repo.tasks(&["new", "Done one", "--id", "T-done"]).ok();
    repo.tasks(&[
        "cancel",
        "T-done",
        "--reason",
        "not needed",
        "--as",
        "alice",
    ])
    .ok();
    let claim = candidates(&complete(&repo, &repo.root, "bash", &["tasks", "claim", ""]).ok());
    assert_eq!(claim, ["T-open"]);
    let only = candidates(&complete(&repo, &repo.root, "bash", &["tasks", "claim", "T-d"]).ok());
    assert_eq!(only, ["T-done"]);
    let reopen = candidates(&complete(&repo, &repo.root, "bash", &["tasks", "reopen", ""]).ok());
    assert_eq!(reopen, ["T-done", "T-open"]);
}

#[test]
fn statuses_complete_where_a_status_is_taken() {
    let repo = Repo::new();
    let run = complete(
        &repo,
        &repo.root,
        "bash",
        &["tasks", "list", "--status", "in"],
    )
    .ok();
    assert_eq!(candidates(&run), ["in_progress", "in_review"]);
    let listed = complete(
        &repo,
        &repo.root,
        "bash",
        &["tasks", "list", "-s", "open,b"],
    )
    .ok();
    assert_eq!(candidates(&listed), ["open,blocked"]);
}

#[test]
fn completion_finds_the_tasks_through_dir_and_c_on_the_line() {
    let repo = Repo::new();
    repo.tasks(&["new", "Far away", "--id", "T-far"]).ok();
    let elsewhere = repo.home.clone();
    let root = repo.root.to_str().unwrap();
    for line in [
        vec!["tasks", "-C", root, "show", "T"],
        vec!["tasks", "show", "--dir", root, "T"],
    ] {
        let run = complete(&repo, &elsewhere, "bash", &line).ok();
        assert_eq!(candidates(&run), ["T-far"], "{line:?}");
    }
}

#[test]
fn completion_without_tasks_offers_no_ids_and_says_nothing() {
    let repo = Repo::new();
    let quiet = |run: Run| {
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
        assert!(candidates(&run).is_empty(), "{run:?}");
    };
    // Outside any repository.
    quiet(complete(&repo, &repo.home, "bash", &["tasks", "show", ""]));
    quiet(complete(&repo, &repo.home, "zsh", &["tasks", "claim", "T"]));
    // A repository whose config is broken: every ordinary command fails, completion is quiet.
    repo.tasks(&["new", "Hidden", "--id", "T-hidden"]).ok();
    repo.write(".tasks/config.yaml", "no_such_key: 1\n");
    repo.tasks(&["list"]).expect(1);
    quiet(complete(&repo, &repo.root, "bash", &["tasks", "claim", ""]));
    // A --dir that does not exist.
    quiet(complete(
        &repo,
        &repo.root,
        "fish",
        &["tasks", "--dir", "/nowhere", "show", ""],
    ));
    // Subcommands still complete there.
    let subs = candidates(&complete(&repo, &repo.root, "bash", &["tasks", "cla"]).ok());
    assert_eq!(subs, ["claim"]);
}

#[test]
fn bash_completes_task_ids_through_the_script_it_sourced() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("bash is not installed; skipped");
        return;
    }
    let repo = Repo::new();
    let id = repo.new_task(&["Write the parser"]);
    repo.tasks(&["new", "Other", "--id", "X-1"]).ok();
    let script = repo.home.join("tasks.bash");
    std::fs::write(&script, repo.tasks(&["completions", "bash"]).ok().stdout).unwrap();
    // What bash does on Tab: fill COMP_WORDS and COMP_CWORD, call the registered function with
    // the command, the current word and the previous one, and read COMPREPLY.
    let tab = |words: &[&str]| {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let current = words.len() - 1;
        let program = format!(
            "source '{}' || exit 9\n\
             complete -p tasks >/dev/null || exit 8\n\
             COMP_WORDS=({})\nCOMP_CWORD={current}\nCOMP_TYPE=9\n\
             _clap_complete_tasks tasks '{}' '{}'\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            quoted.join(" "),
            words[current],
            words[current - 1],
        );
        let mut bash = std::process::Command::new("bash");
        bash.arg("-c").arg(program).current_dir(&repo.root);
        bash.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &repo.home)
            .env("GIT_CONFIG_NOSYSTEM", "1");
        let run = Run::from_output(bash.output().unwrap()).ok();
        run.stdout
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('-'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(tab(&["tasks", "show", "T-"]), vec![id.clone()]);
    let mut all = vec![id.clone(), "X-1".to_string()];
    all.sort();
    assert_eq!(tab(&["tasks", "done", ""]), all);
    assert_eq!(tab(&["tasks", "dep", "add", &id, "X"]), ["X-1"]);
    assert_eq!(tab(&["tasks", "heartb"]), ["heartbeat"]);
    assert_eq!(tab(&["tasks", "list", "--status", "in_r"]), ["in_review"]);
}

/// `tasks-claim.1`, `tasks-identities-fix.1`: one name per command, from the clap definition.
fn page_names(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
    out.push(format!("{prefix}.1"));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        page_names(sub, &format!("{prefix}-{}", sub.get_name()), out);
    }
}

#[test]
fn man_writes_a_page_for_every_command_and_subcommand() {
    let repo = Repo::new();
    let out = repo.home.join("man/man1");
    let run = repo.tasks(&["man", "--dir", out.to_str().unwrap()]).ok();
    let mut want = Vec::new();
    page_names(&tasks::cli::Cli::command(), "tasks", &mut want);
    for name in [
        "tasks-claim.1",
        "tasks-identities-fix.1",
        "tasks-dep-tree.1",
        "tasks-man.1",
    ] {
        assert!(want.contains(&name.to_string()), "{want:?}");
    }
    let mut have: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    have.sort();
    want.sort();
    assert_eq!(have, want);
    assert_eq!(run.stdout.lines().count(), want.len());
    let claim = std::fs::read_to_string(out.join("tasks-claim.1")).unwrap();
    assert!(
        claim.starts_with(".ie") || claim.contains(".TH tasks-claim 1"),
        "{claim}"
    );
    assert!(claim.contains(".TH tasks-claim 1"), "{claim}");
    assert!(
        claim.contains("tasks claim T\\-3b9x"),
        "examples are in the page:\n{claim}"
    );
    let fix = std::fs::read_to_string(out.join("tasks-identities-fix.1")).unwrap();
    assert!(fix.contains("tasks identities fix"), "{fix}");

    let json = repo
        .tasks(&["man", "--dir", out.to_str().unwrap(), "--json"])
        .ok()
        .json();
    assert_eq!(json["pages"].as_array().unwrap().len(), want.len());
}

#[test]
fn man_without_dir_prints_the_top_page_and_writes_nothing() {
    let repo = Repo::new();
    let before = std::fs::read_dir(repo.path(".tasks")).unwrap().count();
    // TASKS_DIR names where the tasks are; it is not where man pages go.
    let run = Run::from_output(
        repo.command_in(&repo.root)
            .env("TASKS_DIR", &repo.root)
            .args(["man"])
            .output()
            .unwrap(),
    )
    .ok();
    assert!(run.stdout.contains(".TH tasks 1"), "{}", run.stdout);
    assert!(run.stdout.contains("claim"), "{}", run.stdout);
    assert_eq!(
        std::fs::read_dir(repo.path(".tasks")).unwrap().count(),
        before
    );
    assert!(!repo.root.join("tasks.1").exists());
}

#[test]
fn the_global_dir_before_man_is_not_where_pages_go() {
    let repo = Repo::new();
    let root = repo.root.to_str().unwrap().to_string();
    for args in [
        vec!["--dir", root.as_str(), "man"],
        vec!["--as", "man", "--dir", root.as_str(), "man"],
    ] {
        let run = repo.tasks(&args).ok();
        assert!(
            run.stdout.contains(".TH tasks 1"),
            "{args:?}: {}",
            run.stdout
        );
        assert!(!repo.root.join("tasks.1").exists(), "{args:?} wrote pages");
    }
    let dir_eq = format!("--dir={root}");
    let run = repo.tasks(&[dir_eq.as_str(), "man"]).ok();
    assert!(run.stdout.contains(".TH tasks 1"));
    assert!(!repo.root.join("tasks.1").exists());
}
