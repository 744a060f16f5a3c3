//! Atomic compare-and-swap writes of a manifest, and the status write built on them.
//!
//! There is no lock shared with editors, so a user's save can land between the compare and
//! the rename; the window is kept to a re-read just before the rename.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::document::{self, ParseError, ParseErrorKind};
use super::splice::{splice_status, SpliceError};

/// Temp files start with a dot and end with this, so the directory scanner skips them.
pub const TEMP_SUFFIX: &str = ".sparkswarm-tmp";

/// How many times a status write re-reads and redoes after the file changed under it.
const MAX_ATTEMPTS: usize = 5;

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

/// Writes `status` into the first document of `path` with that kind and `metadata.name`.
/// After `MAX_ATTEMPTS` conflicts in a row it returns `Conflict`, for the caller to retry later.
pub fn update_status(path: &Path, kind: &str, name: &str, status: &Value) -> Result<WriteOutcome, WriteError> {
    update_status_with(path, kind, name, status, |_| {})
}

/// `before_write(attempt)` runs between the read and the write: tests use it to play a
/// user saving the file at the worst moment.
fn update_status_with(
    path: &Path,
    kind: &str,
    name: &str,
    status: &Value,
    mut before_write: impl FnMut(usize),
) -> Result<WriteOutcome, WriteError> {
    let not_found =
        || WriteError::NotFound { path: path.to_path_buf(), kind: kind.to_string(), name: name.to_string() };
    for attempt in 0..MAX_ATTEMPTS {
        let file = match document::read(path) {
            Ok(f) => f,
            Err(_) if !path.exists() => return Err(not_found()),
            Err(e) if e.kind == ParseErrorKind::Unreadable => {
                return Err(WriteError::Io { path: path.to_path_buf(), source: io::Error::other(e.message) })
            }
            Err(e) => return Err(WriteError::Unparseable(e)),
        };
        let doc = file.docs.iter().find(|d| d.kind() == Some(kind) && d.name() == Some(name)).ok_or_else(not_found)?;
        let new = splice_status(&file.text, doc.index, Some(status))
            .map_err(|source| WriteError::Splice { path: path.to_path_buf(), source })?;
        check_only_status_changed(path, &file, doc.index, &new, status)?;
        before_write(attempt);
        match write_if_unchanged(path, &file.text, &new)? {
            WriteOutcome::Conflict => continue,
            done => return Ok(done),
        }
    }
    Ok(WriteOutcome::Conflict)
}

fn check_only_status_changed(
    path: &Path,
    before: &document::ManifestFile,
    index: usize,
    new: &str,
    status: &Value,
) -> Result<(), WriteError> {
    let unsafe_ = |message: String| WriteError::Unsafe { path: path.to_path_buf(), message };
    let after = document::parse(path, new).map_err(|e| unsafe_(format!("the edited text does not parse: {e}")))?;
    if after.docs.len() != before.docs.len() {
        return Err(unsafe_("the edit changes the number of documents".into()));
    }
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("status");
        }
        v
    };
    for (a, b) in after.docs.iter().zip(&before.docs) {
        let same = if a.index == index {
            strip(&a.value) == strip(&b.value) && a.status() == Some(status)
        } else {
            a.value == b.value
        };
        if !same {
            return Err(unsafe_(format!("the edit would change document {} beyond its status", a.index)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    fn temp_names(dir: &Path) -> Vec<String> {
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

    const JOB: &str = "# job\napiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: a\nspec:\n  clusterRef: demo\n---\nkind: SparkJob\nmetadata: {name: b}\n";

    #[test]
    fn update_status_finds_the_document_and_splices() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        fs::write(&p, JOB).expect("write");
        let s = json!({"phase": "Running"});
        assert_eq!(update_status(&p, "SparkJob", "b", &s).expect("ok"), WriteOutcome::Written);
        assert_eq!(fs::read_to_string(&p).expect("read"), format!("{JOB}status:\n  phase: Running\n"));
        assert_eq!(update_status(&p, "SparkJob", "b", &s).expect("ok"), WriteOutcome::Unchanged);
        assert!(matches!(update_status(&p, "SparkJob", "c", &s), Err(WriteError::NotFound { .. })));
        assert!(matches!(update_status(&p, "SparkCluster", "a", &s), Err(WriteError::NotFound { .. })));
        assert!(matches!(
            update_status(&dir.path().join("x.yaml"), "SparkJob", "a", &s),
            Err(WriteError::NotFound { .. })
        ));
    }

    #[test]
    fn update_status_never_writes_an_unparseable_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        let broken = "kind: SparkJob\nmetadata:\n  name: a\nspec: [\n";
        fs::write(&p, broken).expect("write");
        assert!(matches!(update_status(&p, "SparkJob", "a", &json!({"phase": "X"})), Err(WriteError::Unparseable(_))));
        assert_eq!(fs::read_to_string(&p).expect("read"), broken);
    }

    #[test]
    fn update_status_refuses_flow_documents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        fs::write(&p, "{kind: SparkJob, metadata: {name: a}}\n").expect("write");
        let e = update_status(&p, "SparkJob", "a", &json!({"phase": "X"})).expect_err("flow");
        assert!(matches!(e, WriteError::Splice { source: SpliceError::NotBlockMapping { .. }, .. }), "{e}");
    }

    #[test]
    fn a_user_edit_between_read_and_write_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        fs::write(&p, JOB).expect("write");
        let mut attempts = Vec::new();
        let outcome = update_status_with(&p, "SparkJob", "a", &json!({"phase": "Running"}), |attempt| {
            attempts.push(attempt);
            if attempt < 2 {
                let cur = fs::read_to_string(&p).expect("read");
                fs::write(&p, cur.replace("# job\n", &format!("# job\n# user edit {attempt}\n"))).expect("write");
            }
        })
        .expect("ok");
        assert_eq!(outcome, WriteOutcome::Written);
        assert_eq!(attempts, [0, 1, 2]);
        let text = fs::read_to_string(&p).expect("read");
        assert!(text.starts_with("# job\n# user edit 1\n# user edit 0\n"), "{text}");
        assert!(text.contains("  clusterRef: demo\nstatus:\n  phase: Running\n---\n"), "{text}");

        let gave_up = update_status_with(&p, "SparkJob", "a", &json!({"phase": "Failed"}), |attempt| {
            let cur = fs::read_to_string(&p).expect("read");
            fs::write(&p, format!("{cur}# again {attempt}\n")).expect("write");
        })
        .expect("ok");
        assert_eq!(gave_up, WriteOutcome::Conflict);
        assert!(!fs::read_to_string(&p).expect("read").contains("Failed"));
        assert!(temp_names(dir.path()).is_empty());
    }
}
