//! One operator per manifests directory: a second one would submit every job twice.
//!
//! The lock is the manifests directory itself (`flock` on the directory), so it holds
//! however the directory is reached (another path, a symlink, a bind mount) and whatever
//! `--state-dir` says. The state directory is locked too: two operators on different
//! manifests must not share one ledger.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another sparkswarm operator{} is already running on this manifests directory (lock {path})", .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Held { path: PathBuf, pid: Option<u32> },
    #[error("cannot open lock file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held for the operator's lifetime; the OS drops the lock when the process dies, even on
/// kill -9, so a stale lock never blocks a restart.
#[derive(Debug)]
pub struct OperatorLock {
    _manifests: File,
    _state: File,
}

impl OperatorLock {
    /// Locks the manifests directory, then the state directory's lock file (which also
    /// records the pid for the message a second operator prints).
    pub fn acquire(manifests: &Path, state_lock: &Path) -> Result<OperatorLock, LockError> {
        let io = |source| LockError::Io { path: manifests.to_path_buf(), source };
        let dir = manifests.canonicalize().map_err(io)?;
        let manifests_file = File::open(&dir).map_err(io)?;
        match manifests_file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = manifests_file.metadata().ok().and_then(|md| flock_holder(md.dev(), md.ino()));
                return Err(LockError::Held { path: dir, pid });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let state = lock_file(state_lock)?;
        Ok(OperatorLock { _manifests: manifests_file, _state: state })
    }
}

fn lock_file(path: &Path) -> Result<File, LockError> {
    let io = |source| LockError::Io { path: path.to_path_buf(), source };
    let mut file =
        std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut s = String::new();
            let _ = file.read_to_string(&mut s);
            return Err(LockError::Held { path: path.to_path_buf(), pid: s.trim().parse().ok() });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(file)
}

/// The pid holding a `flock` on the inode, from `/proc/locks`
/// (`1: FLOCK  ADVISORY  WRITE 14507 fe:00:10018823 0 EOF`).
fn flock_holder(dev: u64, ino: u64) -> Option<u32> {
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    let (major, minor) = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    let want = format!("{major:02x}:{minor:02x}:{ino}");
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.get(1) == Some(&"FLOCK") && f.get(5) == Some(&want.as_str())).then(|| f.get(4)?.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_pid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let manifests = dir.path().join("manifests");
        std::fs::create_dir(&manifests).expect("mkdir");
        let _first = OperatorLock::acquire(&manifests, &dir.path().join("a.lock")).expect("first");
        // Another state dir, and the directory reached through a symlink: still the same one.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&manifests, &link).expect("symlink");
        for m in [&manifests, &link] {
            match OperatorLock::acquire(m, &dir.path().join("b.lock")) {
                Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
                other => panic!("expected Held, got {other:?}"),
            }
        }
        // Another manifests directory on the same state dir is refused too.
        let other = dir.path().join("other");
        std::fs::create_dir(&other).expect("mkdir");
        match OperatorLock::acquire(&other, &dir.path().join("a.lock")) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        // The refused attempt left nothing locked behind.
        let _again = OperatorLock::acquire(&other, &dir.path().join("c.lock")).expect("free");
    }
}
