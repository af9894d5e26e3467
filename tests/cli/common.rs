//! A hermetic test environment: a temporary git repository with `.tasks/`, a cleared
//! environment, a temp HOME, and helpers for linked worktrees and running the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tasks"))
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with everything the command printed unless it exited with `code`.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        self.expect(0)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    pub fn line(&self) -> String {
        self.stdout.trim().to_string()
    }
}

pub struct Repo {
    _tmp: TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
}

impl Repo {
    /// A git repository with one commit and `tasks init` done.
    pub fn new() -> Repo {
        let repo = Repo::bare_git();
        repo.tasks(&["init"]).ok();
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-qm", "init tasks"]);
        repo
    }

    /// A git repository with one commit and no `.tasks/`.
    pub fn bare_git() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let root = std::fs::canonicalize(root).unwrap();
        let repo = Repo {
            _tmp: tmp,
            root,
            home,
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.email", "tester@example.com"]);
        repo.git(&["config", "user.name", "Tester"]);
        std::fs::write(repo.root.join("README"), "test repo\n").unwrap();
        repo.git(&["add", "README"]);
        repo.git(&["commit", "-qm", "first"]);
        repo
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env("TASKS_LOCK_TIMEOUT", "30");
    }

    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        self.env(&mut cmd);
        let out = cmd.args(args).current_dir(dir).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.root, args)
    }

    /// Runs git in `dir` with extra environment variables (e.g. `GIT_COMMITTER_DATE`).
    pub fn git_env_in(&self, dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> String {
        let mut cmd = Command::new("git");
        self.env(&mut cmd);
        cmd.envs(vars.iter().copied());
        let out = cmd.args(args).current_dir(dir).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A `tasks` command ready to run in `dir`, with the hermetic environment.
    pub fn command_in(&self, dir: &Path) -> Command {
        let mut cmd = Command::new(bin());
        self.env(&mut cmd);
        cmd.current_dir(dir);
        cmd
    }

    pub fn tasks_in(&self, dir: &Path, args: &[&str]) -> Run {
        Run::from_output(self.command_in(dir).args(args).output().unwrap())
    }

    pub fn tasks(&self, args: &[&str]) -> Run {
        self.tasks_in(&self.root, args)
    }

    /// Runs with standard input fed from `input`.
    pub fn tasks_stdin(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let mut child = self
            .command_in(&self.root)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        Run::from_output(child.wait_with_output().unwrap())
    }

    /// Creates a task and returns its id.
    pub fn new_task(&self, args: &[&str]) -> String {
        let mut full = vec!["new"];
        full.extend_from_slice(args);
        self.tasks(&full).ok().line()
    }

    /// Adds a linked worktree on a new branch, beside the main one.
    pub fn worktree(&self, name: &str) -> PathBuf {
        let path = self.root.parent().unwrap().join(name);
        self.git(&["worktree", "add", "-q", "-b", name, path.to_str().unwrap()]);
        std::fs::canonicalize(path).unwrap()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    pub fn read_bytes(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap()
    }

    /// The task file of `id` (as created by `tasks new`).
    pub fn task_file(&self, id: &str) -> String {
        self.read(&format!(".tasks/{id}.md"))
    }

    /// The task's frontmatter as JSON via `tasks show --json`.
    pub fn show(&self, id: &str) -> serde_json::Value {
        self.tasks(&["show", id, "--json"]).ok().json()["task"].clone()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".git").join("tasks")
    }
}
