//! Hostile and broken input: ids that try to be paths or terminal escapes, symbolic links out
//! of the root, oversized and explosive YAML, a broken config, a `.tasks` that is a file.
//!
//! Each must get a clear error naming the file (or argument) and the problem, must be fast,
//! and must break nothing else: the good tasks beside it still list and claim.

use std::time::{Duration, Instant};

use crate::common::{Repo, Run};

/// A repository with two good tasks, G-1 and G-2, committed.
fn repo_with_good_tasks() -> Repo {
    let repo = Repo::new();
    repo.tasks(&["new", "Good one", "--id", "G-1", "-p", "3"])
        .ok();
    repo.tasks(&["new", "Good two", "--id", "G-2", "-p", "4"])
        .ok();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "good tasks"]);
    repo
}

/// Every file under `dir` (following nothing), with its bytes, sorted.
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.push((rel, target.display().to_string().into_bytes()));
            } else {
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The good tasks still work: listed (with the given warnings on stderr), and claimable.
#[track_caller]
fn assert_good_tasks_work(repo: &Repo) {
    let list = repo.tasks(&["list", "--json"]).ok();
    let ids: Vec<String> = list.json()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["G-1", "G-2"], "{}", list.stderr);
    let claimed = repo.tasks(&["claim", "--next", "--as", "checker"]).ok();
    assert_eq!(claimed.line(), "G-1");
    repo.tasks(&["unclaim", "G-1", "--as", "checker", "--reason", "check"])
        .ok();
}

/// Messages are for terminals: no raw control characters, and not a wall of text.
#[track_caller]
fn assert_printable(run: &Run) {
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "raw control characters in output: {text:?}"
        );
    }
    assert!(
        run.stderr.len() < 2000,
        "stderr is {} bytes long: {}",
        run.stderr.len(),
        &run.stderr[..300]
    );
}

fn hostile_ids() -> Vec<(&'static str, String)> {
    vec![
        ("slash", "a/b".into()),
        ("dot-dot", "..".into()),
        ("path up", "../escape".into()),
        ("absolute", "/tmp/escape".into()),
        ("leading dash", "-rf".into()),
        ("control character", "a\u{1}b".into()),
        ("terminal escape", "x\u{1b}[2Jy".into()),
        ("newline", "a\nid: b".into()),
        ("10 KB", "a".repeat(10 * 1024)),
    ]
}

#[test]
fn hostile_ids_on_the_command_line_are_refused_and_break_nothing() {
    let repo = repo_with_good_tasks();
    let before = tree(&repo.root.join(".tasks"));
    let outside_before = tree(repo.root.parent().unwrap());
    for (what, id) in hostile_ids() {
        let flag = format!("--id={id}");
        let run = repo.tasks(&["new", "Hostile", &flag]).expect(1);
        assert!(
            run.stderr.starts_with("Error: invalid id `"),
            "new --id ({what}): {}",
            run.stderr
        );
        assert_printable(&run);
        if what == "10 KB" {
            assert!(
                run.stderr
                    .contains("10240 characters long; the most is 128"),
                "{}",
                run.stderr
            );
        }
        let json = repo
            .tasks(&["new", "Hostile", &flag, "--json"])
            .expect(1)
            .json();
        assert_eq!(json["error"]["code"], "invalid_input", "{what}");

        // Every command that takes an id says what is wrong with it, and writes nothing.
        for args in [
            vec!["show", "--"],
            vec!["claim", "--as", "alice", "--"],
            vec!["note", "--as", "alice", "--"],
            vec!["set", "--as", "alice", "--"],
            vec!["heartbeat", "--as", "alice", "--"],
            vec!["unclaim", "--as", "alice", "--reason", "r", "--"],
        ] {
            let mut args = args.clone();
            args.push(&id);
            match args[0] {
                "note" => args.push("text"),
                "set" => args.push("priority=1"),
                _ => {}
            }
            let run = repo.tasks(&args).expect(1);
            assert!(
                run.stderr.starts_with("Error: invalid id `"),
                "{} ({what}): {}",
                args[0],
                run.stderr
            );
            assert_printable(&run);
        }
    }
    assert_eq!(tree(&repo.root.join(".tasks")), before, "nothing written");
    // Nothing appeared beside the repository either (`../escape.md`, a lease, a temp file).
    let outside_after = tree(repo.root.parent().unwrap());
    let new_outside: Vec<&String> = outside_after
        .iter()
        .map(|(p, _)| p)
        .filter(|p| !p.starts_with("repo/.git/") && !outside_before.iter().any(|(q, _)| q == *p))
        .collect();
    assert!(new_outside.is_empty(), "files appeared: {new_outside:?}");
    assert_good_tasks_work(&repo);
}

#[test]
fn hostile_ids_inside_files_are_reported_and_break_nothing() {
    let repo = repo_with_good_tasks();
    let cases: Vec<(String, String)> = hostile_ids()
        .into_iter()
        .enumerate()
        .map(|(n, (_, id))| {
            // YAML double quotes carry every one of them, control characters included.
            let quoted: String = id
                .chars()
                .map(|c| match c {
                    '\n' => "\\n".to_string(),
                    c if c.is_control() => format!("\\x{:02x}", c as u32),
                    '"' => "\\\"".to_string(),
                    c => c.to_string(),
                })
                .collect();
            let rel = format!(".tasks/hostile-{n}.md");
            let text = format!("---\nid: \"{quoted}\"\ntitle: hostile\npriority: 0\n---\nbody\n");
            repo.write(&rel, &text);
            (rel, text)
        })
        .collect();
    // Other values are echoed in messages too: a status that tries to clear the screen.
    let status = "---\nid: ESC-1\nstatus: \"\\e[2J\\e[31mdone\"\n---\n";
    repo.write(".tasks/ESC-1.md", status);
    let state_before = tree(&repo.state_dir());

    let list = repo.tasks(&["list"]).ok();
    assert_printable(&list);
    assert!(
        list.stderr
            .contains("warning: .tasks/ESC-1.md:3: unknown status `\\u{1b}[2J\\u{1b}[31mdone`"),
        "{}",
        list.stderr
    );
    for (rel, _) in &cases {
        let warning = list
            .stderr
            .lines()
            .find(|l| l.starts_with(&format!("warning: {rel}:2: invalid id `")))
            .unwrap_or_else(|| panic!("no warning for {rel}:\n{}", list.stderr));
        assert!(warning.ends_with("(skipped)"), "{warning}");
    }
    // The sweep flags every one as an invalid file.
    let sweep = repo.tasks(&["heartbeat", "--json"]).expect(7).json();
    let flagged = sweep.to_string();
    for (rel, _) in &cases {
        assert!(flagged.contains(&format!("{rel}:2: invalid id")), "{rel}");
    }
    assert_good_tasks_work(&repo);
    for (rel, text) in &cases {
        assert_eq!(repo.read(rel), *text, "{rel} was rewritten");
    }
    // Only the good task's claim left anything in the state folder: no lease for a bad id.
    let leases: Vec<String> = tree(&repo.state_dir())
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.starts_with("leases/"))
        .collect();
    assert!(
        leases.iter().all(|p| p == "leases/G-1.json")
            && state_before.iter().all(|(p, _)| !p.starts_with("leases/")),
        "{leases:?}"
    );
}

#[test]
fn symlinks_in_the_tasks_folder_are_reported_and_never_written_through() {
    let repo = repo_with_good_tasks();
    // A task file and a folder of task files outside the root.
    let outside = repo.root.parent().unwrap().join("outside");
    std::fs::create_dir_all(outside.join("more")).unwrap();
    let task = "---\nid: OUT-1\ntitle: outside\npriority: 0\n---\nnot yours\n";
    std::fs::write(outside.join("out.md"), task).unwrap();
    std::fs::write(
        outside.join("more").join("OUT-2.md"),
        task.replace("OUT-1", "OUT-2"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("out.md"), repo.path(".tasks/OUT-1.md")).unwrap();
    std::os::unix::fs::symlink(outside.join("more"), repo.path(".tasks/more")).unwrap();
    let outside_before = tree(&outside);

    let list = repo.tasks(&["list"]).ok();
    for rel in [".tasks/OUT-1.md", ".tasks/more"] {
        let warning = list
            .stderr
            .lines()
            .find(|l| l.starts_with(&format!("warning: {rel}:1: a symbolic link to ")))
            .unwrap_or_else(|| panic!("no warning for {rel}:\n{}", list.stderr));
        assert!(
            warning.contains(&outside.display().to_string()),
            "{warning}"
        );
    }
    let sweep = repo.tasks(&["heartbeat", "--json"]).expect(7).json();
    let flagged = sweep.to_string();
    assert!(
        flagged.contains(".tasks/OUT-1.md:1: a symbolic link"),
        "{flagged}"
    );
    assert!(
        flagged.contains(".tasks/more:1: a symbolic link"),
        "{flagged}"
    );

    // Asked for by id, they are not found as tasks, and nothing is written through them.
    for args in [
        vec!["claim", "OUT-1", "--as", "alice"],
        vec!["set", "OUT-1", "priority=1", "--as", "alice"],
        vec!["note", "OUT-1", "x", "--as", "alice"],
        vec!["claim", "OUT-2", "--as", "alice"],
    ] {
        repo.tasks(&args).expect(1);
    }
    let new = repo.tasks(&["new", "Same name", "--id", "OUT-1"]).expect(3);
    assert!(new.stderr.contains("already used"), "{}", new.stderr);
    repo.tasks(&["heartbeat", "--fix", "--as", "alice"])
        .expect(7);
    assert_good_tasks_work(&repo);
    assert_eq!(tree(&outside), outside_before, "written through a link");
    assert!(
        std::fs::symlink_metadata(repo.path(".tasks/OUT-1.md"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link itself is left alone"
    );
}

#[test]
fn a_frontmatter_over_64_kib_is_refused() {
    let repo = repo_with_good_tasks();
    let line = format!("k: {}\n", "x".repeat(1020));
    let big = format!(
        "---\nid: BIG-1\ntitle: big\npriority: 0\n{}---\nbody\n",
        line.repeat(64)
    );
    repo.write(".tasks/BIG-1.md", &big);
    // Never closed, with no line break at all: reading stops at the limit.
    let endless = format!("---\nid: BIG-2\n{}", "x".repeat(8 << 20));
    repo.write(".tasks/BIG-2.md", &endless);

    let started = Instant::now();
    let list = repo.tasks(&["list"]).ok();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        list.stderr
            .contains("warning: .tasks/BIG-1.md:68: the frontmatter is larger than 64 KiB"),
        "{}",
        list.stderr
    );
    assert!(
        list.stderr
            .contains("warning: .tasks/BIG-2.md:3: the frontmatter is larger than 64 KiB"),
        "{}",
        list.stderr
    );
    let show = repo.tasks(&["show", "BIG-1"]).expect(1);
    assert!(
        show.stderr
            .contains(".tasks/BIG-1.md:68: the frontmatter is larger"),
        "{}",
        show.stderr
    );
    assert_good_tasks_work(&repo);
    assert_eq!(repo.read(".tasks/BIG-1.md"), big);
}

/// "Billion laughs": ten anchors, each repeating the one before ten times.
fn alias_bomb(id: &str) -> String {
    let mut text = format!("---\nid: {id}\ntitle: bomb\npriority: 0\n");
    text.push_str("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("---\nbody\n");
    text
}

#[test]
fn yaml_alias_bombs_are_rejected_fast() {
    let repo = repo_with_good_tasks();
    repo.write(".tasks/BOMB-1.md", alias_bomb("BOMB-1"));
    // The same, with the expansion hidden in a key the tool reads.
    let nested = alias_bomb("BOMB-2").replace("a9: &a9", "labels: &a9");
    repo.write(".tasks/BOMB-2.md", &nested);
    for args in [
        vec!["list"],
        vec!["show", "BOMB-1"],
        vec!["heartbeat"],
        vec!["claim", "--next", "--as", "x"],
    ] {
        let started = Instant::now();
        let run = repo.tasks(&args);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
        // The sweep reports on stdout, the others on stderr.
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(
            said.contains(".tasks/BOMB-1.md:2: invalid YAML: repetition limit exceeded"),
            "{args:?}: {said}"
        );
        if args[0] != "show" {
            assert!(
                said.contains(".tasks/BOMB-2.md:2: invalid YAML: repetition limit exceeded"),
                "{args:?}: {said}"
            );
        }
        assert_printable(&run);
    }
    repo.tasks(&["unclaim", "G-1", "--as", "x", "--reason", "r"])
        .ok();
    assert_good_tasks_work(&repo);
}

#[test]
fn duplicate_keys_name_the_repeated_line() {
    let repo = repo_with_good_tasks();
    let text = "---\nid: DUP-1\ntitle: first\npriority: 0\n# again:\ntitle: second\n---\n";
    repo.write(".tasks/DUP-1.md", text);
    let list = repo.tasks(&["list"]).ok();
    assert!(
        list.stderr.contains(
            "warning: .tasks/DUP-1.md:6: invalid YAML: duplicate key `title` (first on line 3)"
        ),
        "{}",
        list.stderr
    );
    let show = repo.tasks(&["claim", "DUP-1", "--as", "alice"]).expect(1);
    assert!(show.stderr.contains(".tasks/DUP-1.md:6"), "{}", show.stderr);
    assert_good_tasks_work(&repo);
    assert_eq!(repo.read(".tasks/DUP-1.md"), text);
}

#[test]
fn tabs_in_indentation_are_reported_and_tabs_between_are_fine() {
    let repo = repo_with_good_tasks();
    let indented = "---\nid: TAB-1\npriority: 0\nlabels:\n\t- a\n---\n";
    repo.write(".tasks/TAB-1.md", indented);
    // A tab after the colon is ordinary YAML whitespace.
    repo.write(
        ".tasks/TAB-2.md",
        "---\nid: TAB-2\ntitle:\tspaced\npriority: 4\n---\n",
    );
    let list = repo.tasks(&["list", "--json"]).ok();
    assert!(
        list.stderr
            .contains("warning: .tasks/TAB-1.md:5: invalid YAML: a tab in the indentation"),
        "{}",
        list.stderr
    );
    let tasks = list.json()["tasks"].clone();
    let tab2 = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "TAB-2")
        .expect("TAB-2 reads");
    assert_eq!(tab2["title"], "spaced");
    repo.tasks(&["set", "TAB-2", "priority=3"]).ok();
    assert_eq!(
        repo.read(".tasks/TAB-2.md"),
        "---\nid: TAB-2\ntitle:\tspaced\npriority: 3\nupdated_at: ".to_string()
            + repo.show("TAB-2")["updated_at"].as_str().unwrap()
            + "\n---\n"
    );
    assert_eq!(repo.read(".tasks/TAB-1.md"), indented);
}

#[test]
fn deep_nesting_is_rejected_fast() {
    let repo = repo_with_good_tasks();
    // Flow collections: the YAML scanner is quadratic in their depth.
    let flow = 10_000;
    repo.write(
        ".tasks/DEEP-1.md",
        format!(
            "---\nid: DEEP-1\npriority: 0\nx: {}\n---\n",
            "[a, ".repeat(flow) + &"]".repeat(flow)
        ),
    );
    let n = 30_000;
    // Block sequences on one line.
    repo.write(
        ".tasks/DEEP-2.md",
        format!(
            "---\nid: DEEP-2\npriority: 0\nx:\n{}a\n---\n",
            "- ".repeat(n)
        ),
    );
    let started = Instant::now();
    let list = repo.tasks(&["list"]).ok();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "list took {took:?}");
    assert!(
        list.stderr.contains(
            "warning: .tasks/DEEP-1.md:4: invalid YAML: lists or mappings nested more than 64 deep"
        ),
        "{}",
        list.stderr
    );
    assert!(
        list.stderr
            .contains("warning: .tasks/DEEP-2.md:5: invalid YAML: recursion limit exceeded"),
        "{}",
        list.stderr
    );
    // `set` parses its value as YAML too.
    let value = format!("x={}", "[".repeat(n));
    let started = Instant::now();
    repo.tasks(&["set", "G-2", &value]).ok();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        repo.show("G-2")["x"].as_str().map(str::len),
        Some(n),
        "kept as text"
    );
    assert_good_tasks_work(&repo);
}

#[test]
fn a_config_with_a_wrong_type_names_the_key_and_its_line() {
    let repo = repo_with_good_tasks();
    let good = repo.read(".tasks/config.yaml");
    for (text, at, says) in [
        (
            "# settings\nlease: 1h\nmax_attempts: many\n",
            ".tasks/config.yaml:3: max_attempts: invalid type",
            "expected u32",
        ),
        (
            "roles:\n  backend: [a]\n  frontend: alice\n",
            ".tasks/config.yaml:3: roles.frontend: invalid type",
            "expected a sequence",
        ),
        (
            "sla:\n  pickup: 2h\n  review: soon\n",
            ".tasks/config.yaml:3: sla.review: invalid duration `soon`",
            "2h30m",
        ),
        (
            "routing: { strict: maybe }\n",
            ".tasks/config.yaml:1: routing.strict: invalid type",
            "boolean",
        ),
        (
            "lease: 1h\nroles:\n\tbackend: [a]\n",
            ".tasks/config.yaml:3: a tab in the indentation",
            "spaces only",
        ),
        (
            "lease: 1h\nbogus: 1\n",
            ".tasks/config.yaml:2: unknown field `bogus`",
            "expected one of",
        ),
        (
            &format!("roles: {}\n", "[".repeat(20_000)),
            ".tasks/config.yaml:1: lists or mappings nested more than 64 deep",
            "",
        ),
    ] {
        repo.write(".tasks/config.yaml", text);
        let started = Instant::now();
        for args in [vec!["list"], vec!["claim", "--next", "--as", "a"]] {
            let run = repo.tasks(&args).expect(1);
            assert!(
                run.stderr.starts_with(&format!("Error: {at}")) && run.stderr.contains(says),
                "{text:?}: {}",
                run.stderr
            );
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(status_on_disk(&repo, "G-1"), "open", "nothing claimed");
    }
    repo.write(".tasks/config.yaml", good);
    assert_good_tasks_work(&repo);
}

#[test]
fn a_tasks_file_instead_of_a_folder_is_named() {
    let repo = Repo::bare_git();
    repo.write(".tasks", "not a folder\n");
    for args in [
        vec!["list"],
        vec!["new", "x"],
        vec!["claim", "--next", "--as", "a"],
        vec!["heartbeat"],
        vec!["init"],
    ] {
        let run = repo.tasks(&args).expect(1);
        assert!(
            run.stderr.starts_with(&format!(
                "Error: {} is a file, not a folder",
                repo.path(".tasks").display()
            )),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("move that file aside"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(repo.read(".tasks"), "not a folder\n");
}

/// A task's status read straight from its file, without the binary (whose config is broken).
fn status_on_disk(repo: &Repo, id: &str) -> String {
    let text = repo.read(&format!(".tasks/{id}.md"));
    let task = tasks::task::Task::parse(&tasks::task::split::split(&text).unwrap()).unwrap();
    task.status.as_str().to_string()
}
