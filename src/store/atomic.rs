//! Atomic file replacement: temp file in the same folder, fsync, rename, folder fsync.
//! A reader sees the old file or the new one, never a torn one.
//!
//! The runtime records beside a claim (leases, the event log) are made durable later: at
//! the end of the command, after the lock is let go ([`sync_deferred`]). Their waits on the
//! disk then overlap with other commands' work instead of holding every other writer back.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

/// The prefix of our temp files; names starting with `.` are never read as tasks.
pub const TEMP_PREFIX: &str = ".tasks-tmp-";

pub fn write(path: &Path, contents: &[u8]) -> Result<()> {
    write_with(path, |file| file.write_all(contents))
}

/// Files and folders written by this command whose sync waits for [`sync_deferred`].
static DEFERRED: Mutex<Vec<Deferred>> = Mutex::new(Vec::new());

#[derive(Debug, PartialEq)]
enum Deferred {
    /// `fsync` the file (its data and size).
    File(PathBuf),
    /// `fdatasync` the file: appends to the event log.
    Data(PathBuf),
    /// `fsync` the folder, after its files: a rename in it survives a crash.
    Folder(PathBuf),
}

fn defer(item: Deferred) {
    let mut pending = DEFERRED.lock().unwrap_or_else(|e| e.into_inner());
    if !pending.contains(&item) {
        pending.push(item);
    }
}

/// Like [`write`], atomic for readers, but the file and its folder are synced by
/// [`sync_deferred`] at the end of the command instead of now. For runtime records only
/// (leases): if the machine crashes in between, the file may be left empty or old, and is
/// then read as missing.
pub fn write_synced_later(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = replace(path, |file| file.write_all(contents), false)?;
    defer(Deferred::File(path.to_path_buf()));
    defer(Deferred::Folder(dir.to_path_buf()));
    Ok(())
}

/// Notes that `path` was appended to and is to be `fdatasync`ed by [`sync_deferred`].
pub fn sync_data_later(path: &Path) {
    defer(Deferred::Data(path.to_path_buf()));
}

/// Syncs everything written with [`write_synced_later`] or noted with [`sync_data_later`]:
/// files first, then their folders. Run once a command is done and holds no lock, before it
/// exits. A file removed since (a lease released by a later step) needs no sync.
pub fn sync_deferred() -> Result<()> {
    let pending = std::mem::take(&mut *DEFERRED.lock().unwrap_or_else(|e| e.into_inner()));
    let (folders, files): (Vec<_>, Vec<_>) = pending
        .into_iter()
        .partition(|d| matches!(d, Deferred::Folder(_)));
    for item in files.iter().chain(&folders) {
        let (path, data_only) = match item {
            Deferred::File(p) | Deferred::Folder(p) => (p, false),
            Deferred::Data(p) => (p, true),
        };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot open {} to sync it", path.display()));
            }
        };
        if data_only {
            file.sync_data()
        } else {
            file.sync_all()
        }
        .with_context(|| format!("cannot sync {}", path.display()))?;
    }
    Ok(())
}

/// [`write`], with the contents produced by `fill` straight into the temp file (for large
/// documents that need not sit in memory first).
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    replace(path, fill, true).map(|_| ())
}

/// Writes a temp file beside `path` and renames it over `path`; with `sync`, the temp file is
/// synced before the rename and the folder after it. Returns the folder.
fn replace(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    sync: bool,
) -> Result<&Path> {
    let dir = path
        .parent()
        .context("a file to write has no parent folder")?;
    let tmp = temp_path(dir, path);
    let result = (|| -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        if let Ok(meta) = fs::metadata(path) {
            file.set_permissions(meta.permissions()).ok();
        }
        let mut out = std::io::BufWriter::new(&mut file);
        fill(&mut out)
            .and_then(|()| out.flush())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        drop(out);
        if sync {
            file.sync_all()
                .with_context(|| format!("cannot sync {}", tmp.display()))?;
        }
        drop(file);
        fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
        if sync {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("cannot sync folder {}", dir.display()))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map(|()| dir)
}

fn temp_path(dir: &Path, target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    dir.join(format!(
        "{TEMP_PREFIX}{}-{nanos}-{name}",
        std::process::id()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending_under(dir: &Path) -> usize {
        let pending = DEFERRED.lock().unwrap_or_else(|e| e.into_inner());
        pending
            .iter()
            .filter(|d| match d {
                Deferred::File(p) | Deferred::Data(p) | Deferred::Folder(p) => p.starts_with(dir),
            })
            .count()
    }

    #[test]
    fn a_write_synced_later_is_whole_at_once_and_synced_by_the_end() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("leases");
        fs::create_dir(&dir).unwrap();
        let kept = dir.join("kept.json");
        let gone = dir.join("gone.json");
        write_synced_later(&kept, b"old").unwrap();
        write_synced_later(&kept, b"new").unwrap();
        write_synced_later(&gone, b"x").unwrap();
        let log = tmp.path().join("events.jsonl");
        fs::write(&log, b"line\n").unwrap();
        sync_data_later(&log);
        // Readers see the new contents at once, and no temp file is left.
        assert_eq!(fs::read(&kept).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // Each file and folder is noted once: kept, gone, the folder and the log.
        assert_eq!(pending_under(tmp.path()), 4);
        // A file removed before the end needs no sync, and is no error.
        fs::remove_file(&gone).unwrap();
        sync_deferred().unwrap();
        assert_eq!(pending_under(tmp.path()), 0);
    }
}
