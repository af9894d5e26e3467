//! `tasks stats`: flow metrics from the task files and the event log alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use crate::checks::liveness::time;
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::output::SCHEMA_VERSION;
use crate::store::events::Event;

/// Show flow metrics: counts, lead and cycle time, pickup latency, outcomes per agent
///
/// Counts by status, type and owner come from the files. Lead time (created → done), cycle time
/// (claimed → done) and pickup latency (ready → claimed) are given as p50 and p90 (nearest
/// rank) over the tasks finished or claimed in the window; outcomes per agent, the failure
/// rate, throughput per day and utilization (live claims against agents active in the window)
/// come from `events.jsonl`. Without events, it says what it could not compute.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  tasks stats\n  tasks stats --since 7d\n  tasks stats --since 2026-11-01 --json"
)]
pub struct Args {
    /// The window: a duration back from now (7d, 12h) or a date (2026-11-01, or RFC 3339);
    /// default: everything
    #[arg(long, value_name = "DURATION|DATE")]
    pub since: Option<String>,
}

/// A time series' p50 and p90, nearest rank, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub count: usize,
    pub p50: i64,
    pub p90: i64,
}

/// The nearest-rank percentiles of `values` (`None` when empty).
pub fn spread(mut values: Vec<i64>) -> Option<Spread> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = |p: usize| values[(p * values.len()).div_ceil(100).max(1) - 1];
    Some(Spread {
        count: values.len(),
        p50: rank(50),
        p90: rank(90),
    })
}

fn since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    if let Ok(d) = text.parse::<crate::config::Duration>() {
        return Ok(now - chrono::Duration::seconds(d.secs() as i64));
    }
    if let Some(t) = time(text) {
        return Ok(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now));
    }
    Err(Error::usage(format!(
        "--since `{text}` is neither a duration (7d, 12h) nor a date (2026-11-01)"
    )))
}

const DONE: [&str; 2] = ["completed", "completed_with_pr"];

pub fn run(ctx: &super::Ctx, args: &Args) -> Result<()> {
    let store = ctx.store()?;
    let scan = store.scan();
    ctx.warn_invalid(&store, &scan);
    let now = super::now_time();
    let from = args.since.as_deref().map(|s| since(s, now)).transpose()?;
    let in_window = |t: DateTime<Utc>| from.is_none_or(|f| t >= f);

    // Counts from the files as they are.
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_owner: BTreeMap<String, usize> = BTreeMap::new();
    for e in &scan.tasks {
        *by_status.entry(e.task.status.as_str()).or_default() += 1;
        *by_type.entry(e.task.kind.as_str()).or_default() += 1;
        let owner = e.task.owner().map_or("(nobody)".to_string(), |o| {
            crate::commands::set::person(o, &store.config)
        });
        *by_owner.entry(owner).or_default() += 1;
    }

    // The event log, oldest first.
    let (events, bad_lines) = read_events(&store.state_dir.join("events.jsonl"));
    let mut unavailable: Vec<(&str, String)> = Vec::new();
    if events.is_empty() {
        for metric in ["cycle_time", "pickup_latency", "agents", "failure_rate"] {
            unavailable.push((metric, "no events in events.jsonl yet".into()));
        }
    }

    // Lead time: created → done, from the files (outcome_at), else from the events.
    let mut done_at: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for ev in events.iter().filter(|e| e.to == "done") {
        if let Some(t) = time(&ev.time) {
            done_at.insert(ev.task.as_str(), t);
        }
    }
    let mut lead = Vec::new();
    let mut finished_in_window = 0usize;
    for e in scan
        .tasks
        .iter()
        .filter(|e| e.task.status.as_str() == "done")
    {
        let finished = done_at
            .get(e.task.id.as_str())
            .copied()
            .or_else(|| e.task.get_str("outcome_at").and_then(time));
        let Some(finished) = finished.filter(|f| in_window(*f)) else {
            continue;
        };
        finished_in_window += 1;
        if let Some(created) = e.task.created_at().and_then(time) {
            lead.push((finished - created).num_seconds());
        }
    }

    // Walk the events: who holds each task, when it became ready, claims and their endings.
    let mut holder: HashMap<&str, (String, DateTime<Utc>)> = HashMap::new();
    let mut opened: HashMap<&str, DateTime<Utc>> = HashMap::new();
    let mut cycle = Vec::new();
    let mut pickup = Vec::new();
    let mut agents: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut active: BTreeSet<String> = BTreeSet::new();
    let deps_of = |id: &str| {
        scan.get(id)
            .map(|e| e.task.depends_on().to_vec())
            .unwrap_or_default()
    };
    for ev in &events {
        let Some(at) = time(&ev.time) else { continue };
        if ev.fix.is_some() {
            continue;
        }
        let id = ev.task.as_str();
        if ev.to == "open" {
            opened.insert(id, at);
        }
        if ev.to == "in_progress" && ev.from.as_deref() == Some("open") {
            let who = lifecycle::canonical(&ev.actor, &store.config);
            if in_window(at) {
                active.insert(who.clone());
                // Ready when it was open and every dependency was done, whichever came last.
                let ready = deps_of(id)
                    .iter()
                    .map(|d| done_at.get(d.as_str()).copied())
                    .chain(std::iter::once(opened.get(id).copied()))
                    .collect::<Option<Vec<_>>>()
                    .and_then(|ts| ts.into_iter().max());
                if let Some(ready) = ready.filter(|r| *r <= at) {
                    pickup.push((at - ready).num_seconds());
                }
            }
            holder.insert(id, (who, at));
            continue;
        }
        let Some(outcome) = ev.outcome.as_deref() else {
            continue;
        };
        if !in_window(at) {
            continue;
        }
        *outcomes.entry(outcome.to_string()).or_default() += 1;
        // The claim's holder gets the outcome, whoever wrote it (an expiry is written by the
        // sweep).
        let who = holder
            .get(id)
            .map(|(w, _)| w.clone())
            .unwrap_or_else(|| lifecycle::canonical(&ev.actor, &store.config));
        let slot = match outcome {
            o if DONE.contains(&o) => Some(0),
            "failed" => Some(1),
            "released" => Some(2),
            "expired" => Some(3),
            _ => None,
        };
        if let Some(slot) = slot {
            agents.entry(who).or_default()[slot] += 1;
        }
        if ev.to == "done"
            && let Some((_, claimed)) = holder.get(id)
        {
            cycle.push((at - *claimed).num_seconds());
        }
    }
    if !events.is_empty() && cycle.is_empty() {
        unavailable.push(("cycle_time", "no claim ended done in the window".into()));
    }
    if !events.is_empty() && pickup.is_empty() {
        unavailable.push((
            "pickup_latency",
            "no claim of a task that became ready in the window".into(),
        ));
    }
    // `needs_review` is not the end of an attempt: the claim goes on into review.
    let ended: usize = outcomes
        .iter()
        .filter(|(o, _)| o.as_str() != "needs_review")
        .map(|(_, n)| n)
        .sum();
    let failure_rate =
        (ended > 0).then(|| outcomes.get("failed").copied().unwrap_or(0) as f64 / ended as f64);
    let attempts: u32 = scan.tasks.iter().map(|e| e.task.attempts()).sum();
    let first = events.first().and_then(|e| time(&e.time));
    let start = from.or(first).or_else(|| {
        scan.tasks
            .iter()
            .filter_map(|e| e.task.created_at().and_then(time))
            .min()
    });
    let days = start.map(|s| ((now - s).num_seconds() as f64 / 86_400.0).max(1.0));
    let throughput = days.map(|d| finished_in_window as f64 / d);
    // Agents holding a live claim are active now, whenever they claimed.
    for e in scan.tasks.iter().filter(|e| e.task.status.is_claimed()) {
        if let Some(h) = e.task.claimed_by() {
            active.insert(lifecycle::canonical(h, &store.config));
        }
    }
    let live = scan
        .tasks
        .iter()
        .filter(|e| e.task.status.is_claimed())
        .count();
    let utilization = (!active.is_empty()).then(|| live as f64 / active.len() as f64);

    let spread_json = |s: Option<Spread>| {
        s.map(|s| json!({"count": s.count, "p50_seconds": s.p50, "p90_seconds": s.p90}))
    };
    let (lead_s, cycle_s, pickup_s) = (spread(lead), spread(cycle), spread(pickup));
    if lead_s.is_none() {
        unavailable.push((
            "lead_time",
            "no task with a created_at finished in the window".into(),
        ));
    }
    if !events.is_empty() && failure_rate.is_none() {
        unavailable.push(("failure_rate", "no claim ended in the window".into()));
    }
    if utilization.is_none() {
        unavailable.push(("utilization", "no agent was active in the window".into()));
    }
    if ctx.out.json {
        ctx.out.print_json(&json!({
            "schema_version": SCHEMA_VERSION,
            "since": from.map(fmt),
            "now": fmt(now),
            "counts": {"by_status": by_status, "by_type": by_type, "by_owner": by_owner},
            "lead_time": spread_json(lead_s.clone()),
            "cycle_time": spread_json(cycle_s.clone()),
            "pickup_latency": spread_json(pickup_s.clone()),
            "outcomes": outcomes,
            "attempts": attempts,
            "failure_rate": failure_rate,
            "agents": agents.iter().map(|(a, c)| json!({
                "agent": a, "completed": c[0], "failed": c[1], "released": c[2], "expired": c[3],
            })).collect::<Vec<_>>(),
            "finished": finished_in_window,
            "throughput_per_day": throughput,
            "utilization": {"live_claims": live, "active_agents": active.len(), "ratio": utilization},
            "unavailable": unavailable.iter().map(|(m, r)| json!({"metric": m, "reason": r})).collect::<Vec<_>>(),
            "unreadable_events": bad_lines,
        }));
        return Ok(());
    }
    let join = |pairs: Vec<(String, usize)>| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    crate::outln!(
        "window: {}",
        from.map_or("everything".to_string(), |f| format!("since {}", fmt(f)))
    );
    crate::outln!(
        "status: {}",
        join(by_status.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    );
    crate::outln!(
        "type: {}",
        join(by_type.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    );
    crate::outln!(
        "owner: {}",
        join(by_owner.iter().map(|(k, v)| (k.clone(), *v)).collect())
    );
    let show = |name: &str, s: &Option<Spread>| match s {
        Some(s) => crate::outln!(
            "{name}: p50 {} · p90 {} (of {})",
            human(s.p50),
            human(s.p90),
            s.count
        ),
        None => crate::outln!("{name}: -"),
    };
    show("lead time (created → done)", &lead_s);
    show("cycle time (claimed → done)", &cycle_s);
    show("pickup latency (ready → claimed)", &pickup_s);
    crate::outln!(
        "finished: {finished_in_window}{}",
        throughput.map_or(String::new(), |t| format!(" ({t:.2} per day)"))
    );
    if !outcomes.is_empty() {
        crate::outln!(
            "outcomes: {}{}",
            join(outcomes.iter().map(|(k, v)| (k.clone(), *v)).collect()),
            failure_rate.map_or(String::new(), |r| format!(
                " · failure rate {:.0}%",
                r * 100.0
            ))
        );
    }
    crate::outln!("attempts recorded: {attempts}");
    for (a, c) in &agents {
        crate::outln!(
            "agent {a}: completed {} · failed {} · released {} · expired {}",
            c[0],
            c[1],
            c[2],
            c[3]
        );
    }
    crate::outln!(
        "utilization: {live} live claim{} for {} active agent{}{}",
        if live == 1 { "" } else { "s" },
        active.len(),
        if active.len() == 1 { "" } else { "s" },
        utilization.map_or(String::new(), |u| format!(" ({:.0}%)", u * 100.0))
    );
    for (metric, reason) in &unavailable {
        ctx.out.warn(&format!("{metric}: not computed: {reason}"));
    }
    if bad_lines > 0 {
        ctx.out.warn(&format!(
            "{bad_lines} line(s) of events.jsonl could not be read (skipped)"
        ));
    }
    Ok(())
}

fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Seconds for people: `45s`, `12m`, `3.5h`, `2.1d`.
fn human(secs: i64) -> String {
    let s = secs.max(0) as f64;
    match secs {
        ..60 => format!("{secs}s"),
        60..3600 => format!("{:.0}m", s / 60.0),
        3600..86_400 => format!("{:.1}h", s / 3600.0),
        _ => format!("{:.1}d", s / 86_400.0),
    }
}

/// The events, oldest first, and how many lines could not be read.
fn read_events(path: &std::path::Path) -> (Vec<Event>, usize) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return (Vec::new(), 0);
    };
    let mut bad = 0;
    let mut events: Vec<Event> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str::<Event>(l) {
            Ok(e) => Some(e),
            Err(_) => {
                bad += 1;
                None
            }
        })
        .collect();
    events.sort_by_key(|e| time(&e.time));
    (events, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(spread(vec![]), None);
        let s = spread(vec![5]).unwrap();
        assert_eq!((s.p50, s.p90), (5, 5));
        // 10 values 1..=10: p50 is the 5th, p90 the 9th.
        let s = spread((1..=10).rev().collect()).unwrap();
        assert_eq!((s.count, s.p50, s.p90), (10, 5, 9));
        // 4 values: p50 is the 2nd, p90 the 4th.
        let s = spread(vec![40, 10, 30, 20]).unwrap();
        assert_eq!((s.p50, s.p90), (20, 40));
    }
}
