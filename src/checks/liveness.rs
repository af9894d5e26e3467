//! Is the worker on a claim still alive? `stale_claim` (the lease ran out and no commit on the
//! task's branch since) and `worker_gone` (the recorded pid on this host is dead, or the
//! claimed worktree is gone). Only for tasks in progress: in review, the worker is done.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::orphans::recorded_worktree;
use super::{Severity, Signal};
use crate::git;
use crate::store::{Entry, Scan, Store, lease};
use crate::task::{Status, Task};

/// What is known about one live claim's worker.
#[derive(Debug, Clone)]
pub struct Liveness {
    pub holder: String,
    pub lease: Option<lease::Lease>,
    /// The newest commit on the task's branch, with its time.
    pub commit: Option<(String, DateTime<Utc>)>,
    /// The last sign of life: the claim, the lease's last renewal, or a commit on the branch.
    pub last_sign: Option<DateTime<Utc>>,
    /// When the claim goes stale: the lease's expiry, pushed on by fresh commits.
    pub expires: Option<DateTime<Utc>>,
}

pub fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The branch a claim works on: the recorded one, else `<branch_prefix><id>`.
fn branch_of(store: &Store, task: &Task) -> String {
    task.get_str("branch")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}{}", store.config.branch_prefix(), task.id))
}

/// What a sweep over many claims looks up, gathered once: the repository's branches, and
/// which tasks have a lease or an exec record at all.
pub struct Lookups {
    /// Listed on first use: `worker_gone` alone never needs them.
    branches: std::cell::OnceCell<git::Branches>,
    root: Option<std::path::PathBuf>,
    leases: lease::Listing,
    records: lease::Listing,
}

impl Lookups {
    pub fn new(store: &Store) -> Lookups {
        Lookups {
            branches: std::cell::OnceCell::new(),
            root: store.git.as_ref().map(|_| store.root.clone()),
            leases: lease::Listing::leases(&store.state_dir),
            records: lease::Listing::of(&crate::commands::tombstones_dir(store)),
        }
    }

    fn branches(&self) -> &git::Branches {
        self.branches
            .get_or_init(|| git::Branches::open(self.root.as_deref()))
    }

    fn lease(&self, store: &Store, id: &str) -> Option<lease::Lease> {
        self.leases
            .may_have(id)
            .then(|| lease::read(&store.state_dir, id))
            .flatten()
    }
}

/// What is known about the worker on `task`'s claim.
pub fn of(store: &Store, lookups: &Lookups, task: &Task) -> Liveness {
    let branches = lookups.branches();
    let lease = lookups.lease(store, &task.id);
    // The branch here, or as fetched from a remote (a claim made on another clone works on
    // a branch this clone only sees there): the newer tip counts.
    let branch = branch_of(store, task);
    let commit = [
        branches.tip_time(&branch),
        branches.remote_tip_time(&branch),
    ]
    .into_iter()
    .flatten()
    .max_by_key(|c| c.1)
    .map(|(oid, secs)| {
        (
            oid,
            DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH),
        )
    });
    let claimed = task.claimed_at().as_deref().and_then(time);
    let renewed = lease.as_ref().and_then(|l| time(&l.renewed_at));
    let lease_secs = lease
        .as_ref()
        .and_then(|l| Some((l.expires()? - time(&l.renewed_at)?).num_seconds()))
        .filter(|s| *s > 0)
        .unwrap_or(store.config.lease().secs() as i64);
    let lease_len = chrono::Duration::seconds(lease_secs);
    let last_sign = [claimed, renewed, commit.as_ref().map(|c| c.1)]
        .into_iter()
        .flatten()
        .max();
    let lease_expiry = lease
        .as_ref()
        .and_then(|l| l.expires())
        .or(claimed.map(|c| c + lease_len));
    let commit_expiry = commit.as_ref().map(|c| c.1 + lease_len);
    let expires = [lease_expiry, commit_expiry].into_iter().flatten().max();
    Liveness {
        holder: task
            .claimed_by()
            .map(|h| crate::lifecycle::canonical(h, &store.config))
            .unwrap_or_default(),
        lease,
        commit,
        last_sign,
        expires,
    }
}

/// A duration for people: `45s`, `12m`, `3h`, `2d`.
pub fn ago(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn stale_claim(
    store: &Store,
    lookups: &Lookups,
    e: &Entry,
    now: DateTime<Utc>,
) -> Option<Signal> {
    let t = &e.task;
    // In review the worker is finished: its lease and worktree no longer tell anything.
    if t.status != Status::InProgress {
        return None;
    }
    let live = of(store, lookups, t);
    let Some(expires) = live.expires else {
        // No lease, no readable `claimed_at`, no branch commit: nothing can show it is alive.
        return Some(Signal {
            task: Some(t.id.clone()),
            kind: "stale_claim",
            severity: Severity::Warn,
            detail: format!(
                "claimed by {} with no lease, no readable claimed_at and no commit on {}: nothing shows the worker is alive",
                if live.holder.is_empty() {
                    "nobody"
                } else {
                    &live.holder
                },
                branch_of(store, t),
            ),
            evidence: json!({
                "holder": live.holder,
                "expired_at": null,
                "last_sign": null,
                "branch": branch_of(store, t),
                "commit": null,
            }),
        });
    };
    if now <= expires {
        return None;
    }
    let since = live
        .last_sign
        .map(|s| format!("; last sign of life {} ago", ago((now - s).num_seconds())))
        .unwrap_or_default();
    Some(Signal {
        task: Some(t.id.clone()),
        kind: "stale_claim",
        severity: Severity::Warn,
        detail: format!(
            "claimed by {}: lease ran out {} ago and no newer commit on {}{since}",
            if live.holder.is_empty() {
                "nobody"
            } else {
                &live.holder
            },
            ago((now - expires).num_seconds()),
            branch_of(store, t),
        ),
        // Built at its exact size: a sweep of many stale claims holds one of these each.
        evidence: {
            let mut map = serde_json::Map::with_capacity(5);
            map.insert("holder".into(), json!(live.holder));
            map.insert("expired_at".into(), json!(fmt(expires)));
            map.insert("last_sign".into(), json!(live.last_sign.map(fmt)));
            map.insert("branch".into(), json!(branch_of(store, t)));
            map.insert("commit".into(), json!(live.commit.as_ref().map(|c| &c.0)));
            serde_json::Value::Object(map)
        },
    })
}

/// Whether a process is running on this machine; `None` when that cannot be told.
pub fn pid_alive(pid: u32) -> Option<bool> {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return None;
    }
    Some(proc.join(pid.to_string()).exists())
}

pub fn worker_gone(store: &Store, lookups: &Lookups, e: &Entry) -> Option<Signal> {
    let t = &e.task;
    // In review the worker is finished: its lease and worktree no longer tell anything.
    if t.status != Status::InProgress {
        return None;
    }
    let holder = t.claimed_by().map_or_else(
        || "nobody".to_string(),
        |h| crate::lifecycle::canonical(h, &store.config),
    );
    let mut reasons = Vec::new();
    let mut evidence = json!({ "claimed_by": t.claimed_by() });
    if let Some(path) = recorded_worktree(store, t).filter(|p| !p.is_dir()) {
        reasons.push(format!("its worktree {} is gone", store.display(&path)));
        evidence["worktree"] = json!(store.display(&path));
    }
    // A worker `tasks exec` saw finish its work in the worktree copy is not gone: the task
    // waits for a reconcile, which `completed_unreconciled` reports.
    let finished_in_copy = lookups
        .records
        .may_have(&t.id)
        .then(|| std::fs::read_to_string(crate::commands::tombstone_path(store, &t.id)).ok())
        .flatten()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|tomb| {
            tomb["state"] == "completed_unreconciled"
                && tomb["finished_at"].as_str().and_then(time)
                    >= t.claimed_at().as_deref().and_then(time)
        });
    if let Some(l) = lookups.lease(store, &t.id).filter(|_| !finished_in_copy) {
        let here = lease::hostname();
        let local = l.host.is_some() && l.host == here;
        if let Some(pid) = l.pid.filter(|p| local && pid_alive(*p) == Some(false)) {
            reasons.push(format!(
                "its worker (pid {pid} on {}) is not running",
                l.host.as_deref().unwrap_or_default()
            ));
            evidence["pid"] = json!(pid);
            evidence["host"] = json!(l.host);
        }
    }
    if reasons.is_empty() {
        return None;
    }
    Some(Signal {
        task: Some(t.id.clone()),
        kind: "worker_gone",
        severity: Severity::Error,
        detail: format!("claimed by {holder}, but {}", reasons.join(" and ")),
        evidence,
    })
}

pub fn signals(store: &Store, scan: &Scan, now: DateTime<Utc>) -> Vec<Signal> {
    let mut out = Vec::new();
    let lookups = Lookups::new(store);
    for e in &scan.tasks {
        out.extend(worker_gone(store, &lookups, e));
        out.extend(stale_claim(store, &lookups, e, now));
    }
    out
}
