//! The dependency graph: `dependency_cycle` and `dangling_dependency`.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::{Severity, Signal};
use crate::store::Scan;

pub fn signals(scan: &Scan) -> Vec<Signal> {
    let mut out = Vec::new();
    let known: HashSet<&str> = scan
        .tasks
        .iter()
        .map(|e| e.task.id.as_str())
        .chain(scan.invalid.iter().filter_map(|i| i.id.as_deref()))
        .collect();
    for e in &scan.tasks {
        let missing: Vec<&str> = e
            .task
            .depends_on
            .iter()
            .map(String::as_str)
            .filter(|d| !known.contains(d))
            .collect();
        if !missing.is_empty() {
            out.push(Signal {
                task: Some(e.task.id.clone()),
                kind: "dangling_dependency",
                severity: Severity::Warn,
                detail: format!(
                    "depends on {}, which no task has as its id",
                    missing.join(", ")
                ),
                evidence: json!({ "missing": missing }),
            });
        }
    }
    for cycle in cycles(scan) {
        let path = format!("{} → {}", cycle.join(" → "), cycle[0]);
        for id in &cycle {
            out.push(Signal {
                task: Some(id.clone()),
                kind: "dependency_cycle",
                severity: Severity::Error,
                detail: format!("depends_on loops: {path}"),
                evidence: json!({ "cycle": cycle }),
            });
        }
    }
    out
}

/// Every dependency loop, once each (the strongly connected components with more than one
/// task, or a task that depends on itself), each in the order its edges run.
pub fn cycles(scan: &Scan) -> Vec<Vec<String>> {
    let index: HashMap<&str, usize> = scan
        .tasks
        .iter()
        .enumerate()
        .map(|(i, e)| (e.task.id.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = scan
        .tasks
        .iter()
        .map(|e| {
            e.task
                .depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    for component in strongly_connected(&edges) {
        let looped = component.len() > 1 || edges[component[0]].contains(&component[0]);
        if !looped {
            continue;
        }
        out.push(order_cycle(&component, &edges, scan));
    }
    out.sort();
    out
}

/// Walks the component along its edges from its smallest id, for a readable path.
fn order_cycle(component: &[usize], edges: &[Vec<usize>], scan: &Scan) -> Vec<String> {
    let members: HashSet<usize> = component.iter().copied().collect();
    let id = |i: usize| scan.tasks[i].task.id.clone();
    let start = *component
        .iter()
        .min_by_key(|&&i| id(i))
        .unwrap_or(&component[0]);
    let mut path = vec![start];
    let mut seen: HashSet<usize> = HashSet::from([start]);
    let mut at = start;
    while let Some(&next) = edges[at]
        .iter()
        .find(|n| members.contains(n) && !seen.contains(n))
    {
        path.push(next);
        seen.insert(next);
        at = next;
    }
    // Members the walk did not reach (a component with branches) are listed after it.
    let mut rest: Vec<usize> = component
        .iter()
        .copied()
        .filter(|i| !seen.contains(i))
        .collect();
    rest.sort_by_key(|&i| id(i));
    path.extend(rest);
    path.into_iter().map(id).collect()
}

/// Tarjan's algorithm, iterative (deep graphs must not overflow the stack).
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = edges[v].get(*child) {
                *child += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(component);
            }
        }
    }
    out
}
