//! The transition log: one JSON line per transition in `<state>/events.jsonl`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub time: String,
    pub actor: String,
    pub task: String,
    pub from: Option<String>,
    pub to: String,
    pub outcome: Option<String>,
    /// A repair by `heartbeat --fix` that is not a transition (`cleared_claim_fields`,
    /// `removed_temp_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The file a repair was about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Appends one event. Written whole in one `write` call under the state lock, and synced at
/// the end of the command, once the lock is let go.
pub fn append(state_dir: &Path, event: &Event) -> Result<()> {
    let path = state_dir.join("events.jsonl");
    let mut line = serde_json::to_vec(event)?;
    line.push(b'\n');
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.write_all(&line)
        .with_context(|| format!("cannot append to {}", path.display()))?;
    super::atomic::sync_data_later(&path);
    Ok(())
}
