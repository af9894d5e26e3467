//! Atomic file replacement: temp file in the same folder, fsync, rename, folder fsync.
//! A reader sees the old file or the new one, never a torn one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The prefix of our temp files; names starting with `.` are never read as tasks.
pub const TEMP_PREFIX: &str = ".tasks-tmp-";

pub fn write(path: &Path, contents: &[u8]) -> Result<()> {
    write_with(path, |file| file.write_all(contents))
}

/// [`write`], with the contents produced by `fill` straight into the temp file (for large
/// documents that need not sit in memory first).
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
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
        file.sync_all()
            .with_context(|| format!("cannot sync {}", tmp.display()))?;
        drop(file);
        fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync folder {}", dir.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
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
