//! Scanning `.tasks/**/*.md`. For listing, each file is read only up to the end of its
//! frontmatter; bad files are reported with path, line and reason, and skipped.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::task::model::ParseError;
use crate::task::split::{self, as_utf8};
use crate::task::{Status, Task};

/// A task read from disk.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub task: Box<Task>,
}

/// Brings a batch of tasks into the CPU's cache together, before they are used one by one in
/// an order unrelated to where they sit in memory (sorted, to be printed). Among many tasks
/// each is a fetch from memory; touching a byte of each first lets those fetches overlap
/// instead of waiting for each in turn.
pub fn fetch_together<'a>(tasks: impl Iterator<Item = &'a Task> + Clone) {
    let first = |s: Option<&str>| s.and_then(|s| s.as_bytes().first().copied()).unwrap_or(0);
    let mut seen = 0u8;
    for t in tasks.clone() {
        seen ^= t.priority;
    }
    for t in tasks {
        seen ^= first(Some(&t.id)) ^ first(Some(t.title())) ^ first(t.owner());
    }
    std::hint::black_box(seen);
}

/// A file that could not be read as a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub path: PathBuf,
    pub line: usize,
    pub reason: String,
    /// The id the file seems to carry, when one can be made out, so a command asked for
    /// that id can name this file instead of saying there is no such task.
    pub id: Option<String>,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub tasks: Vec<Entry>,
    pub invalid: Vec<Invalid>,
    /// Id → position in `tasks`, built once the scan is complete.
    index: Index,
    /// The status of each task in `tasks`, side by side: looking up another task's status
    /// (a dependency's) reads this short list instead of the task.
    statuses: Vec<Status>,
}

impl Scan {
    /// A scan of just these tasks (a subset read for a quick question).
    pub fn from_entries(tasks: Vec<Entry>) -> Scan {
        let ids: Vec<IdKey> = tasks.iter().map(|e| IdKey::of(&e.task.id)).collect();
        let (index, _) = Index::build(&tasks, &ids);
        Scan {
            statuses: tasks.iter().map(|e| e.task.status).collect(),
            tasks,
            invalid: Vec::new(),
            index,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.index.find(&self.tasks, id).map(|i| &self.tasks[i])
    }

    /// Where the task `id` is in `tasks`.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.find(&self.tasks, id)
    }

    /// The status of the task `id`.
    pub fn status_of(&self, id: &str) -> Option<Status> {
        self.position(id).map(|i| self.statuses[i])
    }

    /// The status of each task in `tasks`, in the same order.
    pub fn statuses(&self) -> &[Status] {
        &self.statuses
    }
}

/// An open-addressing table of positions in `tasks`, keyed by the task's own id. Each slot
/// holds a short id itself, so a lookup reads one slot and not the task (which, among a
/// hundred thousand, is a fetch from memory); a longer id is compared with the task's.
#[derive(Debug, Default)]
struct Index {
    /// The length is a power of two, at least a quarter more than the number of tasks.
    slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Position + 1; 0 is an empty slot.
    at: u32,
    key: Key,
}

/// An id of up to [`Key::INLINE`] bytes, whole, with its length in the last byte; of a
/// longer one, the start, marked [`Key::LONG`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Key([u8; 12]);

impl Key {
    const INLINE: usize = 11;
    const LONG: u8 = u8::MAX;

    fn of(id: &str) -> Key {
        let mut key = [0; 12];
        let n = id.len().min(Key::INLINE);
        key[..n].copy_from_slice(&id.as_bytes()[..n]);
        key[Key::INLINE] = if id.len() <= Key::INLINE {
            id.len() as u8
        } else {
            Key::LONG
        };
        Key(key)
    }

    /// Whether the key holds its id whole, so equal keys are equal ids.
    fn whole(&self) -> bool {
        self.0[Key::INLINE] != Key::LONG
    }
}

impl Index {
    /// The table, and every pair (first, later) of positions that carry the same id. `ids`
    /// holds the index key of each task's id, worked out beforehand: building then reads the
    /// tasks themselves only to tell apart long ids that start alike.
    fn build(tasks: &[Entry], ids: &[IdKey]) -> (Index, Vec<(usize, usize)>) {
        let size = (tasks.len() + tasks.len() / 4 + 1)
            .next_power_of_two()
            .max(16);
        let mut index = Index {
            slots: vec![Slot::default(); size],
        };
        let mut duplicates = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            match index.probe_keyed(*id, |at| tasks[at].task.id == tasks[i].task.id) {
                Ok(taken) => duplicates.push((taken, i)),
                Err(slot) => {
                    index.slots[slot] = Slot {
                        at: i as u32 + 1,
                        key: id.key,
                    }
                }
            }
        }
        (index, duplicates)
    }

    fn find(&self, tasks: &[Entry], id: &str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        self.probe(tasks, id).ok()
    }

    /// The position of the task with `id`, or the empty slot where it would go.
    fn probe(&self, tasks: &[Entry], id: &str) -> std::result::Result<usize, usize> {
        self.probe_keyed(IdKey::of(id), |at| tasks[at].task.id == id)
    }

    /// [`Index::probe`] with the id's key worked out already. `same_id(at)` tells whether the
    /// task at `at` carries the id; it is asked only when the key does not hold the id whole.
    fn probe_keyed(
        &self,
        of: IdKey,
        same_id: impl Fn(usize) -> bool,
    ) -> std::result::Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut slot = of.hash as usize & mask;
        loop {
            let s = self.slots[slot];
            if s.at == 0 {
                return Err(slot);
            }
            let at = s.at as usize - 1;
            if s.key == of.key && (of.key.whole() || same_id(at)) {
                return Ok(at);
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// What the index needs of an id: where its search starts, and its key.
#[derive(Debug, Clone, Copy)]
struct IdKey {
    hash: u32,
    key: Key,
}

impl IdKey {
    fn of(id: &str) -> IdKey {
        IdKey {
            hash: hash(id) as u32,
            key: Key::of(id),
        }
    }
}

/// FNV-1a: ids are short, and nothing here is exposed to a hash-flooding adversary beyond
/// slower lookups.
fn hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether a path relative to a tasks folder names a task file: a `.md` file that is not a
/// README, with no dot-folder or dot-file on the way (the rule the scan walks by).
pub fn is_task_file(rel: &Path) -> bool {
    let hidden = rel
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    !hidden && name.ends_with(".md") && !name.eq_ignore_ascii_case("README.md")
}

/// Walks the folder, handing every candidate task file to `found` in the order the file
/// system lists them, and returns the strays: entries that look like task files or folders of
/// them but are not regular files or folders (symbolic links above all, which could lead
/// anywhere). Strays are never read or written, only reported.
fn walk(tasks_dir: &Path, mut found: impl FnMut(PathBuf)) -> Vec<Invalid> {
    let mut strays = Vec::new();
    let entries = WalkDir::new(tasks_dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| e.ok());
    for e in entries {
        let name = e.file_name().to_string_lossy();
        let task_name = name.ends_with(".md") && !name.eq_ignore_ascii_case("README.md");
        let kind = e.file_type();
        if kind.is_file() {
            if task_name {
                found(e.into_path());
            }
        } else if kind.is_symlink() && e.depth() > 0 {
            let to_folder = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
            if task_name || to_folder {
                let target = std::fs::read_link(e.path())
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                strays.push(stray(
                    e.into_path(),
                    &format!("a symbolic link to {target}"),
                ));
            }
        } else if !kind.is_dir() && task_name {
            strays.push(stray(e.into_path(), "not a regular file"));
        }
    }
    strays
}

fn stray(path: PathBuf, what: &str) -> Invalid {
    Invalid {
        path,
        line: 1,
        reason: format!(
            "{what}: tasks reads and writes only regular files inside .tasks/, so it is skipped"
        ),
        id: None,
    }
}

/// The order of comparing paths component by component, computed on the bytes: a separator
/// sorts before every other byte, so `a/b` comes before `a-b` as `a` comes before `a-b`.
fn path_order(a: &Path, b: &Path, skip: usize) -> std::cmp::Ordering {
    let key = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
    let (a, b) = (
        a.as_os_str().as_encoded_bytes(),
        b.as_os_str().as_encoded_bytes(),
    );
    let skip = skip.min(a.len()).min(b.len());
    let (a, b) = (&a[skip..], &b[skip..]);
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    match common {
        Some(i) => key(a[i]).cmp(&key(b[i])),
        None => a.len().cmp(&b.len()),
    }
}

/// Reads every task's frontmatter. Duplicate ids make every file carrying them invalid:
/// no command may guess which one is meant.
pub fn scan(tasks_dir: &Path) -> Scan {
    let mut out = Scan::default();
    let read = read_all(tasks_dir);
    out.invalid = read.strays;
    out.tasks = read.tasks;
    for (path, e) in read.bad {
        let id = probable_id(&path);
        out.invalid.push(Invalid {
            path,
            line: e.line,
            reason: e.message,
            id,
        });
    }
    let (index, pairs) = Index::build(&out.tasks, &read.ids);
    drop(read.ids);
    if pairs.is_empty() {
        out.index = index;
        out.statuses = read.statuses;
        out.invalid.sort_by(|a, b| a.path.cmp(&b.path));
        return out;
    }
    // Every file carrying a repeated id, grouped by the first one.
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for (first, later) in pairs {
        groups
            .entry(first)
            .or_insert_with(|| vec![first])
            .push(later);
    }
    let mut duplicated: Vec<usize> = Vec::new();
    for indexes in groups.values() {
        for &i in indexes {
            let others: Vec<String> = indexes
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| display_name(tasks_dir, &out.tasks[j].path))
                .collect();
            let entry = &out.tasks[i];
            let line = crate::task::edit::key_spans(&frontmatter_of(&entry.path))
                .iter()
                .find(|s| s.key == "id")
                .map_or(1, |s| s.line + split::Split::FRONTMATTER_FIRST_LINE);
            out.invalid.push(Invalid {
                path: entry.path.clone(),
                line,
                reason: format!(
                    "duplicate id `{}` (also in {})",
                    entry.task.id,
                    others.join(", ")
                ),
                id: Some(entry.task.id.clone()),
            });
            duplicated.push(i);
        }
    }
    duplicated.sort_unstable();
    for i in duplicated.into_iter().rev() {
        out.tasks.remove(i);
    }
    out.invalid.sort_by(|a, b| a.path.cmp(&b.path));
    let invalid = std::mem::take(&mut out.invalid);
    let mut out = Scan::from_entries(out.tasks);
    out.invalid = invalid;
    out
}

/// The value of a top-level `id:` line in the head of a file that did not parse.
fn probable_id(path: &Path) -> Option<String> {
    let head = read_head_bytes(path).ok()?;
    String::from_utf8_lossy(&head).lines().find_map(|line| {
        let value = line.strip_prefix("id:")?.split(" #").next()?.trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

fn frontmatter_of(path: &Path) -> String {
    let head = read_head_bytes(path).unwrap_or_default();
    let text = String::from_utf8(head).unwrap_or_default();
    split::split(&text)
        .map(|s| s.frontmatter.to_string())
        .unwrap_or_default()
}

/// A path relative to the folder above `.tasks/`, for messages.
pub fn display_name(tasks_dir: &Path, path: &Path) -> String {
    let base = tasks_dir.parent().unwrap_or(tasks_dir);
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Below this many tasks, work on a scan (the sweep's checks, finding ready tasks) stays on
/// one thread: starting another would cost more than it saves.
pub const PARALLEL_FROM: usize = 2048;

/// Once the walk has found this many files, readers start on the other cores: a thread costs
/// less to start than reading a few hundred files. Measured against starting at 2,048: `ready`
/// over 1,000 tasks took 4% less time, over 10,000 about 2% less.
const READ_HELPERS_FROM: usize = 256;

/// How many paths the walk hands to a reader at a time.
const BATCH: usize = 64;

/// What the scan read: the tasks in path order with their ids' index keys and their statuses
/// beside them, the files that could not be read, and the strays.
struct ReadAll {
    tasks: Vec<Entry>,
    ids: Vec<IdKey>,
    statuses: Vec<Status>,
    bad: Vec<(PathBuf, ParseError)>,
    strays: Vec<Invalid>,
}

/// Walks the folder and parses the head of every task file. From [`READ_HELPERS_FROM`] files
/// on, readers on the machine's other cores start on the files the walk has found while it
/// goes on, and the walking thread joins them when it is done. Each reader puts what it read in
/// path order, and the parts are merged on the path keys held beside them: tasks come back in
/// path order, whichever thread read them.
fn read_all(tasks_dir: &Path) -> ReadAll {
    let skip = tasks_dir.as_os_str().len();
    let helpers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        - 1;
    let queue = Queue::default();
    let (parts, strays) = std::thread::scope(|s| {
        // However the walk ends, the readers are told it has, so none waits forever.
        let walked = Finished(&queue);
        let mut handles = Vec::new();
        let mut found = Vec::new();
        let mut count = 0;
        let strays = walk(tasks_dir, |path| {
            found.push(path);
            count += 1;
            if helpers == 0 || count < READ_HELPERS_FROM {
                return;
            }
            if handles.is_empty() {
                for _ in 0..helpers {
                    let queue = &queue;
                    handles.push(s.spawn(move || Part::read(queue, skip)));
                }
            }
            while found.len() >= BATCH {
                queue.push(found.split_off(found.len() - BATCH));
            }
        });
        queue.push(found);
        drop(walked);
        let mut parts = vec![Part::read(&queue, skip)];
        for handle in handles {
            match handle.join() {
                Ok(part) => parts.push(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (parts, strays)
    });
    let picks = merge(&parts, skip);
    let mut tasks = Vec::with_capacity(picks.len());
    let mut ids = Vec::with_capacity(picks.len());
    let mut statuses = Vec::with_capacity(picks.len());
    let mut bad = Vec::new();
    let mut streams = Vec::with_capacity(parts.len());
    for part in parts {
        bad.extend(part.bad);
        streams.push(part.tasks.into_iter().zip(part.ids).zip(part.statuses));
    }
    for p in picks {
        let ((entry, id), status) = streams[usize::from(p)]
            .next()
            .expect("the merge takes each task once");
        tasks.push(entry);
        ids.push(id);
        statuses.push(status);
    }
    ReadAll {
        tasks,
        ids,
        statuses,
        bad,
        strays,
    }
}

/// The batches of paths found so far, and whether the walk is over.
#[derive(Default)]
struct Queue {
    state: std::sync::Mutex<(Vec<Vec<PathBuf>>, bool)>,
    ready: std::sync::Condvar,
}

impl Queue {
    fn push(&self, batch: Vec<PathBuf>) {
        if batch.is_empty() {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0.push(batch);
        self.ready.notify_one();
    }

    fn finish(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.ready.notify_all();
    }

    /// The next batch, waiting for the walk; `None` once the walk is over and all is taken.
    fn pop(&self) -> Option<Vec<PathBuf>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(batch) = state.0.pop() {
                return Some(batch);
            }
            if state.1 {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Marks the walk over when dropped.
struct Finished<'a>(&'a Queue);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// What one reader read.
#[derive(Default)]
struct Part {
    tasks: Vec<Entry>,
    /// The index key of each task's id.
    ids: Vec<IdKey>,
    statuses: Vec<Status>,
    /// Each task's path key ([`path_key`]).
    keys: Vec<u128>,
    bad: Vec<(PathBuf, ParseError)>,
}

impl Part {
    /// Reads batches until there are none, and puts what it read in path order.
    fn read(queue: &Queue, skip: usize) -> Part {
        let mut part = Part::default();
        let mut buf = Vec::with_capacity(FIRST_READ);
        while let Some(batch) = queue.pop() {
            part.read_batch(batch, &mut buf, skip);
        }
        part.sort(skip);
        part
    }

    fn read_batch(&mut self, batch: Vec<PathBuf>, buf: &mut Vec<u8>, skip: usize) {
        self.tasks.reserve(batch.len());
        for path in batch {
            match read_head_with(&path, buf) {
                Ok(task) => {
                    self.keys.push(path_key(&path, skip));
                    self.ids.push(IdKey::of(&task.id));
                    self.statuses.push(task.status);
                    self.tasks.push(Entry {
                        path,
                        task: Box::new(task),
                    });
                }
                Err(e) => self.bad.push((path, e)),
            }
        }
    }

    /// Sorts the tasks by path ([`path_order`]). The sort moves positions, comparing the
    /// paths' keys and only on a tie the paths (among a hundred thousand tasks, each path or
    /// task not touched is a fetch from memory saved); then each task is swapped into its
    /// place, cycle by cycle, once.
    fn sort(&mut self, skip: usize) {
        let (keys, tasks) = (&self.keys, &self.tasks);
        let mut order: Vec<u32> = (0..tasks.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            keys[a]
                .cmp(&keys[b])
                .then_with(|| path_order(&tasks[a].path, &tasks[b].path, skip))
        });
        self.keys = order.iter().map(|&i| keys[i as usize]).collect();
        self.ids = order.iter().map(|&i| self.ids[i as usize]).collect();
        self.statuses = order.iter().map(|&i| self.statuses[i as usize]).collect();
        let mut placed = vec![false; order.len()];
        for start in 0..order.len() {
            let mut at = start;
            while !placed[at] {
                placed[at] = true;
                let from = order[at] as usize;
                if from == start {
                    break;
                }
                self.tasks.swap(at, from);
                at = from;
            }
        }
    }
}

/// The first 16 bytes of a path after `skip`, as [`path_order`] orders them (`/` lowest),
/// padded with the lowest value: when two keys differ, the paths differ the same way; when
/// they are equal, only the paths can tell.
fn path_key(path: &Path, skip: usize) -> u128 {
    let bytes = path.as_os_str().as_encoded_bytes();
    let bytes = &bytes[skip.min(bytes.len())..];
    let mut key = [0u8; 16];
    for (k, &b) in key.iter_mut().zip(bytes) {
        *k = if b == b'/' { 0 } else { b.saturating_add(1) };
        if *k == u8::MAX {
            // 254 and 255 share a value: past it, the key can no longer tell.
            break;
        }
    }
    u128::from_be_bytes(key)
}

/// The order in which to take the tasks of parts each in path order so that all are: the
/// part to take the next one from, for each task (there are at most 8 parts).
fn merge(parts: &[Part], skip: usize) -> Vec<u8> {
    let total = parts.iter().map(|p| p.tasks.len()).sum();
    let mut out = Vec::with_capacity(total);
    let mut next = vec![0; parts.len()];
    let path = |p: usize, i: usize| &parts[p].tasks[i].path;
    loop {
        let mut first: Option<usize> = None;
        for (p, part) in parts.iter().enumerate() {
            let Some(key) = part.keys.get(next[p]) else {
                continue;
            };
            let earlier = first.is_none_or(|f| {
                key.cmp(&parts[f].keys[next[f]])
                    .then_with(|| path_order(path(p, next[p]), path(f, next[f]), skip))
                    .is_lt()
            });
            if earlier {
                first = Some(p);
            }
        }
        let Some(p) = first else {
            return out;
        };
        out.push(p as u8);
        next[p] += 1;
    }
}

/// How much of a file the first read asks for: most frontmatters fit (a task's is usually
/// 200 to 500 bytes), and the kernel copies no more of the body than this, which it does
/// from memory the CPU has mostly not cached. Measured against 1 KiB: `ready` over 1,000
/// tasks used 6% less CPU.
const FIRST_READ: usize = 512;

/// How much each further read asks for.
const READ_SIZE: usize = 4096;

/// Reads a file into `buf` up to and including its closing frontmatter line (or all of it
/// when the frontmatter is never closed, so the error can say so), and says how many bytes
/// that is, with where the opening line ends and the closing line starts when both were
/// found. `buf` is scratch space reused between files: it is zeroed only when it grows, so a
/// scan allocates and clears only what it keeps.
fn read_head_into(
    path: &Path,
    buf: &mut Vec<u8>,
) -> std::io::Result<(usize, Option<(usize, usize)>)> {
    let mut file = File::open(path)?;
    let mut filled = 0;
    let mut finder = split::HeadFinder::default();
    // The opening line and the frontmatter are each refused past the size limit; never read
    // further than both (and a BOM, and the start of the closing line).
    let limit = 2 * split::MAX_FRONTMATTER_BYTES + 4096;
    loop {
        if filled >= limit {
            return Ok((filled, None));
        }
        let step = if filled == 0 { FIRST_READ } else { READ_SIZE };
        let want = (filled + step).min(limit);
        if buf.len() < want {
            buf.resize(want, 0);
        }
        let n = loop {
            match file.read(&mut buf[filled..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            return Ok((filled, None));
        }
        filled += n;
        match finder.advance(&buf[..filled]) {
            split::Head::More => {}
            // Not a task file; keep a little so the splitter reports the right error.
            split::Head::NotOpened { len } => return Ok((len, None)),
            split::Head::Closed {
                open_end,
                close_start,
                end,
            } => return Ok((end, Some((open_end, close_start)))),
        }
    }
}

fn read_head_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let (len, _) = read_head_into(path, &mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

/// Parses a task from the head of its file.
pub fn read_head(path: &Path) -> Result<Task, ParseError> {
    read_head_with(path, &mut Vec::new())
}

fn read_head_with(path: &Path, buf: &mut Vec<u8>) -> Result<Task, ParseError> {
    let (len, found) = read_head_into(path, buf).map_err(|e| io_error(&e))?;
    let text = as_utf8(&buf[..len])?;
    let parts = match found {
        Some((open_end, close_start)) => split::split_head(text, open_end, close_start)?,
        None => split::split(text)?,
    };
    Task::parse(&parts)
}

/// A whole file, read for an edit or for `show`.
pub struct FullFile {
    pub text: String,
    pub task: Task,
}

pub fn read_full(path: &Path) -> Result<FullFile, ParseError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| io_error(&e))?;
    parse_full(&bytes)
}

/// Parses the bytes of a whole task file, exactly as a file on disk is read.
pub fn parse_full(bytes: &[u8]) -> Result<FullFile, ParseError> {
    let text = as_utf8(bytes)?.to_string();
    let task = Task::parse(&split::split(&text)?)?;
    Ok(FullFile { text, task })
}

fn io_error(e: &std::io::Error) -> ParseError {
    ParseError {
        line: 1,
        message: format!("cannot read: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[cfg(unix)]
    fn path(bytes: &[u8]) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }

    fn entry(id: &str) -> Entry {
        let text = format!("---\nid: {id}\n---\n");
        Entry {
            path: PathBuf::from(format!("{id}.md")),
            task: Box::new(Task::parse(&split::split(&text).unwrap()).unwrap()),
        }
    }

    /// Short ids are held in the slots, longer ones compared with the task: ids that share
    /// their first 11 bytes, or differ only in length, are told apart, and a repeated id is
    /// found whatever its length.
    #[test]
    fn the_index_tells_short_and_long_ids_apart() {
        let ids = [
            "T-1",
            "T-12345678",
            "T-123456789",
            "T-1234567890",
            "T-12345678901",
            "T-123456789012",
            "T-1234567890123",
            "T-123456789012",
        ];
        let tasks: Vec<Entry> = ids.iter().map(|id| entry(id)).collect();
        let keys: Vec<IdKey> = tasks.iter().map(|e| IdKey::of(&e.task.id)).collect();
        let (index, duplicates) = Index::build(&tasks, &keys);
        assert_eq!(duplicates, [(5, 7)]);
        for (i, id) in ids.iter().enumerate().take(7) {
            assert_eq!(index.find(&tasks, id), Some(i), "{id}");
        }
        for missing in ["T-", "T-12", "T-12345678902", "T-1234567890124", "t-1"] {
            assert_eq!(index.find(&tasks, missing), None, "{missing}");
        }
    }

    /// Enough files for the readers on other cores to share them, with names alike in their
    /// first 16 bytes and folders named like files: the scan lists them in path order, finds
    /// each by its id, and keeps each one's status beside it.
    #[test]
    fn a_scan_returns_tasks_in_path_order_whichever_thread_read_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".tasks");
        let mut written = Vec::new();
        for i in 0..(READ_HELPERS_FROM * 3) {
            let folder = ["", "a/", "a-b/", "a/b/", "same-long-prefix/"][i % 5];
            let name = match i % 3 {
                0 => format!("same-long-prefix-of-names-{i}.md"),
                1 => format!("T-{i}.md"),
                _ => format!("a{}.md", "-".repeat(i % 7)),
            };
            let path = dir.join(folder).join(&name);
            if written.contains(&path) {
                continue;
            }
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let status = ["open", "done", "blocked", "in_progress"][i % 4];
            let text = format!("---\nid: X-{i}\ntitle: t\nstatus: {status}\n---\n");
            std::fs::write(&path, text).unwrap();
            written.push(path);
        }
        let skip = dir.as_os_str().len();
        written.sort_by(|a, b| path_order(a, b, skip));
        let scan = scan(&dir);
        assert!(scan.invalid.is_empty(), "{:?}", scan.invalid);
        let paths: Vec<&PathBuf> = scan.tasks.iter().map(|e| &e.path).collect();
        assert_eq!(paths, written.iter().collect::<Vec<_>>());
        for (i, entry) in scan.tasks.iter().enumerate() {
            assert_eq!(scan.position(&entry.task.id), Some(i));
            assert_eq!(scan.statuses()[i], entry.task.status, "{}", entry.task.id);
            assert_eq!(scan.status_of(&entry.task.id), Some(entry.task.status));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever its size against the first read and the reads after it, a head read from
        /// disk (into a buffer a longer or shorter file used before) is the file's text up to
        /// its closing line, and parses to the task the whole file does.
        #[test]
        fn heads_of_any_size_read_from_disk_as_the_whole_file_parses(
            lens in prop::collection::vec(0usize..9000, 1..4),
            body in "[a-z\n-]{0,300}",
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let mut buf = Vec::new();
            for (i, len) in lens.into_iter().enumerate() {
                let head = format!(
                    "---\nid: T-{i}\ntitle: {}\nstatus: open\n---\n",
                    "t".repeat(len + 1)
                );
                let file = tmp.path().join(format!("T-{i}.md"));
                std::fs::write(&file, format!("{head}{body}")).unwrap();
                let (n, found) = read_head_into(&file, &mut buf).unwrap();
                prop_assert_eq!(&buf[..n], head.as_bytes());
                prop_assert!(found.is_some());
                let whole = read_full(&file).unwrap().task;
                let from_head = read_head_with(&file, &mut buf).unwrap();
                prop_assert_eq!(from_head.title(), whole.title());
                prop_assert_eq!(from_head.id, whole.id);
            }
        }
    }

    #[cfg(unix)]
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Where two keys differ, the paths are in the same order.
        #[test]
        fn path_keys_order_as_paths_do(
            a in prop::collection::vec(prop::sample::select(vec![b'/', b'a', b'b', b'-', b'.', 1, 253, 254, 255]), 0..24),
            b in prop::collection::vec(prop::sample::select(vec![b'/', b'a', b'b', b'-', b'.', 1, 253, 254, 255]), 0..24),
        ) {
            let (pa, pb) = (path(&[b"/x".as_slice(), &a].concat()), path(&[b"/x".as_slice(), &b].concat()));
            let (ka, kb) = (path_key(&pa, 2), path_key(&pb, 2));
            if ka != kb {
                prop_assert_eq!(ka.cmp(&kb), path_order(&pa, &pb, 2), "{:?} {:?}", a, b);
            }
        }
    }
}
