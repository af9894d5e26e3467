//! The lifecycle: which transitions are allowed, what each writes, and when a task is ready.
//! Pure: it reads tasks and config and returns edits; the store does the writing.

use serde_norway::Value;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::task::{Edit, Kind, Status, Task};

/// Who is acting, and when.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub now: String,
}

/// What to do with the lease after a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseAction {
    Renew,
    Release,
}

/// A transition ready to be written.
#[derive(Debug, Clone)]
pub struct Transition {
    pub edit: Edit,
    pub from: Status,
    pub to: Status,
    pub outcome: Option<&'static str>,
    pub lease: LeaseAction,
}

/// The outcomes a claim can end with.
pub const OUTCOMES: [&str; 8] = [
    "completed",
    "completed_with_pr",
    "needs_review",
    "needs_review_fix",
    "blocked",
    "failed",
    "released",
    "expired",
];

/// The outcome named `text`, if it is one.
pub fn known_outcome(text: &str) -> Option<&'static str> {
    OUTCOMES.into_iter().find(|o| *o == text)
}

/// The keys of a live claim: present only while the task is in progress or in review.
pub const CLAIM_KEYS: [&str; 4] = ["claimed_by", "claimed_at", "worktree", "branch"];

/// Canonicalises an identity through `identities:` (case-insensitive); unknown names are kept.
pub fn canonical(name: &str, config: &Config) -> String {
    let name = name.trim();
    // `Name <email>`: the email, then the name, then the whole text may be the known one.
    let (display, email) = match name.strip_suffix('>').and_then(|n| n.rsplit_once('<')) {
        Some((display, email)) => (Some(display.trim()), Some(email.trim())),
        None => (None, None),
    };
    let candidates = [email, display, Some(name)];
    for candidate in candidates.into_iter().flatten().filter(|c| !c.is_empty()) {
        for (canon, aliases) in &config.identities {
            if same_text(canon, candidate) || aliases.iter().any(|a| same_text(a.trim(), candidate))
            {
                return canon.clone();
            }
        }
    }
    name.to_string()
}

/// Equal but for letter case (any script, not only ASCII).
fn same_text(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// Are these two names one person? Compared after canonicalising, ignoring case.
pub fn same_person(a: &str, b: &str, config: &Config) -> bool {
    same_text(&canonical(a, config), &canonical(b, config))
}

/// Does this owner route to anybody at all?
pub fn owner_routes(owner: Option<&str>, config: &Config) -> bool {
    match owner.map(str::trim).filter(|o| !o.is_empty()) {
        None => true,
        Some(o) => match o.strip_prefix("role:") {
            Some(role) => config
                .roles
                .get(role.trim())
                .is_some_and(|people| !people.is_empty()),
            // Under strict routing a person must be known: in `identities:` or in a role.
            None if !config.routing.strict => true,
            None => {
                let who = canonical(o, config);
                config.identities.keys().any(|k| same_text(k, &who))
                    || config
                        .roles
                        .values()
                        .flatten()
                        .any(|p| same_text(&canonical(p, config), &who))
            }
        },
    }
}

/// Does this owner route to `person` (canonical)? Unowned tasks route to everybody.
pub fn owner_routes_to(owner: Option<&str>, person: &str, config: &Config) -> bool {
    match owner.map(str::trim).filter(|o| !o.is_empty()) {
        None => true,
        Some(o) => match o.strip_prefix("role:") {
            Some(role) => config
                .roles
                .get(role.trim())
                .is_some_and(|people| people.iter().any(|p| same_person(p, person, config))),
            None => same_person(o, person, config),
        },
    }
}

/// Why a task is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    Status(Status),
    Dependency {
        id: String,
        status: Option<Status>,
    },
    Placeholder,
    Unroutable(String),
    FailedBefore(String),
    NotFor(String),
    /// Handed to someone else by `tasks assign`.
    AssignedTo(String),
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocker::Status(s) => write!(f, "status is {s}"),
            Blocker::Dependency {
                id,
                status: Some(s),
            } => write!(f, "depends on {id} ({s})"),
            Blocker::Dependency { id, status: None } => write!(f, "depends on {id} (no such task)"),
            Blocker::Placeholder => f.write_str("placeholder tasks are never dispatched"),
            Blocker::Unroutable(o) => write!(f, "owner {o} routes to nobody"),
            Blocker::FailedBefore(a) => write!(f, "{a} failed this task before"),
            Blocker::NotFor(p) => write!(f, "owned by someone other than {p}"),
            Blocker::AssignedTo(a) => write!(f, "assigned to {a}"),
        }
    }
}

/// Everything standing between a task and `ready` for the given agent.
pub fn blockers(
    task: &Task,
    status_of: &dyn Fn(&str) -> Option<Status>,
    agent: Option<&str>,
    for_person: Option<&str>,
    config: &Config,
) -> Vec<Blocker> {
    let mut out = Vec::new();
    if task.status != Status::Open {
        out.push(Blocker::Status(task.status));
    }
    for dep in task.depends_on().iter() {
        let status = status_of(dep);
        if status != Some(Status::Done) {
            out.push(Blocker::Dependency {
                id: dep.to_string(),
                status,
            });
        }
    }
    if task.kind == Kind::Placeholder {
        out.push(Blocker::Placeholder);
    }
    let assigned = task.assignee().is_some_and(|a| !a.trim().is_empty());
    if !assigned && !owner_routes(task.owner(), config) {
        out.push(Blocker::Unroutable(
            task.owner().map(str::to_string).unwrap_or_default(),
        ));
    }
    // A task handed to someone by `assign` is theirs, whoever owns it.
    let assigned_to = |who: &str| task.assignee().is_some_and(|a| same_person(a, who, config));
    if let Some(person) = for_person
        && !assigned_to(person)
        && !owner_routes_to(task.owner(), person, config)
    {
        out.push(Blocker::NotFor(person.to_string()));
    }
    if let Some(assignee) = task.assignee().filter(|a| !a.trim().is_empty())
        && let Some(who) = for_person.or(agent)
        && !same_person(assignee, who, config)
    {
        out.push(Blocker::AssignedTo(canonical(assignee, config)));
    }
    if let Some(agent) = agent
        && task
            .failed_agents()
            .iter()
            .any(|a| same_person(a, agent, config))
    {
        out.push(Blocker::FailedBefore(agent.to_string()));
    }
    out
}

/// Sorts items in [`ready_order`], holding each task's [`ReadyKey`] beside it, so that
/// comparisons look at no task unless the keys are equal. Many items are sorted in two
/// halves on two cores and merged: working out a key fetches its task from memory, and the
/// two cores wait at once.
pub fn sort_in_ready_order<T: Send>(items: &mut Vec<T>, task: impl Fn(&T) -> &Task + Sync) {
    // Equal keys fall back to the whole comparison, which ends on the id: no two items are
    // equal, so an unstable sort gives the one order.
    let order = |a: &(ReadyKey, T), b: &(ReadyKey, T)| {
        a.0.cmp(&b.0)
            .then_with(|| ready_order(task(&a.1), task(&b.1)))
    };
    let sorted = |part: Vec<T>| {
        let mut keyed: Vec<(ReadyKey, T)> = part
            .into_iter()
            .map(|item| (ReadyKey::of(task(&item)), item))
            .collect();
        keyed.sort_unstable_by(order);
        keyed
    };
    let parallel = items.len() >= crate::store::scan::PARALLEL_FROM
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if !parallel {
        let keyed = sorted(std::mem::take(items));
        items.extend(keyed.into_iter().map(|(_, item)| item));
        return;
    }
    let second = items.split_off(items.len() / 2);
    let first = std::mem::take(items);
    let (first, second) = std::thread::scope(|s| {
        let later = s.spawn(|| sorted(second));
        let first = sorted(first);
        match later.join() {
            Ok(second) => (first, second),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    items.reserve(first.len() + second.len());
    let (mut first, mut second) = (first.into_iter().peekable(), second.into_iter().peekable());
    loop {
        let from_first = match (first.peek(), second.peek()) {
            (Some(a), Some(b)) => order(a, b).is_lt(),
            (a, _) => a.is_some(),
        };
        let next = if from_first {
            first.next()
        } else {
            second.next()
        };
        match next {
            Some((_, item)) => items.push(item),
            None => return,
        }
    }
}

/// What decides [`ready_order`] for most tasks: the priority, the first 32 bytes of the
/// creation time and its length, and the first 16 bytes of the id (tasks created in the same
/// second are common, and their order is their ids'). Keys in order are tasks in order; equal
/// keys say nothing (a longer creation time or id was cut short).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ReadyKey {
    priority: u8,
    created: [u128; 2],
    /// The length, or 33 for any longer (whose order beyond 32 bytes the key does not know).
    created_len: u8,
    /// Left out (0) when the creation time is longer: only its whole text may decide first.
    id: u128,
}

impl ReadyKey {
    fn of(task: &Task) -> ReadyKey {
        fn prefix(text: &str, from: usize) -> u128 {
            let mut bytes = [0u8; 16];
            let rest = text.as_bytes().get(from..).unwrap_or_default();
            let n = rest.len().min(16);
            bytes[..n].copy_from_slice(&rest[..n]);
            u128::from_be_bytes(bytes)
        }
        let created = task.created_at().unwrap_or("");
        let long = created.len() > 32;
        ReadyKey {
            priority: task.priority,
            created: [prefix(created, 0), prefix(created, 16)],
            created_len: created.len().min(33) as u8,
            id: if long { 0 } else { prefix(&task.id, 0) },
        }
    }
}

/// The ready order: priority, then creation time, then id.
pub fn ready_order(a: &Task, b: &Task) -> std::cmp::Ordering {
    (a.priority, a.created_at().unwrap_or(""), &a.id).cmp(&(
        b.priority,
        b.created_at().unwrap_or(""),
        &b.id,
    ))
}

fn holder(task: &Task, config: &Config) -> Option<String> {
    task.claimed_by().map(|h| canonical(h, config))
}

fn not_allowed(task: &Task, action: &str) -> Error {
    let mut err = Error::conflict(
        "transition_not_allowed",
        format!("cannot {action} {}: it is {}", task.id, task.status),
    );
    err = match task.status {
        Status::Done | Status::Failed | Status::Cancelled => err.hint(format!(
            "a finished task only comes back with `tasks reopen {} --reason TEXT`",
            task.id
        )),
        Status::Blocked => err.hint(format!("`tasks unblock {}` returns it to open", task.id)),
        Status::Open => err.hint(format!(
            "nobody holds it; `tasks claim {}` takes it",
            task.id
        )),
        _ => err,
    };
    err
}

fn held_by_other(task: &Task, holder: &str, actor: &Actor) -> Error {
    Error::conflict(
        "held_by_other",
        format!("task {} is held by {holder}", task.id),
    )
    .hint(format!(
        "you are acting as {}; wait, or ask {holder} to run `tasks unclaim {}`",
        actor.name, task.id
    ))
}

/// Requires a live claim on the task held by the actor (unless `force`).
fn require_holder(
    task: &Task,
    actor: &Actor,
    config: &Config,
    action: &str,
    force: bool,
) -> Result<()> {
    if !task.status.is_claimed() {
        return Err(not_allowed(task, action));
    }
    match holder(task, config) {
        Some(h) if same_person(&h, &actor.name, config) || force => Ok(()),
        Some(h) => Err(held_by_other(task, &h, actor)),
        None if force => Ok(()),
        None => Err(Error::conflict(
            "not_claimed",
            format!("task {} is {} but nobody holds it", task.id, task.status),
        )),
    }
}

fn base(task: &Task, actor: &Actor, to: Status) -> Edit {
    let mut edit = Edit::default();
    if task.status != to || task.get_str("status") != Some(to.as_str()) {
        edit.set("status", to.as_str());
    }
    edit.set("updated_at", actor.now.as_str());
    edit
}

fn end_claim(edit: &mut Edit, actor: &Actor, outcome: &str, reason: Option<&str>) {
    for key in CLAIM_KEYS {
        edit.remove(key);
    }
    edit.set("outcome", outcome)
        .set("outcome_at", actor.now.as_str())
        .set("outcome_by", actor.name.as_str());
    match reason {
        Some(r) => edit.set("reason", r),
        None => edit.remove("reason"),
    };
}

/// The result of a claim: a new claim, or the holder claiming again (renews the lease).
pub enum Claim {
    New(Transition),
    Renew,
}

pub fn claim(
    task: &Task,
    actor: &Actor,
    config: &Config,
    blockers: &[Blocker],
    force: bool,
) -> Result<Claim> {
    if task.status.is_claimed() {
        let h = holder(task, config).unwrap_or_default();
        if same_person(&h, &actor.name, config) {
            return Ok(Claim::Renew);
        }
        return Err(held_by_other(task, &h, actor));
    }
    if task.status != Status::Open {
        return Err(not_allowed(task, "claim"));
    }
    let relevant: Vec<&Blocker> = blockers
        .iter()
        .filter(|b| !(force && matches!(b, Blocker::FailedBefore(_) | Blocker::AssignedTo(_))))
        .collect();
    if let Some(first) = relevant.first() {
        let reasons: Vec<String> = relevant.iter().map(|b| b.to_string()).collect();
        let mut err = Error::conflict(
            "not_ready",
            format!("task {} is not ready: {}", task.id, reasons.join("; ")),
        );
        if matches!(first, Blocker::FailedBefore(_) | Blocker::AssignedTo(_)) {
            err = err.hint("pass --force to claim it anyway");
        }
        return Err(err);
    }
    let mut edit = base(task, actor, Status::InProgress);
    edit.set("claimed_by", actor.name.as_str())
        .set("claimed_at", actor.now.as_str());
    // An assignment is a hand-over before a claim: the claim takes it up.
    for key in ["assignee", "assigned_at"] {
        if task.has_key(key) {
            edit.remove(key);
        }
    }
    Ok(Claim::New(Transition {
        edit,
        from: task.status,
        to: Status::InProgress,
        outcome: None,
        lease: LeaseAction::Renew,
    }))
}

/// Evidence given to `done`.
#[derive(Debug, Default)]
pub struct Evidence {
    pub pr_url: Option<String>,
    pub commit: Option<String>,
}

pub fn done(
    task: &Task,
    actor: &Actor,
    config: &Config,
    evidence: &Evidence,
) -> Result<Transition> {
    if task.status == Status::InReview {
        return Err(not_allowed(task, "finish").hint("it is waiting for review"));
    }
    require_holder(task, actor, config, "finish", false)?;
    let pr_url = evidence.pr_url.as_deref().or(task.get_str("pr_url"));
    let commit = evidence.commit.as_deref().or(task.get_str("commit"));
    for need in &config.done.require {
        let (missing, flag) = match need {
            crate::config::Requirement::Commit => (commit.is_none(), "--commit SHA"),
            crate::config::Requirement::PrUrl => (pr_url.is_none(), "--pr URL"),
        };
        if missing {
            return Err(Error::failure(
                "evidence_required",
                format!("task {} cannot be done without {flag}", task.id),
            )
            .hint("config.yaml `done.require` asks for it"));
        }
    }
    let review = config.review_required();
    let to = if review {
        Status::InReview
    } else {
        Status::Done
    };
    let outcome = match (review, pr_url.is_some()) {
        (true, _) => "needs_review",
        (false, true) => "completed_with_pr",
        (false, false) => "completed",
    };
    let mut edit = base(task, actor, to);
    if let Some(url) = &evidence.pr_url {
        edit.set("pr_url", url.as_str());
        if let Some(n) = pr_number(url) {
            edit.set("pr_number", Value::Number(n.into()));
        }
    }
    if let Some(c) = &evidence.commit {
        edit.set("commit", c.as_str());
    }
    if review {
        edit.set("outcome", outcome)
            .set("outcome_at", actor.now.as_str())
            .set("outcome_by", actor.name.as_str());
        edit.remove("reason");
    } else {
        end_claim(&mut edit, actor, outcome, None);
    }
    let lease = if review {
        LeaseAction::Renew
    } else {
        LeaseAction::Release
    };
    Ok(Transition {
        edit,
        from: task.status,
        to,
        outcome: Some(outcome),
        lease,
    })
}

/// A reviewer accepts a task in review: it is done, and the claim ends.
/// A reviewer accepts work in review. The claimant cannot approve their own work unless
/// `force`.
pub fn approve(task: &Task, actor: &Actor, config: &Config, force: bool) -> Result<Transition> {
    if task.status != Status::InReview {
        return Err(not_allowed(task, "approve"));
    }
    if let Some(h) = holder(task, config).filter(|h| same_person(h, &actor.name, config))
        && !force
    {
        return Err(Error::conflict(
            "own_work",
            format!("{} cannot approve {}: it is their own work", h, task.id),
        )
        .hint("someone else reviews it; pass --force to approve it anyway"));
    }
    let outcome = if task.get_str("pr_url").is_some() {
        "completed_with_pr"
    } else {
        "completed"
    };
    let mut edit = base(task, actor, Status::Done);
    end_claim(&mut edit, actor, outcome, None);
    edit.set("reviewed_by", actor.name.as_str())
        .set("reviewed_at", actor.now.as_str());
    Ok(Transition {
        edit,
        from: task.status,
        to: Status::Done,
        outcome: Some(outcome),
        lease: LeaseAction::Release,
    })
}

/// The number at the end of a pull-request URL (`…/pull/42`, `…/merge_requests/42`).
pub fn pr_number(url: &str) -> Option<u64> {
    let mut parts = url.trim_end_matches('/').rsplit('/');
    let n = parts.next()?.parse().ok()?;
    matches!(
        parts.next(),
        Some("pull" | "pulls" | "merge_requests" | "pull-requests")
    )
    .then_some(n)
}

pub fn block(task: &Task, actor: &Actor, config: &Config, reason: &str) -> Result<Transition> {
    let claimed = task.status.is_claimed();
    if claimed {
        require_holder(task, actor, config, "block", false)?;
    } else if task.status != Status::Open {
        return Err(not_allowed(task, "block"));
    }
    let mut edit = base(task, actor, Status::Blocked);
    // Only a claim has an outcome; blocking an open task just records why.
    if claimed {
        end_claim(&mut edit, actor, "blocked", Some(reason));
    } else {
        edit.set("reason", reason);
    }
    Ok(Transition {
        edit,
        from: task.status,
        to: Status::Blocked,
        outcome: claimed.then_some("blocked"),
        lease: LeaseAction::Release,
    })
}

pub fn unblock(task: &Task, actor: &Actor) -> Result<Transition> {
    if task.status != Status::Blocked {
        return Err(not_allowed(task, "unblock"));
    }
    let edit = base(task, actor, Status::Open);
    Ok(Transition {
        edit,
        from: task.status,
        to: Status::Open,
        outcome: None,
        lease: LeaseAction::Release,
    })
}

pub fn fail(task: &Task, actor: &Actor, config: &Config, reason: &str) -> Result<Transition> {
    require_holder(task, actor, config, "fail", false)?;
    let attempts = task.attempts() + 1;
    let max = task.max_attempts().unwrap_or_else(|| config.max_attempts());
    let to = if attempts >= max {
        Status::Failed
    } else {
        Status::Open
    };
    let mut edit = base(task, actor, to);
    edit.set("attempts", Value::Number(attempts.into()));
    let mut failed: Vec<String> = task.failed_agents().to_vec();
    if !failed.iter().any(|a| same_person(a, &actor.name, config)) {
        failed.push(actor.name.clone());
        edit.set("failed_agents", strings(&failed));
    }
    end_claim(&mut edit, actor, "failed", Some(reason));
    Ok(Transition {
        edit,
        from: task.status,
        to,
        outcome: Some("failed"),
        lease: LeaseAction::Release,
    })
}

pub fn unclaim(
    task: &Task,
    actor: &Actor,
    config: &Config,
    reason: &str,
    force: bool,
) -> Result<Transition> {
    require_holder(task, actor, config, "unclaim", force)?;
    let mut edit = base(task, actor, Status::Open);
    end_claim(&mut edit, actor, "released", Some(reason));
    Ok(Transition {
        edit,
        from: task.status,
        to: Status::Open,
        outcome: Some("released"),
        lease: LeaseAction::Release,
    })
}

pub fn reopen(task: &Task, actor: &Actor, reason: &str) -> Result<Transition> {
    let mut edit = base(task, actor, Status::Open);
    let outcome = match task.status {
        Status::InReview => {
            end_claim(&mut edit, actor, "needs_review_fix", Some(reason));
            // The evidence of the round the review sent back is not the next round's.
            for key in ["verified", "commit", "reviewed_by", "reviewed_at"] {
                if task.has_key(key) {
                    edit.remove(key);
                }
            }
            // What the review asks for stays in the body, where the next worker reads it.
            edit.note = Some(format!(
                "- {} {}: review: {}",
                actor.now,
                actor.name,
                reason.replace('\n', " ")
            ));
            Some("needs_review_fix")
        }
        Status::Done | Status::Cancelled => {
            edit.set("reason", reason);
            None
        }
        Status::Failed => {
            // A reopened failed task gets a fresh set of attempts; who failed it is remembered.
            edit.set("reason", reason)
                .set("attempts", Value::Number(0.into()));
            None
        }
        _ => return Err(not_allowed(task, "reopen")),
    };
    Ok(Transition {
        edit,
        from: task.status,
        to: Status::Open,
        outcome,
        lease: LeaseAction::Release,
    })
}

pub fn cancel(task: &Task, actor: &Actor, reason: &str) -> Result<Transition> {
    if task.status == Status::Cancelled {
        return Err(not_allowed(task, "cancel"));
    }
    let mut edit = base(task, actor, Status::Cancelled);
    if task.status.is_claimed() {
        end_claim(&mut edit, actor, "released", Some(reason));
    } else {
        edit.set("reason", reason);
    }
    let outcome = task.status.is_claimed().then_some("released");
    Ok(Transition {
        edit,
        from: task.status,
        to: Status::Cancelled,
        outcome,
        lease: LeaseAction::Release,
    })
}

pub fn strings(items: &[String]) -> Value {
    Value::Sequence(items.iter().map(|s| Value::String(s.clone())).collect())
}

/// Would adding `task -> dep` close a loop? Returns the loop's path when it would.
pub fn cycle_path(
    task: &str,
    dep: &str,
    deps_of: &dyn Fn(&str) -> Vec<String>,
) -> Option<Vec<String>> {
    // Search from dep for task along depends_on edges, remembering how each was reached; the
    // path is rebuilt only when the loop is found.
    let mut came_from: std::collections::HashMap<String, Option<String>> =
        std::collections::HashMap::from([(dep.to_string(), None)]);
    let mut queue = std::collections::VecDeque::from([dep.to_string()]);
    while let Some(at) = queue.pop_front() {
        if at == task {
            let mut path = vec![at.clone()];
            let mut cur = at;
            while let Some(Some(prev)) = came_from.get(&cur) {
                path.push(prev.clone());
                cur = prev.clone();
            }
            path.reverse();
            let mut cycle = vec![task.to_string()];
            cycle.extend(path);
            return Some(cycle);
        }
        for next in deps_of(&at) {
            if !came_from.contains_key(&next) {
                came_from.insert(next.clone(), Some(at.clone()));
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task_with(id: &str, priority: u8, created: &str) -> Task {
        let text = format!("---\nid: {id}\npriority: {priority}\ncreated_at: \"{created}\"\n---\n");
        Task::parse(&crate::task::split::split(&text).unwrap()).unwrap()
    }

    /// Enough tasks to be sorted in two halves on two cores and merged: the order is the
    /// one a plain sort gives, ties on priority and creation time included.
    #[test]
    fn many_tasks_sort_in_ready_order_in_two_halves() {
        let n = crate::store::scan::PARALLEL_FROM * 2 + 7;
        let tasks: Vec<Task> = (0..n)
            .map(|i| {
                let created = format!("2026-11-{:02}T10:00:00Z", 1 + (i * 7919) % 5);
                task_with(
                    &format!("T-{}", (i * 104_729) % 100_003),
                    (i % 3) as u8,
                    &created,
                )
            })
            .collect();
        let (sorted, expected) = sorted_and_expected(&tasks);
        assert_eq!(sorted, expected);
    }

    /// The ids of `tasks` as [`sort_in_ready_order`] sorts them, and as a plain sort by
    /// [`ready_order`] does.
    fn sorted_and_expected(tasks: &[Task]) -> (Vec<String>, Vec<String>) {
        let mut expected: Vec<&Task> = tasks.iter().collect();
        expected.sort_by(|a, b| ready_order(a, b));
        let mut sorted: Vec<&Task> = tasks.iter().collect();
        sort_in_ready_order(&mut sorted, |t| t);
        let ids = |v: &[&Task]| v.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
        (ids(&sorted), ids(&expected))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Sorting by the keys held beside the tasks gives exactly the ready order, for times
        /// and ids that fit the keys and ones that are cut short, NULs and all.
        #[test]
        fn ready_keys_sort_as_the_tasks_do(
            picked in proptest::collection::vec((0..3u8, 0..7usize, 0..6usize), 1..40),
        ) {
            let times = [
                "",
                "2026-11-20T10:00:00Z",
                "2026-11-20T10:00:00Z\\0",
                "2026-11-20T10:00:00.123456789012345678+00:00",
                "2026-11-20T10:00:00.123456789012345679+00:00",
                "2026-11-20T10:00:00.12345678901",
                "2026",
            ];
            let ids = ["T-1", "T-10", "T-2", "T-aaaaaaaaaaaaaaaa1", "T-aaaaaaaaaaaaaaaa", "T-aaaaaaaaaaaaaaab"];
            let tasks: Vec<Task> = picked
                .iter()
                .enumerate()
                .map(|(n, (p, t, i))| task_with(&format!("{}-{n}", ids[*i]), *p, times[*t]))
                .collect();
            let (sorted, expected) = sorted_and_expected(&tasks);
            proptest::prop_assert_eq!(sorted, expected);
            for a in &tasks {
                for b in &tasks {
                    let (ka, kb) = (ReadyKey::of(a), ReadyKey::of(b));
                    if ka != kb {
                        proptest::prop_assert_eq!(ka.cmp(&kb), ready_order(a, b), "{} {}", a.id, b.id);
                    }
                }
            }
        }
    }

    #[test]
    fn pr_numbers() {
        assert_eq!(pr_number("https://github.com/o/r/pull/42"), Some(42));
        assert_eq!(
            pr_number("https://gitlab.com/o/r/-/merge_requests/7/"),
            Some(7)
        );
        assert_eq!(pr_number("https://example.com/42"), None);
    }

    #[test]
    fn cycles() {
        let deps = |id: &str| match id {
            "b" => vec!["c".to_string()],
            "c" => vec!["a".to_string()],
            _ => vec![],
        };
        assert_eq!(
            cycle_path("a", "b", &deps),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        assert_eq!(cycle_path("x", "b", &deps), None);
        assert!(cycle_path("a", "a", &deps).is_some());
    }

    #[test]
    fn routing() {
        let config = Config::parse(
            "roles: { backend: [alice] }\nidentities: { dave.fowler: [dave, DaveFowler] }\n",
        )
        .unwrap();
        assert!(owner_routes(Some("role:backend"), &config));
        assert!(!owner_routes(Some("role:frontend"), &config));
        assert!(owner_routes_to(Some("role:backend"), "alice", &config));
        assert!(!owner_routes_to(Some("role:backend"), "bob", &config));
        assert!(owner_routes_to(Some("davefowler"), "dave.fowler", &config));
        assert_eq!(canonical("DAVE", &config), "dave.fowler");
    }

    #[test]
    fn name_and_email_forms_resolve_through_either_part() {
        let config = Config::parse(
            "identities: { dave.fowler: [dave, davefowler, dave@example.com] }
",
        )
        .unwrap();
        for spelling in [
            "dave",
            "Dave.Fowler",
            "DaveFowler",
            "Dave Fowler <dave@example.com>",
            "Someone <DAVE@example.com>",
            "dave <nobody@example.com>",
        ] {
            assert_eq!(canonical(spelling, &config), "dave.fowler", "{spelling}");
        }
        assert_eq!(
            canonical("Eve <eve@example.com>", &config),
            "Eve <eve@example.com>"
        );
    }
}
