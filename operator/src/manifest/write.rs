//! Atomic compare-and-swap writes of a manifest (the status writer is built on them).
//!
//! There is no lock shared with editors, so the swap itself must find out whether a user's
//! save slipped in, whichever way the editor saves:
//! - temp file + rename: the new file is put in place with `renameat2(RENAME_EXCHANGE)`,
//!   which hands back what it replaced; if that is not the inode that was read, it is
//!   swapped back at once and nothing is lost;
//! - in place (`O_TRUNC` and one write, or several with pauses): the file is open for
//!   writing meanwhile, which a read lease ([`super::lease`]) is refused for or broken by;
//!   the replace waits (`Busy`) or is undone.
//!
//! The replacement keeps the mode, the owner and the group of the file it replaces.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{renameat2, RenameFlags};
use nix::sys::stat::{fstatat, FileStat};

use super::document::{ParseError, MAX_FILE_SIZE};
use super::lease::{self, Asked};
use super::open::{self, OpenError};
use super::splice::SpliceError;

/// Temp files start with a dot and end with this, so the directory scanner skips them.
pub const TEMP_SUFFIX: &str = ".sparkswarm-tmp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The new text is what the file already holds: nothing was written.
    Unchanged,
    /// The file no longer holds what the caller read, or is open for writing by someone
    /// else: nothing was written.
    Conflict,
}

/// What one replace found, in more detail than callers outside need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replace {
    Written,
    Unchanged,
    /// The file holds something else (or is gone): read it again.
    Changed,
    /// Somebody has it open for writing: try again once they are done.
    Busy,
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
    /// Not a file the operator may replace: not regular, or a symlink out of the roots.
    #[error("{}: refusing to write: {source}", .path.display())]
    Refused {
        path: PathBuf,
        #[source]
        source: OpenError,
    },
    /// With the status the file would pass the size limit, after which it could not be read.
    #[error("{}: refusing to write the status: the file would grow to {size} bytes, over the limit of {} KiB; shorten the file", .path.display(), MAX_FILE_SIZE / 1024)]
    TooLarge { path: PathBuf, size: usize },
    /// The replacement could not be given the file's owner and group.
    #[error("{}: refusing to write: cannot keep the owner {uid}:{gid} ({source})", .path.display())]
    Owner {
        path: PathBuf,
        uid: u32,
        gid: u32,
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io { path: path.to_path_buf(), source }
}

fn errno_err(path: &Path) -> impl FnOnce(nix::errno::Errno) -> WriteError + '_ {
    move |e| WriteError::Io { path: path.to_path_buf(), source: io::Error::from(e) }
}

/// Replaces the file's content with `new` if it still is `expected` and nobody is writing it.
pub fn write_if_unchanged(path: &Path, expected: &str, new: &str) -> Result<WriteOutcome, WriteError> {
    Ok(match replace(path, expected, new)? {
        Replace::Written => WriteOutcome::Written,
        Replace::Unchanged => WriteOutcome::Unchanged,
        Replace::Changed | Replace::Busy => WriteOutcome::Conflict,
    })
}

pub(crate) fn replace(path: &Path, expected: &str, new: &str) -> Result<Replace, WriteError> {
    let prepared = match prepare(path, expected, new)? {
        Prepare::Ready(p) => p,
        Prepare::Done(r) => return Ok(r),
    };
    prepared.sync()?;
    let (replaced, dir) = prepared.commit()?;
    if let Some(dir) = dir {
        sync_dir(&dir);
    }
    Ok(replaced)
}

/// What [`prepare`] found: a replacement ready to go in, or the answer already.
pub(crate) enum Prepare {
    Ready(Box<Prepared>),
    Done(Replace),
}

/// A replacement written to its temp file beside the manifest, not yet synced nor in place.
/// Dropping it removes the temp file.
pub(crate) struct Prepared {
    current: open::Opened,
    /// The file that is replaced (where a symlink points).
    target: PathBuf,
    name: std::ffi::OsString,
    dir: std::fs::File,
    expected: Vec<u8>,
    read_md: std::fs::Metadata,
    tmp_file: std::fs::File,
    tmp: tempfile::TempPath,
    tmp_name: std::ffi::OsString,
    tmp_md: std::fs::Metadata,
}

/// Checks the file and writes the replacement into a temp file in its directory, with the
/// file's mode and owner. Nothing is synced and nothing is compared yet.
pub(crate) fn prepare(path: &Path, expected: &str, new: &str) -> Result<Prepare, WriteError> {
    if new == expected {
        return Ok(Prepare::Done(Replace::Unchanged));
    }
    if new.len() as u64 > MAX_FILE_SIZE {
        return Err(WriteError::TooLarge { path: path.to_path_buf(), size: new.len() });
    }
    let refused = |source| WriteError::Refused { path: path.to_path_buf(), source };
    let roots = open::default_roots(path).map_err(io_err(path))?;
    let current = match open::open_regular(path, &roots) {
        Ok(o) => o,
        Err(OpenError::NotFound) => return Ok(Prepare::Done(Replace::Changed)),
        Err(OpenError::Io(e)) => return Err(WriteError::Io { path: path.to_path_buf(), source: e }),
        Err(e) => return Err(refused(e)),
    };
    // Renaming over a symlink would replace the link; the file it points to is replaced.
    let target = current.real_path.clone();
    let dir_path = target.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let Some(name) = target.file_name().map(|n| n.to_os_string()) else {
        return Err(WriteError::Io { path: target.clone(), source: io::Error::other("no file name") });
    };
    let read_md = current.file.metadata().map_err(io_err(&target))?;

    // The replacement is made ready first, so the file is leased only for a few calls.
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(&dir_path)
        .map_err(io_err(&dir_path))?;
    tmp.write_all(new.as_bytes()).map_err(io_err(tmp.path()))?;
    keep_owner_and_mode(tmp.as_file(), &read_md, &target)?;
    let tmp_md = tmp.as_file().metadata().map_err(io_err(tmp.path()))?;
    let (tmp_file, tmp) = tmp.into_parts();
    let Some(tmp_name) = tmp.file_name().map(|n| n.to_os_string()) else {
        return Err(WriteError::Io { path: tmp.to_path_buf(), source: io::Error::other("no file name") });
    };
    let dir = std::fs::File::open(&dir_path).map_err(io_err(&dir_path))?;
    Ok(Prepare::Ready(Box::new(Prepared {
        current,
        target,
        name,
        dir,
        expected: expected.as_bytes().to_vec(),
        read_md,
        tmp_file,
        tmp,
        tmp_name,
        tmp_md,
    })))
}

impl Prepared {
    /// Makes the temp file durable on its own (a batch syncs its file system once instead).
    pub(crate) fn sync(&self) -> Result<(), WriteError> {
        self.tmp_file.sync_all().map_err(io_err(&self.tmp))
    }

    /// The temp file, for a batch's one sync of its file system.
    pub(crate) fn temp_file(&self) -> &std::fs::File {
        &self.tmp_file
    }

    pub(crate) fn target(&self) -> &Path {
        &self.target
    }

    /// Puts the (synced) replacement in place if the file still holds what was read and
    /// nobody writes it. Also returns the directory to sync once the rename happened (the
    /// caller syncs it, once for a whole batch).
    pub(crate) fn commit(self) -> Result<(Replace, Option<std::fs::File>), WriteError> {
        let Prepared { current, target, name, dir, expected, read_md, tmp_file: _, tmp, tmp_name, tmp_md } = self;
        let refused = |source| WriteError::Refused { path: target.clone(), source };
        let lease = match lease::ask(&current.file) {
            Asked::Held(l) => Some(l),
            Asked::Busy => return Ok((Replace::Busy, None)),
            Asked::Unsupported(e) => {
                tracing::debug!(path = %target.display(), error = %e, "no file lease; a writer keeping the file open goes unseen");
                None
            }
        };
        // Read under the lease: whatever was written before it is in, nobody writes during it.
        let now = open::read_limited(&current, MAX_FILE_SIZE).map_err(refused)?;
        if now != expected {
            return Ok((Replace::Changed, None));
        }
        match renameat2(dir.as_fd(), tmp_name.as_os_str(), dir.as_fd(), name.as_os_str(), RenameFlags::RENAME_EXCHANGE)
        {
            Ok(()) => {}
            Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOSYS) => {
                // No exchange on this file system: a plain rename, the window kept to the
                // check just done.
                std::fs::rename(&tmp, &target).map_err(io_err(&target))?;
                drop(lease);
                return Ok((Replace::Written, Some(dir)));
            }
            Err(e) => return Err(errno_err(&target)(e)),
        }
        let swapped_out = fstatat(dir.as_fd(), tmp_name.as_os_str(), nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(errno_err(&target))?;
        let unwritten = lease.as_ref().is_none_or(|l| l.intact());
        if is(&swapped_out, &read_md) && unwritten {
            // `tmp` now names the file that was read; dropping it removes that.
            drop(tmp);
            drop(lease);
            return Ok((Replace::Written, Some(dir)));
        }
        // A save landed in the window: put it back where the user expects it.
        renameat2(dir.as_fd(), tmp_name.as_os_str(), dir.as_fd(), name.as_os_str(), RenameFlags::RENAME_EXCHANGE)
            .map_err(errno_err(&target))?;
        let back = fstatat(dir.as_fd(), tmp_name.as_os_str(), nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(errno_err(&target))?;
        if !is(&back, &tmp_md) {
            // Yet another save replaced our file while it was in place: that one is the newest.
            renameat2(dir.as_fd(), tmp_name.as_os_str(), dir.as_fd(), name.as_os_str(), RenameFlags::RENAME_EXCHANGE)
                .map_err(errno_err(&target))?;
        }
        drop(tmp);
        drop(lease);
        Ok((Replace::Changed, Some(dir)))
    }
}

fn is(stat: &FileStat, md: &std::fs::Metadata) -> bool {
    stat.st_ino == md.ino() && stat.st_dev == md.dev()
}

fn keep_owner_and_mode(tmp: &std::fs::File, of: &std::fs::Metadata, target: &Path) -> Result<(), WriteError> {
    let (uid, gid) = (of.uid(), of.gid());
    let tmp_md = tmp.metadata().map_err(io_err(target))?;
    if (tmp_md.uid(), tmp_md.gid()) != (uid, gid) {
        std::os::unix::fs::fchown(tmp, Some(uid), Some(gid)).map_err(|source| WriteError::Owner {
            path: target.to_path_buf(),
            uid,
            gid,
            source,
        })?;
    }
    // After the chown, which clears set-id bits.
    tmp.set_permissions(std::fs::Permissions::from_mode(of.mode() & 0o7777)).map_err(io_err(target))
}

/// The rename is durable only once the directory is synced. Some file systems refuse to
/// fsync a directory; the write itself has happened, so that is not an error.
pub(crate) fn sync_dir(dir: &std::fs::File) {
    let _ = dir.sync_all();
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
    fn owner_and_group_are_kept() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        fs::write(&p, "a: 1\n").expect("write");
        let me = (fs::metadata(&p).expect("meta").uid(), fs::metadata(&p).expect("meta").gid());
        // Only root can give a file away; as anyone else, the file keeps being one's own.
        let owner = if me.0 == 0 { (65534, 65534) } else { me };
        std::os::unix::fs::chown(&p, Some(owner.0), Some(owner.1)).expect("chown");
        assert_eq!(write_if_unchanged(&p, "a: 1\n", "a: 2\n").expect("ok"), WriteOutcome::Written);
        let md = fs::metadata(&p).expect("meta");
        assert_eq!((md.uid(), md.gid()), owner);
        assert_eq!(fs::read_to_string(&p).expect("read"), "a: 2\n");
    }

    #[test]
    fn refuses_links_out_of_the_roots_special_files_and_oversized_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = dir.path().join("proj/manifests");
        fs::create_dir_all(&m).expect("mkdir");
        let outside = dir.path().join("outside.yaml");
        fs::write(&outside, "a: 1\n").expect("write");
        let link = m.join("out.yaml");
        std::os::unix::fs::symlink(&outside, &link).expect("symlink");
        let e = write_if_unchanged(&link, "a: 1\n", "a: 2\n").expect_err("outside");
        assert!(matches!(e, WriteError::Refused { source: OpenError::OutsideRoots { .. }, .. }), "{e}");
        assert_eq!(fs::read_to_string(&outside).expect("read"), "a: 1\n");
        nix::unistd::mkfifo(&m.join("fifo.yaml"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        let e = write_if_unchanged(&m.join("fifo.yaml"), "", "a: 2\n").expect_err("fifo");
        assert!(matches!(e, WriteError::Refused { source: OpenError::NotRegular(_), .. }), "{e}");
        let p = m.join("m.yaml");
        fs::write(&p, "a: 1\n").expect("write");
        let huge = format!("a: 1\n#{}\n", "x".repeat(MAX_FILE_SIZE as usize));
        let e = write_if_unchanged(&p, "a: 1\n", &huge).expect_err("too large");
        assert!(matches!(e, WriteError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("m.yaml") && e.to_string().contains("limit"), "{e}");
        assert!(temp_names(&m).is_empty());
    }

    #[test]
    fn a_file_open_for_writing_is_not_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.yaml");
        fs::write(&p, "a: 1\n").expect("write");
        let writer = fs::OpenOptions::new().append(true).open(&p).expect("open");
        assert_eq!(replace(&p, "a: 1\n", "a: 2\n").expect("ok"), Replace::Busy);
        drop(writer);
        assert_eq!(replace(&p, "a: 1\n", "a: 2\n").expect("ok"), Replace::Written);
        for i in 2..50 {
            assert_eq!(
                replace(&p, &format!("a: {i}\n"), &format!("a: {}\n", i + 1)).expect("ok"),
                Replace::Written,
                "{i}"
            );
        }
        assert!(temp_names(dir.path()).is_empty());
    }

    #[test]
    fn temp_file_names_are_ignored_by_the_scanner() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tmp = tempfile::Builder::new().prefix(".m.yaml.").suffix(TEMP_SUFFIX).tempfile_in(dir.path()).expect("tmp");
        let name = tmp.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        assert!(!super::super::scan::is_manifest_name(&name), "{name}");
    }
}
