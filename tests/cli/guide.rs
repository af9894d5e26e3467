//! `tasks guide`: short, and never out of step with the command line or the exit codes.

use clap::CommandFactory;
use tasks::error::Kind;

use crate::common::Repo;

fn guide(repo: &Repo) -> String {
    repo.tasks(&["guide"]).ok().stdout
}

#[test]
fn the_guide_is_short() {
    let repo = Repo::new();
    let text = guide(&repo);
    assert!(text.len() < 4_500, "{} bytes", text.len());
    let words = text.split_whitespace().count();
    assert!(words < 900, "{words} words");
    for topic in [
        "TASKS_AGENT",
        "--as",
        "tasks ready",
        "tasks claim",
        "tasks start",
        "tasks heartbeat ID",
        "tasks note",
        "tasks done",
        "tasks block",
        "tasks fail",
        "--json",
        "Exit codes",
    ] {
        assert!(text.contains(topic), "the guide does not mention {topic}");
    }
}

#[test]
fn the_snippet_is_two_lines_that_send_agents_to_the_guide() {
    let repo = Repo::new();
    let snippet = repo.tasks(&["guide", "--snippet"]).ok().stdout;
    assert_eq!(snippet.lines().count(), 2, "{snippet}");
    assert!(snippet.contains("`tasks guide`"), "{snippet}");
    let json = repo.tasks(&["guide", "--snippet", "--json"]).ok().json();
    assert_eq!(json["snippet"], snippet.as_str());
    let json = repo.tasks(&["guide", "--json"]).ok().json();
    assert_eq!(json["guide"], guide(&repo).as_str());
}

/// Every `tasks <subcommand …> [--flag …]` in `text`: the words of each mention, up to where
/// the command ends (a run of two spaces, a backtick, a closing parenthesis, a line end).
fn mentions(text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("tasks ") {
            let before = rest[..at].chars().last();
            let after = &rest[at + "tasks ".len()..];
            rest = after;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '/') {
                continue;
            }
            let end = [after.find("  "), after.find('`'), after.find(')')]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(after.len());
            let words = shell_words(&after[..end]);
            let first = words.first().map(String::as_str).unwrap_or_default();
            let is_word = first.starts_with("--")
                || (!first.is_empty() && first.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            if is_word {
                found.push(words);
            }
        }
    }
    found
}

/// Words as a shell splits them, for quotes only.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_default().push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

/// Checks one mention against the command line: the subcommand path exists, and so does every
/// long flag on the command it reaches (its own or a global one).
fn check(root: &clap::Command, words: &[String]) -> Result<(), String> {
    let mut cmd = root;
    let mut path = vec!["tasks".to_string()];
    let mut words = words.iter().peekable();
    while let Some(word) = words.peek() {
        match cmd.find_subcommand(word.as_str()) {
            Some(sub) => {
                path.push(word.to_string());
                cmd = sub;
                words.next();
            }
            None => break,
        }
    }
    if path.len() == 1 && words.peek().is_some_and(|w| !w.starts_with('-')) {
        return Err(format!(
            "`tasks {}`: there is no such subcommand",
            words.peek().unwrap()
        ));
    }
    for word in words.filter(|w| w.starts_with("--")) {
        let flag = word.trim_start_matches("--").split('=').next().unwrap();
        if !cmd.get_arguments().any(|a| a.get_long() == Some(flag)) {
            return Err(format!("`{}` has no flag --{flag}", path.join(" ")));
        }
    }
    Ok(())
}

#[test]
fn every_command_and_flag_in_the_guide_exists() {
    let repo = Repo::new();
    let mut root = tasks::cli::Cli::command();
    root.build();
    let text = format!(
        "{}\n{}",
        guide(&repo),
        repo.tasks(&["guide", "--snippet"]).ok().stdout
    );
    let found = mentions(&text);
    assert!(found.len() >= 15, "too few mentions found: {found:?}");
    let problems: Vec<String> = found
        .iter()
        .filter_map(|words| check(&root, words).err())
        .collect();
    assert!(
        problems.is_empty(),
        "the guide is out of step: {problems:#?}"
    );

    // The check itself catches what it is for.
    assert!(check(&root, &shell_words("claim --nxt")).is_err());
    assert!(check(&root, &shell_words("finish T-1")).is_err());
    assert!(check(&root, &shell_words("identities fix --dry-run --json")).is_ok());
    assert_eq!(
        mentions("run `tasks guide` and then tasks claim --next  (x)").len(),
        2
    );
}

/// What the guide must say about each exit code. The match is exhaustive: a new kind of
/// error does not compile until someone decides what the guide says about it.
fn keyword(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Failure => Some("error"),
        Kind::Usage => Some("usage"),
        Kind::Conflict => Some("conflict"),
        Kind::NothingReady => Some("nothing ready"),
        Kind::LockTimeout => Some("lock timeout"),
        Kind::ChecksFailed => Some("done checks failed"),
        Kind::Signals => Some("heartbeat found problems"),
        // `exec` passes on its worker's status; the guide does not cover exec.
        Kind::Worker(_) => None,
    }
}

#[test]
fn the_exit_codes_in_the_guide_are_the_real_ones() {
    let repo = Repo::new();
    let text = guide(&repo);
    let (_, list) = text
        .split_once("Exit codes:")
        .expect("an `Exit codes:` paragraph");
    let list = list.split("\n\n").next().unwrap().replace('\n', " ");
    // "0 ok, 1 error, 2 usage, 3 conflict (…), …": code → what it says.
    let mut listed: Vec<(u8, String)> = Vec::new();
    for item in list.split(", ") {
        let item = item.trim().trim_end_matches('.');
        if let Some((code, meaning)) = item.split_once(' ')
            && let Ok(code) = code.parse::<u8>()
        {
            listed.push((code, meaning.to_string()));
        }
    }
    let codes: Vec<u8> = listed.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 7], "{list}");
    assert!(listed[0].1.starts_with("ok"), "{list}");
    for kind in [
        Kind::Failure,
        Kind::Usage,
        Kind::Conflict,
        Kind::NothingReady,
        Kind::LockTimeout,
        Kind::ChecksFailed,
        Kind::Signals,
        Kind::Worker(9),
    ] {
        let Some(word) = keyword(kind) else { continue };
        let code = kind.exit_code();
        let said = listed
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, m)| m.as_str());
        assert!(
            said.is_some_and(|m| m.starts_with(word)),
            "exit {code} ({kind:?}) should read `{word}`, the guide says {said:?}"
        );
    }
}
