//! The three-way merge of a task file: B is the file at the merge-base, W the worktree's copy,
//! R the root's. Pure: texts in, a plan out. Reconcile writes the plan; drift reports it.
//!
//! Per frontmatter key: W = R → nothing; W = B → the root keeps its value; R = B → take W;
//! otherwise a conflict, except `status` (the more progressed state wins) and lists (merged as
//! sets). The claim fields always keep the root's value. The body merges line by line; lines
//! both sides inserted at the same place are all kept, so notes appended on both sides survive.

use serde_norway::{Mapping, Value};

use crate::lifecycle::CLAIM_KEYS;
use crate::task::Status;
use crate::task::edit::parse_mapping;
use crate::task::split::{LinesWithEnds, split};

/// Settles conflicts in favour of one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Prefer {
    Worktree,
    Root,
}

/// A frontmatter key the worktree changed and the root lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMerge {
    pub key: String,
    pub base: Option<Value>,
    pub root: Option<Value>,
    pub worktree: Option<Value>,
    pub resolution: Resolution,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Set the root to this value (`None`: remove the key).
    Take(Option<Value>),
    /// Both sides changed the key differently; the root keeps its value.
    Conflict,
    /// A conflict settled by `--prefer`: set the root to this value.
    Preferred(Option<Value>),
    /// Lists merged as sets: set the root to the union of both sides' changes.
    Merged(Value),
}

impl Resolution {
    /// The value the root gets, if it changes.
    pub fn value(&self) -> Option<Option<&Value>> {
        match self {
            Resolution::Take(v) | Resolution::Preferred(v) => Some(v.as_ref()),
            Resolution::Merged(v) => Some(Some(v)),
            Resolution::Conflict => None,
        }
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, Resolution::Conflict)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Resolution::Take(_) => "take_worktree",
            Resolution::Conflict => "conflict",
            Resolution::Preferred(_) => "preferred",
            Resolution::Merged(_) => "merged",
        }
    }
}

/// The body, merged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BodyMerge {
    /// The merged body; equal to the root's when nothing from the worktree applies.
    pub text: String,
    /// Lines the worktree added (or changed) that the merge takes into the root.
    pub added: usize,
    /// Lines the worktree removed that the merge removes from the root.
    pub removed: usize,
    /// Places where both sides changed the same lines differently and nothing settled it.
    pub conflicts: usize,
    /// Conflicting places settled by `--prefer`.
    pub preferred: usize,
}

impl BodyMerge {
    pub fn changes_root(&self, root: &str) -> bool {
        self.text != root
    }
}

/// Everything the worktree copy has that the root lacks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub keys: Vec<KeyMerge>,
    pub body: BodyMerge,
    /// The root's body as it was, to tell whether the merge changes it.
    pub root_body: String,
}

impl Plan {
    pub fn conflicts(&self) -> usize {
        self.keys
            .iter()
            .filter(|k| k.resolution.is_conflict())
            .count()
            + self.body.conflicts
    }

    pub fn body_changes(&self) -> bool {
        self.body.changes_root(&self.root_body)
    }

    /// True when the worktree copy has nothing the root lacks.
    pub fn is_clean(&self) -> bool {
        self.keys.is_empty() && !self.body_changes() && self.body.conflicts == 0
    }
}

/// Why a file could not take part in the merge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(pub String);

/// Plans the merge of one task file. `base` is `None` when the file did not exist at the
/// merge-base.
pub fn plan(
    base: Option<&str>,
    root: &str,
    worktree: &str,
    prefer: Option<Prefer>,
) -> Result<Plan, MergeError> {
    plan_with(base, root, worktree, prefer, Sides::Worktree)
}

/// Plans the merge of one task file between two clones of the repository: `root` is this
/// clone's copy, `worktree` the remote's. Unlike a worktree copy, a clone makes claims of its
/// own, so the claim fields merge three-way like any key (two different claims conflict), and
/// `updated_at` takes the later time.
pub fn plan_clones(
    base: Option<&str>,
    root: &str,
    worktree: &str,
    prefer: Option<Prefer>,
) -> Result<Plan, MergeError> {
    plan_with(base, root, worktree, prefer, Sides::Clones)
}

/// What the two sides of a merge are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sides {
    /// The root and a worktree copy: claims are made in the root only.
    Worktree,
    /// Two clones: either may have made a claim.
    Clones,
}

fn plan_with(
    base: Option<&str>,
    root: &str,
    worktree: &str,
    prefer: Option<Prefer>,
    sides: Sides,
) -> Result<Plan, MergeError> {
    let parts = |text: &str, side: &str| -> Result<(Mapping, String), MergeError> {
        let s = split(text).map_err(|e| MergeError(format!("the {side} copy: {e}")))?;
        let m = parse_mapping(s.frontmatter)
            .map_err(|e| MergeError(format!("the {side} copy: {e}")))?;
        Ok((m, s.body.to_string()))
    };
    let (b_map, b_body) = match base {
        Some(text) => match parts(text, "merge-base") {
            Ok(p) => p,
            // A base that does not parse gives no common ground: every difference is a
            // conflict, never a guess.
            Err(_) => (Mapping::new(), String::new()),
        },
        None => (Mapping::new(), String::new()),
    };
    let (r_map, r_body) = parts(root, "root")?;
    let (w_map, w_body) = parts(worktree, "worktree")?;
    let keys = merge_keys(&b_map, &r_map, &w_map, prefer, sides);
    let body = merge_body(base.map(|_| b_body.as_str()), &r_body, &w_body, prefer);
    Ok(Plan {
        keys,
        body,
        root_body: r_body,
    })
}

fn merge_keys(
    b: &Mapping,
    r: &Mapping,
    w: &Mapping,
    prefer: Option<Prefer>,
    sides: Sides,
) -> Vec<KeyMerge> {
    let clones = sides == Sides::Clones;
    let mut keys: Vec<&Value> = Vec::new();
    for k in w.keys().chain(b.keys()) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut out = Vec::new();
    for k in keys {
        let Some(name) = k.as_str() else { continue };
        if !clones && (CLAIM_KEYS.contains(&name) || name == "updated_at") {
            continue;
        }
        let bv = b.get(k);
        let rv = r.get(k);
        let wv = w.get(k);
        if wv == rv || wv == bv {
            continue;
        }
        let resolution = if name == "updated_at" {
            // Both sides touched the task: the later time is the truth.
            let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
            (text(wv) > text(rv)).then(|| Resolution::Take(wv.cloned()))
        } else if name == "status" {
            merge_status(bv, rv, wv, sides)
        } else if let Some(merged) = merge_set(bv, rv, wv) {
            if Some(&merged) == rv {
                continue;
            }
            Some(Resolution::Merged(merged))
        } else if rv == bv {
            Some(Resolution::Take(wv.cloned()))
        } else {
            Some(Resolution::Conflict)
        };
        let Some(mut resolution) = resolution else {
            continue;
        };
        let unsettleable = !clones
            && name == "status"
            && matches!((status_of(rv), status_of(wv)), (Some(r), Some(w)) if starts_claim(r, w));
        if resolution.is_conflict() && prefer == Some(Prefer::Worktree) && !unsettleable {
            resolution = Resolution::Preferred(wv.cloned());
        } else if resolution.is_conflict() && prefer == Some(Prefer::Root) {
            continue;
        }
        out.push(KeyMerge {
            key: name.to_string(),
            base: bv.cloned(),
            root: rv.cloned(),
            worktree: wv.cloned(),
            resolution,
        });
    }
    out
}

/// One task file merged between two clones: this clone's text with every change the other
/// made, or what conflicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneMerge {
    /// The merged text; this clone's own when there are conflicts.
    pub text: String,
    /// One line per conflicting key (`key: base X, here Y, remote Z`) or body.
    pub conflicts: Vec<String>,
}

/// Merges the other clone's copy (`theirs`) into this clone's (`ours`), key by key against
/// `base` (see `plan_clones`), changing only the lines that differ. Conflicts leave `ours`
/// as it is.
pub fn merge_clones(
    base: Option<&str>,
    ours: &str,
    theirs: &str,
    prefer: Option<Prefer>,
) -> Result<CloneMerge, MergeError> {
    let plan = plan_clones(base, ours, theirs, prefer)?;
    let show = |v: &Option<Value>| match v {
        None => "(none)".to_string(),
        Some(v) => serde_norway::to_string(v)
            .map(|t| t.trim().to_string())
            .unwrap_or_default(),
    };
    let mut conflicts: Vec<String> = plan
        .keys
        .iter()
        .filter(|k| k.resolution.is_conflict())
        .map(|k| {
            format!(
                "{}: base {}, here {}, remote {}",
                k.key,
                show(&k.base),
                show(&k.root),
                show(&k.worktree)
            )
        })
        .collect();
    if plan.body.conflicts > 0 {
        conflicts.push(format!(
            "body: {} place{} changed differently on both sides",
            plan.body.conflicts,
            if plan.body.conflicts == 1 { "" } else { "s" }
        ));
    }
    if !conflicts.is_empty() {
        return Ok(CloneMerge {
            text: ours.to_string(),
            conflicts,
        });
    }
    let mut edit = crate::task::Edit::default();
    for k in &plan.keys {
        match k.resolution.value() {
            Some(Some(v)) => {
                edit.set(&k.key, v.clone());
            }
            Some(None) => {
                edit.remove(&k.key);
            }
            None => {}
        }
    }
    if plan.body_changes() {
        edit.body = Some(plan.body.text.clone());
    }
    let text = if edit.is_empty() {
        ours.to_string()
    } else {
        crate::task::edit::apply(ours, &edit).map_err(|e| MergeError(e.to_string()))?
    };
    Ok(CloneMerge {
        text,
        conflicts: Vec::new(),
    })
}

/// How far along a status is: the more progressed state wins a status disagreement.
pub fn status_rank(s: Status) -> u8 {
    match s {
        Status::Open => 0,
        Status::InProgress | Status::Blocked => 1,
        Status::InReview => 2,
        Status::Done | Status::Failed | Status::Cancelled => 3,
    }
}

fn status_of(v: Option<&Value>) -> Option<Status> {
    v?.as_str()?.parse().ok()
}

/// `None`: the root keeps its status.
fn merge_status(
    b: Option<&Value>,
    r: Option<&Value>,
    w: Option<&Value>,
    sides: Sides,
) -> Option<Resolution> {
    let (bs, rs, ws) = (status_of(b), status_of(r), status_of(w));
    let take = || Resolution::Take(ws.map(|s| Value::String(s.as_str().to_string())));
    match (rs, ws) {
        // Spelled differently, same state (`completed` and `done`): nothing to do.
        (Some(r), Some(w)) if r == w => None,
        (Some(_), Some(_)) if bs == ws => None,
        // A claim is made in the root (`claim`, `start`), never brought over from a copy:
        // the claim fields would stay the root's, and nobody would hold it.
        (Some(r), Some(w))
            if sides == Sides::Worktree
                && starts_claim(r, w)
                && (bs == Some(r) || status_rank(w) > status_rank(r)) =>
        {
            Some(Resolution::Conflict)
        }
        // Finished tasks never go back on their own (only `tasks reopen` does that).
        (Some(r), Some(_)) if r.is_finished() && bs == Some(r) => Some(Resolution::Conflict),
        (Some(r), Some(w)) if bs == Some(r) => (r != w).then(take),
        (Some(r), Some(w)) => match status_rank(w).cmp(&status_rank(r)) {
            std::cmp::Ordering::Greater => Some(take()),
            std::cmp::Ordering::Less => None,
            std::cmp::Ordering::Equal => Some(Resolution::Conflict),
        },
        _ => Some(Resolution::Conflict),
    }
}

/// Whether taking the worktree's status would put an unclaimed root task under a claim.
fn starts_claim(root: Status, worktree: Status) -> bool {
    worktree.is_claimed() && !root.is_claimed()
}

/// Lists merge as sets: the root's items, less what the worktree removed, plus what it added.
/// `None` when the values are not all lists (or absent).
fn merge_set(b: Option<&Value>, r: Option<&Value>, w: Option<&Value>) -> Option<Value> {
    fn items(v: Option<&Value>) -> Option<Vec<Value>> {
        match v {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::Sequence(s)) => Some(s.clone()),
            Some(_) => None,
        }
    }
    if !matches!(w, Some(Value::Sequence(_))) && !matches!(r, Some(Value::Sequence(_))) {
        return None;
    }
    let (b, r, w) = (items(b)?, items(r)?, items(w)?);
    let mut out: Vec<Value> = r
        .iter()
        .filter(|x| !b.contains(x) || w.contains(x))
        .cloned()
        .collect();
    for x in &w {
        if !b.contains(x) && !out.contains(x) {
            out.push(x.clone());
        }
    }
    Some(Value::Sequence(out))
}

/// Merges bodies line by line (lines keep their endings). `base` is `None` when the file did
/// not exist at the merge-base.
pub fn merge_body(
    base: Option<&str>,
    root: &str,
    worktree: &str,
    prefer: Option<Prefer>,
) -> BodyMerge {
    let b: Vec<&str> = base
        .map(|t| LinesWithEnds::new(t).collect())
        .unwrap_or_default();
    let r: Vec<&str> = LinesWithEnds::new(root).collect();
    let w: Vec<&str> = LinesWithEnds::new(worktree).collect();
    let mut merge = BodyMerge::default();
    if root == worktree || base == Some(worktree) {
        merge.text = root.to_string();
        return merge;
    }
    if base == Some(root) {
        merge.text = worktree.to_string();
        let (added, removed) = changed_lines(&b, &w);
        merge.added = added;
        merge.removed = removed;
        return merge;
    }
    let mw = matching(&b, &w);
    let mr = matching(&b, &r);
    let mut out: Vec<&str> = Vec::new();
    let (mut ib, mut iw, mut ir) = (0, 0, 0);
    loop {
        while ib < b.len() && mw[ib] == Some(iw) && mr[ib] == Some(ir) {
            out.push(b[ib]);
            ib += 1;
            iw += 1;
            ir += 1;
        }
        if ib == b.len() && iw == w.len() && ir == r.len() {
            break;
        }
        let next = (ib..b.len()).find(|&j| mw[j].is_some() && mr[j].is_some());
        let (jb, jw, jr) = match next {
            Some(j) => (j, mw[j].unwrap_or(w.len()), mr[j].unwrap_or(r.len())),
            None => (b.len(), w.len(), r.len()),
        };
        let (bc, wc, rc) = (&b[ib..jb], &w[iw..jw], &r[ir..jr]);
        if wc == bc || wc == rc {
            out.extend_from_slice(rc);
        } else if rc == bc {
            out.extend_from_slice(wc);
            merge.added += wc.len();
            merge.removed += bc.len();
        } else if bc.is_empty() {
            // Both sides inserted here (notes appended on both sides): keep all of it, once.
            if is_subsequence(wc, rc) {
                out.extend_from_slice(rc);
            } else if is_subsequence(rc, wc) {
                out.extend_from_slice(wc);
                merge.added += wc.len() - rc.len();
            } else {
                let common = wc.iter().zip(rc).take_while(|(x, y)| x == y).count();
                out.extend_from_slice(rc);
                out.extend_from_slice(&wc[common..]);
                merge.added += wc.len() - common;
            }
        } else {
            match prefer {
                Some(Prefer::Worktree) => {
                    out.extend_from_slice(wc);
                    merge.preferred += 1;
                    merge.added += wc.len();
                    merge.removed += rc.len();
                }
                Some(Prefer::Root) => {
                    out.extend_from_slice(rc);
                    merge.preferred += 1;
                }
                None => {
                    out.extend_from_slice(rc);
                    merge.conflicts += 1;
                }
            }
        }
        ib = jb;
        iw = jw;
        ir = jr;
    }
    merge.text = out.concat();
    merge
}

fn is_subsequence(needle: &[&str], hay: &[&str]) -> bool {
    let mut it = hay.iter();
    needle.iter().all(|n| it.any(|h| h == n))
}

/// Lines in `new` not matched to `old`, and lines of `old` not matched in `new`.
fn changed_lines(old: &[&str], new: &[&str]) -> (usize, usize) {
    let m = matching(old, new);
    let kept = m.iter().filter(|x| x.is_some()).count();
    (new.len() - kept, old.len() - kept)
}

/// A longest common subsequence of `a` and `b`, as `a`'s index → `b`'s index.
/// Common prefix and suffix are matched directly; the middle by dynamic programming, or not at
/// all when it is too large to compare (a big rewrite is then one changed block).
fn matching(a: &[&str], b: &[&str]) -> Vec<Option<usize>> {
    const MAX_CELLS: usize = 4_000_000;
    let mut m = vec![None; a.len()];
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    for (i, slot) in m.iter_mut().enumerate().take(pre) {
        *slot = Some(i);
    }
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    for k in 0..suf {
        m[a.len() - 1 - k] = Some(b.len() - 1 - k);
    }
    let (am, bm) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let (n, k) = (am.len(), bm.len());
    if n == 0 || k == 0 || n.saturating_mul(k) > MAX_CELLS {
        return m;
    }
    // lcs[i][j]: the LCS length of am[i..] and bm[j..].
    let width = k + 1;
    let mut lcs = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..k).rev() {
            lcs[i * width + j] = if am[i] == bm[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n && j < k {
        if am[i] == bm[j] {
            m[pre + i] = Some(pre + j);
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(front: &str, body: &str) -> String {
        format!("---\n{front}---\n{body}")
    }

    fn v(s: &str) -> Value {
        crate::task::yaml::parse(s).unwrap()
    }

    #[test]
    fn worktree_only_changes_are_taken() {
        let b = file("id: T-1\nstatus: open\n", "Body\n");
        let r = file("id: T-1\nstatus: in_progress\nclaimed_by: a\n", "Body\n");
        let w = file(
            "id: T-1\nstatus: done\npr_url: https://x/pull/3\n",
            "Body\n",
        );
        let p = plan(Some(&b), &r, &w, None).unwrap();
        let got: Vec<(&str, &Resolution)> = p
            .keys
            .iter()
            .map(|k| (k.key.as_str(), &k.resolution))
            .collect();
        assert_eq!(
            got,
            vec![
                ("status", &Resolution::Take(Some(v("done")))),
                ("pr_url", &Resolution::Take(Some(v("https://x/pull/3")))),
            ]
        );
        assert!(!p.body_changes());
        assert_eq!(p.conflicts(), 0);
    }

    #[test]
    fn claim_fields_and_unchanged_keys_keep_the_root() {
        let b = file("id: T-1\ntitle: A\nstatus: open\n", "");
        let r = file(
            "id: T-1\ntitle: B\nstatus: in_progress\nclaimed_by: a\n",
            "",
        );
        let w = file(
            "id: T-1\ntitle: A\nstatus: open\nclaimed_by: z\nworktree: /x\n",
            "",
        );
        assert!(plan(Some(&b), &r, &w, None).unwrap().is_clean());
    }

    #[test]
    fn both_sides_changing_a_key_is_a_conflict_unless_preferred() {
        let b = file("title: A\n", "");
        let r = file("title: B\n", "");
        let w = file("title: C\n", "");
        let p = plan(Some(&b), &r, &w, None).unwrap();
        assert_eq!(p.keys[0].resolution, Resolution::Conflict);
        assert_eq!(p.conflicts(), 1);
        let p = plan(Some(&b), &r, &w, Some(Prefer::Worktree)).unwrap();
        assert_eq!(p.keys[0].resolution, Resolution::Preferred(Some(v("C"))));
        assert!(
            plan(Some(&b), &r, &w, Some(Prefer::Root))
                .unwrap()
                .is_clean()
        );
    }

    #[test]
    fn status_rank_decides_and_equal_rank_conflicts() {
        let case = |b: &str, r: &str, w: &str| {
            let p = plan(
                Some(&file(&format!("status: {b}\n"), "")),
                &file(&format!("status: {r}\n"), ""),
                &file(&format!("status: {w}\n"), ""),
                None,
            )
            .unwrap();
            p.keys.first().map(|k| k.resolution.clone())
        };
        assert_eq!(
            case("open", "in_progress", "done"),
            Some(Resolution::Take(Some(v("done"))))
        );
        assert_eq!(case("open", "done", "in_progress"), None);
        assert_eq!(
            case("open", "in_progress", "blocked"),
            Some(Resolution::Conflict)
        );
        assert_eq!(
            case("open", "done", "cancelled"),
            Some(Resolution::Conflict)
        );
        assert_eq!(
            case("open", "in_progress", "in_review"),
            Some(Resolution::Take(Some(v("in_review"))))
        );
        // A claim is never brought over: the root's claim fields would name nobody.
        assert_eq!(
            case("open", "open", "in_progress"),
            Some(Resolution::Conflict)
        );
        assert_eq!(
            case("open", "blocked", "in_review"),
            Some(Resolution::Conflict)
        );
        // A finished root task is never taken back by a copy.
        assert_eq!(case("done", "done", "open"), Some(Resolution::Conflict));
        assert_eq!(
            case("failed", "failed", "in_progress"),
            Some(Resolution::Conflict)
        );
        // Aliases are the same state: `completed` is done.
        assert_eq!(case("open", "done", "completed"), None);
        assert_eq!(
            case("in_progress", "in_progress", "completed"),
            Some(Resolution::Take(Some(v("done"))))
        );
    }

    #[test]
    fn lists_merge_as_sets() {
        let b = file("labels: [a, b]\n", "");
        let r = file("labels: [a, b, r]\n", "");
        let w = file("labels: [b, w]\n", "");
        let p = plan(Some(&b), &r, &w, None).unwrap();
        assert_eq!(p.keys[0].resolution, Resolution::Merged(v("[b, r, w]")));
        // Already merged: nothing more to do.
        let r2 = file("labels: [b, r, w]\n", "");
        assert!(plan(Some(&b), &r2, &w, None).unwrap().is_clean());
    }

    #[test]
    fn notes_appended_on_both_sides_are_all_kept_and_a_second_merge_adds_nothing() {
        let base = "Text\n\n## Notes\n- 1 a: first\n";
        let root = format!("{base}- 2 r: root note\n");
        let wt = format!("{base}- 3 w: worktree note\n");
        let m = merge_body(Some(base), &root, &wt, None);
        assert_eq!(
            m.text,
            format!("{base}- 2 r: root note\n- 3 w: worktree note\n")
        );
        assert_eq!((m.added, m.conflicts), (1, 0));
        let again = merge_body(Some(base), &m.text, &wt, None);
        assert_eq!(again.text, m.text);
    }

    #[test]
    fn notes_sections_created_on_both_sides_share_one_heading() {
        let base = "Text\n";
        let root = "Text\n\n## Notes\n- r\n";
        let wt = "Text\n\n## Notes\n- w\n";
        let m = merge_body(Some(base), root, wt, None);
        assert_eq!(m.text, "Text\n\n## Notes\n- r\n- w\n");
        assert_eq!(merge_body(Some(base), &m.text, wt, None).text, m.text);
    }

    #[test]
    fn separate_edits_merge_and_overlapping_edits_conflict() {
        let base = "one\ntwo\nthree\nfour\n";
        let root = "ONE\ntwo\nthree\nfour\n";
        let wt = "one\ntwo\nthree\nFOUR\n";
        let m = merge_body(Some(base), root, wt, None);
        assert_eq!(m.text, "ONE\ntwo\nthree\nFOUR\n");
        assert_eq!((m.added, m.removed, m.conflicts), (1, 1, 0));

        let wt = "One!\ntwo\nthree\nfour\n";
        let m = merge_body(Some(base), root, wt, None);
        assert_eq!((m.text.as_str(), m.conflicts), (root, 1));
        let m = merge_body(Some(base), root, wt, Some(Prefer::Worktree));
        assert_eq!((m.text.as_str(), m.conflicts, m.preferred), (wt, 0, 1));
    }

    #[test]
    fn crlf_bodies_keep_their_line_endings() {
        let base = "a\r\nb\r\n";
        let root = "a\r\nb\r\n- r\r\n";
        let wt = "A\r\nb\r\n";
        assert_eq!(
            merge_body(Some(base), root, wt, None).text,
            "A\r\nb\r\n- r\r\n"
        );
    }

    #[test]
    fn a_file_new_on_both_sides_conflicts_on_differing_keys() {
        let r = file("id: T-1\ntitle: A\n", "x\n");
        let w = file("id: T-1\ntitle: B\npriority: 1\n", "x\n");
        let p = plan(None, &r, &w, None).unwrap();
        let got: Vec<(&str, bool)> = p
            .keys
            .iter()
            .map(|k| (k.key.as_str(), k.resolution.is_conflict()))
            .collect();
        assert_eq!(got, vec![("title", true), ("priority", false)]);
    }
}
