//! Integration tests: the real `tasks` binary in real temporary git repositories.

mod common;

mod bad_files;
mod concurrency;
mod done;
mod edit;
mod graph;
mod guide;
mod identity;
mod json;
mod lifecycle;
mod minimal_diff;
mod props;
mod remote;
mod shell;
mod sweep;
mod worktrees;
