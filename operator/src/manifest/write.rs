//! Atomic compare-and-swap writes of a manifest (the status writer is built on them).
//!
//! There is no lock shared with editors, so a user's save can land between the compare and
//! the rename; the window is kept to a re-read just before the rename.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::document::ParseError;
use super::splice::SpliceError;

/// Temp files start with a dot and end with this, so the directory scanner skips them.
pub const TEMP_SUFFIX: &str = ".sparkswarm-tmp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The new text is what the file already holds: nothing was written.
    Unchanged,
    /// The file no longer holds what the caller read: nothing was written.
    Conflict,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file is not valid YAML (the user may be mid-edit): it is never written to.
    #[error("not writing to a file that does not parse: {0}")]
    Unparseable(ParseError),
    #[error("{}: no {kind} named {name:?}", .path.display())]
    NotFound { path: PathBuf, kind: String, name: String },
    #[error("{}: {source}", .path.display())]
    Splice {
        path: PathBuf,
        #[source]
        source: SpliceError,
    },
    /// A safety net that should never trip: the edit would have changed more than status.
    #[error("{}: refusing to write: {message}", .path.display())]
    Unsafe { path: PathBuf, message: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io { path: path.to_path_buf(), source }
}

/// Replaces the file's content with `new` if it still is `expected`.
pub fn write_if_unchanged(path: &Path, expected: &str, new: &str) -> Result<WriteOutcome, WriteError> {
    if new == expected {
        return Ok(WriteOutcome::Unchanged);
    }
    // Renaming over a symlink would replace the link; write where it points instead.
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(io_err(path))?,
        _ => path.to_path_buf(),
    };
    if !holds(&target, expected)? {
        return Ok(WriteOutcome::Conflict);
    }
    let permissions = std::fs::metadata(&target).map_err(io_err(&target))?.permissions();
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{file_name}.");
    let mut tmp =
        tempfile::Builder::new().prefix(&prefix).suffix(TEMP_SUFFIX).tempfile_in(&dir).map_err(io_err(&dir))?;
    tmp.write_all(new.as_bytes()).map_err(io_err(tmp.path()))?;
    tmp.as_file().set_permissions(permissions).map_err(io_err(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;
    if !holds(&target, expected)? {
        return Ok(WriteOutcome::Conflict);
    }
    tmp.persist(&target).map_err(|e| WriteError::Io { path: target.clone(), source: e.error })?;
    // The rename is durable only once the directory is synced. Some file systems refuse to
    // fsync a directory; the write itself has happened, so that is not an error.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(WriteOutcome::Written)
}

fn holds(path: &Path, expected: &str) -> Result<bool, WriteError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes == expected.as_bytes()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(WriteError::Io { path: path.to_path_buf(), source: e }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fs;

    pub(crate) fn temp_names(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .expect("read_dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(TEMP_SUFFIX))
            .collect()
    }

    #[test]
    fn compare_and_swap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        fs::write(&p, "a: 1\n").expect("write");
        assert_eq!(write_if_unchanged(&p, "a: 1\n", "a: 1\n").expect("ok"), WriteOutcome::Unchanged);
        assert_eq!(write_if_unchanged(&p, "a: 0\n", "a: 2\n").expect("ok"), WriteOutcome::Conflict);
        assert_eq!(fs::read_to_string(&p).expect("read"), "a: 1\n");
        assert_eq!(write_if_unchanged(&p, "a: 1\n", "a: 2\n").expect("ok"), WriteOutcome::Written);
        assert_eq!(fs::read_to_string(&p).expect("read"), "a: 2\n");
        assert_eq!(write_if_unchanged(&dir.path().join("gone.yaml"), "x", "y").expect("ok"), WriteOutcome::Conflict);
        assert!(temp_names(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn mode_and_symlinks_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.yaml");
        fs::write(&real, "a: 1\n").expect("write");
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        assert_eq!(write_if_unchanged(&link, "a: 1\n", "a: 2\n").expect("ok"), WriteOutcome::Written);
        assert!(fs::symlink_metadata(&link).expect("meta").file_type().is_symlink());
        assert_eq!(fs::read_to_string(&real).expect("read"), "a: 2\n");
        assert_eq!(fs::metadata(&real).expect("meta").permissions().mode() & 0o777, 0o640);
    }

    #[test]
    fn temp_file_names_are_ignored_by_the_scanner() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tmp = tempfile::Builder::new().prefix(".m.yaml.").suffix(TEMP_SUFFIX).tempfile_in(dir.path()).expect("tmp");
        let name = tmp.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        assert!(!super::super::scan::is_manifest_name(&name), "{name}");
    }
}
