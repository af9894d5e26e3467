//! Leases: the volatile side of a claim (expiry, pid, host), kept out of the tracked file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::atomic;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lease {
    pub task: String,
    pub holder: String,
    pub acquired_at: String,
    pub renewed_at: String,
    pub expires_at: String,
    pub pid: Option<u32>,
    pub host: Option<String>,
}

impl Lease {
    pub fn expires(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.expires_at)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires().is_some_and(|t| t > now)
    }
}

pub fn path(state_dir: &Path, id: &str) -> PathBuf {
    state_dir.join("leases").join(format!("{id}.json"))
}

/// The ids that have a `<id>.json` file in a folder, listed once for a sweep over many tasks:
/// most claimed tasks have no lease (or no exec record), and looking for each file in turn
/// would cost an open per task.
pub struct Listing(Option<std::collections::HashSet<String>>);

impl Listing {
    pub fn of(dir: &Path) -> Listing {
        let Ok(entries) = std::fs::read_dir(dir) else {
            // No folder: no files. Any other failure: list nothing, look for each file.
            return Listing((!dir.exists()).then(std::collections::HashSet::new));
        };
        let mut ids = std::collections::HashSet::new();
        for entry in entries {
            let Ok(entry) = entry else {
                return Listing(None);
            };
            if let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
            {
                ids.insert(id.to_string());
            }
        }
        Listing(Some(ids))
    }

    /// The ids of the leases in `state_dir`.
    pub fn leases(state_dir: &Path) -> Listing {
        Listing::of(&state_dir.join("leases"))
    }

    /// Whether `<id>.json` may be there (it was when listed, or the folder could not be
    /// listed).
    pub fn may_have(&self, id: &str) -> bool {
        self.0.as_ref().is_none_or(|ids| ids.contains(id))
    }
}

pub fn read(state_dir: &Path, id: &str) -> Option<Lease> {
    let text = std::fs::read_to_string(path(state_dir, id)).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn write(state_dir: &Path, lease: &Lease) -> Result<()> {
    let path = path(state_dir, &lease.task);
    let dir = path.parent().context("lease path has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_vec_pretty(lease)?;
    // Synced at the end of the command, not under the lock: a lease lost to a crash is read
    // as missing, and the claim then runs out by its `claimed_at` and the configured length.
    atomic::write_synced_later(&path, &json)
}

pub fn remove(state_dir: &Path, id: &str) -> Result<()> {
    match std::fs::remove_file(path(state_dir, id)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove the lease of {id}"))
        }
        _ => Ok(()),
    }
}

/// This machine's name, recorded so a sweep can tell whether a pid is local.
pub fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
}
