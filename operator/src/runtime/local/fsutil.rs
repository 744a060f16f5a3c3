//! Small file helpers for the state directory: atomic writes, cheap partial reads, mtimes.
//!
//! Everything the local runtime persists is read back by a later (possibly restarted)
//! operator, so writes go through a temp file + rename: a crash leaves the old file or the
//! new one, never half of one.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::runtime::RuntimeError;

/// Writes `bytes` to `path` so that a restarted operator sees the old or the new content,
/// never half of it (the state directory's one atomic write).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RuntimeError> {
    crate::state::atomic::write(path, bytes).map_err(RuntimeError::io(format!("writing {}", path.display())))
}

/// The file's content, or None when it does not exist (any other error is reported).
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>, RuntimeError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RuntimeError::IoError { what: format!("reading {}", path.display()), source: e }),
    }
}

/// At most the first `max` bytes of a file, lossily decoded (logs may hold any bytes).
pub(crate) fn read_head(path: &Path, max: u64) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    file.take(max).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// At most the last `max` bytes of a file, lossily decoded. When the read starts mid-file the
/// first (probably partial) line is dropped.
pub(crate) fn read_tail(path: &Path, max: u64) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let start = len.saturating_sub(max);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    if start > 0 {
        match text.find('\n') {
            Some(i) => Some(text[i + 1..].to_string()),
            None => Some(String::new()),
        }
    } else {
        Some(text)
    }
}

pub(crate) fn mtime(path: &Path) -> Option<DateTime<Utc>> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(DateTime::<Utc>::from(modified))
}

/// Removes a directory tree; a missing one is fine (deletion is idempotent).
pub(crate) fn remove_dir_all_opt(path: &Path) -> Result<(), RuntimeError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RuntimeError::IoError { what: format!("removing {}", path.display()), source: e }),
    }
}

pub(crate) fn remove_file_opt(path: &Path) -> Result<(), RuntimeError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RuntimeError::IoError { what: format!("removing {}", path.display()), source: e }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_drops_the_partial_first_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("log");
        std::fs::write(&p, "first line\nsecond\nthird\n").ok();
        assert_eq!(read_tail(&p, 13).as_deref(), Some("third\n"));
        assert_eq!(read_tail(&p, 1000).as_deref(), Some("first line\nsecond\nthird\n"));
        assert_eq!(read_head(&p, 5).as_deref(), Some("first"));
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        assert!(write_atomic(&p, b"one").is_ok());
        assert!(write_atomic(&p, b"two").is_ok());
        assert_eq!(read_opt(&p).ok().flatten().as_deref(), Some("two"));
        assert_eq!(read_opt(&dir.path().join("none")).ok().flatten(), None);
    }
}
