//! The dependency graph: `dependency_cycle` and `dangling_dependency`.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::{Severity, Signal};
use crate::store::Scan;

pub fn signals(scan: &Scan) -> Vec<Signal> {
    let mut out = Vec::new();
    // The scan's own index answers for readable tasks; only unreadable files need a set.
    let unreadable: HashSet<&str> = scan
        .invalid
        .iter()
        .filter_map(|i| i.id.as_deref())
        .collect();
    // One pass over every dependency: the graph, and the names no task has.
    let mut missing: Vec<(usize, &str)> = Vec::new();
    let edges = Edges::build(scan, |task, dep| {
        if !unreadable.contains(dep) {
            missing.push((task, dep));
        }
    });
    for group in missing.chunk_by(|a, b| a.0 == b.0) {
        let names: Vec<&str> = group.iter().map(|(_, d)| *d).collect();
        out.push(Signal {
            task: Some(scan.tasks[group[0].0].task.id.clone()),
            kind: "dangling_dependency",
            severity: Severity::Warn,
            detail: format!(
                "depends on {}, which no task has as its id",
                names.join(", ")
            ),
            evidence: json!({ "missing": names }),
        });
    }
    for found in cycles_in(scan, &edges) {
        let cycle = &found.path;
        let path = format!("{} → {}", cycle.join(" → "), cycle[0]);
        for id in &found.members {
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
/// A group of tasks that depend on each other in a loop: every member, and one real loop
/// through the first of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Loop {
    pub path: Vec<String>,
    pub members: Vec<String>,
}

pub fn cycles(scan: &Scan) -> Vec<Loop> {
    cycles_in(scan, &Edges::build(scan, |_, _| {}))
}

fn cycles_in(scan: &Scan, edges: &Edges) -> Vec<Loop> {
    let mut out = Vec::new();
    for component in strongly_connected(edges) {
        let mut members: Vec<String> = component
            .iter()
            .map(|&i| scan.tasks[i].task.id.clone())
            .collect();
        members.sort();
        out.push(Loop {
            path: order_cycle(&component, edges, scan),
            members,
        });
    }
    out.sort();
    out
}

/// The dependency graph in one pair of arrays: task `v` depends on
/// `targets[starts[v]..starts[v + 1]]` (positions in the scan).
struct Edges {
    starts: Vec<u32>,
    targets: Vec<u32>,
}

impl Edges {
    /// The graph of the scan's tasks; `dangling` hears of each dependency no task in the
    /// scan has (the position of the task naming it, and the name).
    fn build<'s>(scan: &'s Scan, mut dangling: impl FnMut(usize, &'s str)) -> Edges {
        let mut starts = Vec::with_capacity(scan.tasks.len() + 1);
        let mut targets = Vec::with_capacity(scan.tasks.len());
        for (v, e) in scan.tasks.iter().enumerate() {
            starts.push(targets.len() as u32);
            for d in e.task.depends_on().iter() {
                match scan.position(d) {
                    Some(i) => targets.push(i as u32),
                    None => dangling(v, d),
                }
            }
        }
        starts.push(targets.len() as u32);
        Edges { starts, targets }
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// The positions `v` depends on.
    fn out(&self, v: usize) -> impl Iterator<Item = usize> + '_ {
        self.targets[self.starts[v] as usize..self.starts[v + 1] as usize]
            .iter()
            .map(|&w| w as usize)
    }

    fn nth(&self, v: usize, n: usize) -> Option<usize> {
        let at = self.starts[v] as usize + n;
        (at < self.starts[v + 1] as usize).then(|| self.targets[at] as usize)
    }
}

/// A real loop through the component's smallest id: the shortest way from it, along
/// `depends_on`, back to itself (every step is an edge of the graph).
fn order_cycle(component: &[usize], edges: &Edges, scan: &Scan) -> Vec<String> {
    let members: HashSet<usize> = component.iter().copied().collect();
    let id = |i: usize| scan.tasks[i].task.id.clone();
    let start = *component
        .iter()
        .min_by_key(|&&i| id(i))
        .unwrap_or(&component[0]);
    let mut came_from: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::new();
    for n in edges.out(start).filter(|n| members.contains(n)) {
        if n == start {
            return vec![id(start)];
        }
        if let std::collections::hash_map::Entry::Vacant(v) = came_from.entry(n) {
            v.insert(start);
            queue.push_back(n);
        }
    }
    while let Some(at) = queue.pop_front() {
        for n in edges.out(at).filter(|n| members.contains(n)) {
            if n == start {
                let mut path = vec![at];
                let mut cur = at;
                while let Some(&prev) = came_from.get(&cur) {
                    if prev == start {
                        break;
                    }
                    path.push(prev);
                    cur = prev;
                }
                path.push(start);
                path.reverse();
                return path.into_iter().map(id).collect();
            }
            if let std::collections::hash_map::Entry::Vacant(v) = came_from.entry(n) {
                v.insert(at);
                queue.push_back(n);
            }
        }
    }
    vec![id(start)]
}

/// Tarjan's algorithm, iterative (deep graphs must not overflow the stack). Only the
/// components that loop are returned: more than one task, or a task that names itself.
fn strongly_connected(edges: &Edges) -> Vec<Vec<usize>> {
    let n = edges.len();
    let mut index = vec![u32::MAX; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root] != u32::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 && index[v] == u32::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(w) = edges.nth(v, *child) {
                *child += 1;
                if index[w] == u32::MAX {
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
                if stack.last() == Some(&v) {
                    // A component of one task: a loop only if it names itself.
                    stack.pop();
                    on_stack[v] = false;
                    if edges.out(v).any(|w| w == v) {
                        out.push(vec![v]);
                    }
                    continue;
                }
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
