//! The dependency graph as data: tracks (independent groups of tasks), their order and
//! critical paths, file conflicts between tracks, and a plan for N agents. Pure: tasks in,
//! answers out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the graph needs to know of a task.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub depends_on: Vec<String>,
    /// Globs of the files the task expects to touch.
    pub files: Vec<String>,
    pub ready: bool,
    pub priority: u8,
}

/// A connected group of tasks: nothing outside it depends on them, nor they on anything
/// outside it (among the tasks given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// Tasks in dependency order (each after what it depends on; ties by priority, then id).
    pub tasks: Vec<String>,
    /// The longest chain of dependencies, in tasks.
    pub critical_path: Vec<String>,
    pub ready: usize,
    /// Indexes of other tracks whose `files:` globs overlap this one's.
    pub conflicts: Vec<usize>,
}

/// Splits the tasks into tracks, largest critical path first (then first id).
pub fn tracks(nodes: &[Node]) -> Vec<Track> {
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    // Union-find over dependency edges between the given tasks.
    let mut parent: Vec<usize> = (0..nodes.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, n) in nodes.iter().enumerate() {
        for d in &n.depends_on {
            if let Some(&j) = index.get(d.as_str()) {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..nodes.len() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let mut out: Vec<Track> = groups
        .into_values()
        .map(|members| {
            let order = topo_order(nodes, &members, &index);
            let critical_path = critical_path(nodes, &order, &index);
            Track {
                ready: members.iter().filter(|&&i| nodes[i].ready).count(),
                tasks: order.iter().map(|&i| nodes[i].id.clone()).collect(),
                critical_path,
                conflicts: Vec::new(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.critical_path
            .len()
            .cmp(&a.critical_path.len())
            .then_with(|| a.tasks.iter().min().cmp(&b.tasks.iter().min()))
    });
    // File conflicts between tracks. Two globs can only match one path if the literal part
    // before the first wildcard of one starts the other's; sorted by that part, the candidates
    // for each glob are the ones right after it.
    let mut globs: Vec<(&str, usize, &str)> = Vec::new();
    for (t, track) in out.iter().enumerate() {
        for id in &track.tasks {
            for g in &nodes[index[id.as_str()]].files {
                let g = g.trim_start_matches("./");
                let literal = &g[..g.find(['*', '?']).unwrap_or(g.len())];
                globs.push((literal, t, g));
            }
        }
    }
    globs.sort_unstable();
    let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
    for (k, &(prefix, a, ga)) in globs.iter().enumerate() {
        for &(_, b, gb) in globs[k + 1..]
            .iter()
            .take_while(|(other, _, _)| other.starts_with(prefix))
        {
            if a != b && !pairs.contains(&(a.min(b), a.max(b))) && globs_overlap(ga, gb) {
                pairs.insert((a.min(b), a.max(b)));
            }
        }
    }
    for (a, b) in pairs {
        out[a].conflicts.push(b);
        out[b].conflicts.push(a);
    }
    out
}

/// Kahn's algorithm within one track; ties (and tasks in a cycle, appended last) by priority
/// then id.
fn topo_order(nodes: &[Node], members: &[usize], index: &HashMap<&str, usize>) -> Vec<usize> {
    let inside: BTreeSet<usize> = members.iter().copied().collect();
    let deps = |i: usize| -> Vec<usize> {
        nodes[i]
            .depends_on
            .iter()
            .filter_map(|d| index.get(d.as_str()).copied())
            .filter(|j| inside.contains(j) && *j != i)
            .collect()
    };
    let mut waiting: HashMap<usize, usize> = members.iter().map(|&i| (i, deps(i).len())).collect();
    let mut dependents: HashMap<usize, Vec<usize>> = HashMap::new();
    for &i in members {
        for j in deps(i) {
            dependents.entry(j).or_default().push(i);
        }
    }
    let key = |i: &usize| (nodes[*i].priority, nodes[*i].id.clone());
    let mut free: BTreeSet<(u8, String, usize)> = members
        .iter()
        .filter(|i| waiting[i] == 0)
        .map(|&i| (key(&i).0, key(&i).1, i))
        .collect();
    let mut order = Vec::new();
    while let Some(first) = free.iter().next().cloned() {
        free.remove(&first);
        let i = first.2;
        order.push(i);
        for &d in dependents.get(&i).into_iter().flatten() {
            let w = waiting.get_mut(&d).expect("a member");
            *w -= 1;
            if *w == 0 {
                free.insert((key(&d).0, key(&d).1, d));
            }
        }
    }
    let placed: BTreeSet<usize> = order.iter().copied().collect();
    let mut rest: Vec<usize> = members
        .iter()
        .copied()
        .filter(|i| !placed.contains(i))
        .collect();
    rest.sort_by_key(key);
    order.extend(rest);
    order
}

/// The longest chain of dependencies in a track given in dependency order.
fn critical_path(nodes: &[Node], order: &[usize], index: &HashMap<&str, usize>) -> Vec<String> {
    let pos: HashMap<usize, usize> = order.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    let mut best: Vec<(usize, Option<usize>)> = vec![(1, None); order.len()];
    for (p, &i) in order.iter().enumerate() {
        for d in &nodes[i].depends_on {
            let Some(&j) = index.get(d.as_str()) else {
                continue;
            };
            let Some(&q) = pos.get(&j) else { continue };
            // Only edges that go forward in the order count (a cycle has none to count).
            if q < p && best[q].0 + 1 > best[p].0 {
                best[p] = (best[q].0 + 1, Some(q));
            }
        }
    }
    let Some(end) = (0..order.len()).max_by_key(|&p| (best[p].0, std::cmp::Reverse(p))) else {
        return Vec::new();
    };
    let mut path = vec![nodes[order[end]].id.clone()];
    let mut at = end;
    while let Some(prev) = best[at].1 {
        path.push(nodes[order[prev]].id.clone());
        at = prev;
    }
    path.reverse();
    path
}

/// Whether some path could match both globs (`*` within a folder, `**` across folders, `?` one
/// character). Decided exactly for these patterns by walking both at once.
pub fn globs_overlap(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.trim_start_matches("./").chars().collect();
    let b: Vec<char> = b.trim_start_matches("./").chars().collect();
    let mut seen = BTreeSet::new();
    overlap(&a, &b, &mut seen)
}

fn overlap(a: &[char], b: &[char], seen: &mut BTreeSet<(usize, usize)>) -> bool {
    // A search over (rest of a, rest of b); a state seen before leads nowhere new.
    if !seen.insert((a.len(), b.len())) {
        return false;
    }
    if a.is_empty() && b.is_empty() {
        return true;
    }
    let star = |p: &[char]| -> Option<(bool, usize)> {
        match p {
            ['*', '*', ..] => Some((true, 2)),
            ['*', ..] => Some((false, 1)),
            _ => None,
        }
    };
    // A star matches nothing, or one more character of the other side (not `/` unless `**`).
    let takes = |deep: bool, c: &char| deep || *c != '/';
    // `**/` also matches no folder at all (`src/**/*.rs` matches `src/main.rs`).
    if a.starts_with(&['*', '*', '/']) && overlap(&a[3..], b, seen) {
        return true;
    }
    if b.starts_with(&['*', '*', '/']) && overlap(a, &b[3..], seen) {
        return true;
    }
    if let Some((deep, n)) = star(a) {
        if overlap(&a[n..], b, seen) {
            return true;
        }
        if let Some((c, rest)) = b.split_first()
            && takes(deep, c)
            && overlap(a, rest, seen)
        {
            return true;
        }
    }
    if let Some((deep, n)) = star(b) {
        if overlap(a, &b[n..], seen) {
            return true;
        }
        if let Some((c, rest)) = a.split_first()
            && takes(deep, c)
            && overlap(rest, b, seen)
        {
            return true;
        }
    }
    if star(a).is_some() || star(b).is_some() {
        return false;
    }
    match (a, b) {
        ([x, ra @ ..], [y, rb @ ..]) => {
            let any = |c: &char, other: &char| *c == '?' && *other != '/';
            (x == y || any(x, y) || any(y, x)) && overlap(ra, rb, seen)
        }
        _ => false,
    }
}

/// Assigns tracks to `agents` agents: tracks that conflict go to the same agent (one after the
/// other, so they never run at once); groups are handed out longest first to the agent with
/// the least work, work being the sum of critical-path lengths.
pub fn plan(tracks: &[Track], agents: usize) -> Vec<Vec<usize>> {
    let agents = agents.max(1);
    let mut group_of: Vec<Option<usize>> = vec![None; tracks.len()];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for start in 0..tracks.len() {
        if group_of[start].is_some() {
            continue;
        }
        let g = groups.len();
        let mut stack = vec![start];
        let mut members = Vec::new();
        group_of[start] = Some(g);
        while let Some(t) = stack.pop() {
            members.push(t);
            for &c in &tracks[t].conflicts {
                if group_of[c].is_none() {
                    group_of[c] = Some(g);
                    stack.push(c);
                }
            }
        }
        members.sort_unstable();
        groups.push(members);
    }
    let weight =
        |g: &Vec<usize>| -> usize { g.iter().map(|&t| tracks[t].critical_path.len()).sum() };
    groups.sort_by(|a, b| weight(b).cmp(&weight(a)).then_with(|| a.cmp(b)));
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); agents];
    let mut load = vec![0usize; agents];
    for g in groups {
        let (agent, _) = load
            .iter()
            .enumerate()
            .min_by_key(|(i, l)| (**l, *i))
            .expect("at least one agent");
        load[agent] += weight(&g);
        out[agent].extend(g);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, deps: &[&str], files: &[&str]) -> Node {
        Node {
            id: id.into(),
            depends_on: deps.iter().map(|s| s.to_string()).collect(),
            files: files.iter().map(|s| s.to_string()).collect(),
            ready: deps.is_empty(),
            priority: 2,
        }
    }

    #[test]
    fn components_order_and_critical_paths() {
        // a <- b <- d, a <- c ; e alone ; f <- g
        let nodes = vec![
            node("d", &["b"], &[]),
            node("b", &["a"], &[]),
            node("c", &["a"], &[]),
            node("a", &[], &[]),
            node("e", &[], &[]),
            node("g", &["f"], &[]),
            node("f", &[], &[]),
        ];
        let t = tracks(&nodes);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].tasks, ["a", "b", "c", "d"]);
        assert_eq!(t[0].critical_path, ["a", "b", "d"]);
        assert_eq!(t[0].ready, 1);
        assert_eq!(t[1].tasks, ["f", "g"]);
        assert_eq!(t[2].tasks, ["e"]);
        assert_eq!(t[2].critical_path, ["e"]);
    }

    #[test]
    fn globs_overlap_when_some_path_matches_both() {
        assert!(globs_overlap("src/*.rs", "src/main.rs"));
        assert!(globs_overlap("src/**", "src/a/b/c.rs"));
        assert!(globs_overlap("src/*.rs", "src/lib.*"));
        assert!(globs_overlap("**/*.md", "docs/x.md"));
        assert!(!globs_overlap("src/*.rs", "src/a/b.rs"));
        assert!(!globs_overlap("src/*.rs", "docs/*.md"));
        assert!(!globs_overlap("scripts/pool.sh", "scripts/pool-manager.sh"));
        assert!(globs_overlap("scripts/pool?.sh", "scripts/pool2.sh"));
        assert!(globs_overlap("src/**/*.rs", "src/main.rs"));
        assert!(globs_overlap("**/*.md", "README.md"));
    }

    #[test]
    fn conflicting_tracks_share_an_agent_and_load_is_balanced() {
        let nodes = vec![
            node("a1", &[], &["src/pool.rs"]),
            node("a2", &["a1"], &[]),
            node("a3", &["a2"], &[]),
            node("b1", &[], &["src/*.rs"]),
            node("c1", &[], &["docs/x.md"]),
            node("c2", &["c1"], &[]),
            node("d1", &[], &[]),
        ];
        let t = tracks(&nodes);
        let names: Vec<&str> = t.iter().map(|t| t.tasks[0].as_str()).collect();
        assert_eq!(names, ["a1", "c1", "b1", "d1"]);
        assert_eq!(t[0].conflicts, [2]);
        let p = plan(&t, 3);
        // a (3) + b (1) together: 4; c (2); d (1).
        assert_eq!(p, vec![vec![0, 2], vec![1], vec![3]]);
        assert_eq!(plan(&t, 1), vec![vec![0, 2, 1, 3]]);
    }
}
