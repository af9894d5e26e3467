//! Integration tests: the real `tasks` binary in real temporary git repositories.

mod common;

mod bad_files;
mod concurrency;
mod done;
mod edit;
mod graph;
mod guide;
mod hostile;
mod identity;
mod json;
mod lifecycle;
mod minimal_diff;
mod props;
mod reliability;
mod remote;
mod shell;
mod sweep;
mod worktrees;
