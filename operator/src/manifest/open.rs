//! Opening a manifest for reading: only a regular file inside the allowed roots, never
//! blocking, never more than the size limit in memory.
//!
//! A name ending in `.yaml` says nothing about what is behind it: a FIFO blocks `open` for
//! good, `/dev/zero` never ends, a symlink may point at anything on the machine. The type is
//! checked on the open descriptor (not on the path, which may be swapped meanwhile), and
//! where the descriptor really is comes from the kernel.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::paths::Roots;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no such file")]
    NotFound,
    #[error("not a regular file but {0}; only regular files are read as manifests")]
    NotRegular(&'static str),
    #[error("the symlink resolves to {}, outside the allowed roots ({}); it is neither read nor written", .target.display(), .roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", "))]
    OutsideRoots { target: PathBuf, roots: Vec<PathBuf> },
    #[error("the file is larger than {} KiB; manifests are small YAML files", .limit / 1024)]
    TooLarge { limit: u64 },
    #[error("cannot read the file: {0}")]
    Io(io::Error),
}

impl OpenError {
    fn io(e: io::Error) -> OpenError {
        if e.kind() == io::ErrorKind::NotFound {
            OpenError::NotFound
        } else {
            OpenError::Io(e)
        }
    }
}

/// The roots a manifest at `path` may resolve into when the caller knows no better: the
/// project, i.e. the parent of the directory that holds it (what `Roots::for_manifests`
/// gives without `--allow-root`).
///
/// Remembered per directory: every read and write of a manifest asks, and resolving the
/// directory was a dozen `readlink`s each time. A directory moved or swapped for a link
/// afterwards only narrows what is allowed (a file that now resolves elsewhere is refused).
pub fn default_roots(path: &Path) -> io::Result<Roots> {
    static KNOWN: std::sync::LazyLock<parking_lot::Mutex<HashMap<PathBuf, Roots>>> =
        std::sync::LazyLock::new(Default::default);
    /// Bounds the memory: a process reads manifests from a handful of directories.
    const MAX_DIRS: usize = 64;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if dir.is_absolute() {
        if let Some(roots) = KNOWN.lock().get(dir) {
            return Ok(roots.clone());
        }
    }
    let roots = Roots::for_manifests(dir, &[])?;
    // A relative directory means another one after a `chdir`: not remembered.
    if dir.is_absolute() {
        let mut known = KNOWN.lock();
        if known.len() < MAX_DIRS {
            known.insert(dir.to_path_buf(), roots.clone());
        }
    }
    Ok(roots)
}

/// A manifest opened for reading, with its real location.
#[derive(Debug)]
pub struct Opened {
    pub file: File,
    /// Canonical: where the kernel says the descriptor is.
    pub real_path: PathBuf,
    pub len: u64,
}

/// Opens `path` for reading if it is (or links to) a regular file inside `roots`.
pub fn open_regular(path: &Path, roots: &Roots) -> Result<Opened, OpenError> {
    let link = std::fs::symlink_metadata(path).map_err(OpenError::io)?;
    let is_link = link.file_type().is_symlink();
    let target = if is_link { std::fs::metadata(path).map_err(OpenError::io)? } else { link };
    // Refused before `open`: opening some devices has side effects (a tape rewinds).
    if let Some(what) = not_regular(&target.file_type()) {
        return Err(OpenError::NotRegular(what));
    }
    if is_link {
        let real = std::fs::canonicalize(path).map_err(OpenError::io)?;
        if !roots.contains(&real) {
            return Err(OpenError::OutsideRoots { target: real, roots: roots.0.clone() });
        }
    }
    // O_NONBLOCK: a FIFO swapped in after the check must not block the open.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(OpenError::io)?;
    let md = file.metadata().map_err(OpenError::Io)?;
    if let Some(what) = not_regular(&md.file_type()) {
        return Err(OpenError::NotRegular(what));
    }
    let real_path = real_path_of(&file).or_else(|_| std::fs::canonicalize(path)).map_err(OpenError::io)?;
    // Checked again where the descriptor is: the path may have been swapped for a link since.
    if !roots.contains(&real_path) {
        return Err(OpenError::OutsideRoots { target: real_path, roots: roots.0.clone() });
    }
    Ok(Opened { file, real_path, len: md.len() })
}

fn real_path_of(file: &File) -> io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

fn not_regular(t: &std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else {
        Some("a special file")
    }
}

/// At most `limit` bytes of an opened file; a longer file is refused without reading on
/// (it may grow while being read, so the size from `stat` is only a first answer).
pub fn read_limited(opened: &Opened, limit: u64) -> Result<Vec<u8>, OpenError> {
    if opened.len > limit {
        return Err(OpenError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len.min(limit)).unwrap_or(0) + 1);
    (&opened.file).take(limit + 1).read_to_end(&mut bytes).map_err(OpenError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(OpenError::TooLarge { limit });
    }
    Ok(bytes)
}

/// The bytes of the manifest at `path`, refused as [`open_regular`] refuses, and bounded.
pub fn read_bytes(path: &Path, roots: &Roots, limit: u64) -> Result<Vec<u8>, OpenError> {
    read_limited(&open_regular(path, roots)?, limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Project {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
        roots: Roots,
    }

    fn project() -> Project {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(tmp.path()).expect("canon");
        let root = base.join("proj");
        std::fs::create_dir_all(root.join("manifests")).expect("mkdir");
        std::fs::create_dir_all(root.join("shared")).expect("mkdir");
        let outside = base.join("outside.yaml");
        std::fs::write(&outside, "kind: SparkJob\n").expect("write");
        let roots = default_roots(&root.join("manifests/x.yaml")).expect("roots");
        Project { _tmp: tmp, root, outside, roots }
    }

    #[test]
    fn regular_files_and_links_inside_are_read() {
        let p = project();
        let m = p.root.join("manifests/a.yaml");
        std::fs::write(&m, "a: 1\n").expect("write");
        assert_eq!(read_bytes(&m, &p.roots, 100).expect("read"), b"a: 1\n");
        let shared = p.root.join("shared/b.yaml");
        std::fs::write(&shared, "b: 2\n").expect("write");
        let link = p.root.join("manifests/b.yaml");
        symlink("../shared/b.yaml", &link).expect("symlink");
        let opened = open_regular(&link, &p.roots).expect("inside");
        assert_eq!(opened.real_path, shared);
    }

    #[test]
    fn what_is_not_a_regular_file_inside_is_refused_without_blocking() {
        let p = project();
        let m = p.root.join("manifests");
        let link = m.join("out.yaml");
        symlink(&p.outside, &link).expect("symlink");
        assert!(matches!(open_regular(&link, &p.roots), Err(OpenError::OutsideRoots { .. })));
        let fifo = m.join("fifo.yaml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        assert!(matches!(open_regular(&fifo, &p.roots), Err(OpenError::NotRegular("a FIFO"))));
        // A symlink to a FIFO inside the roots: the open must not block either.
        let to_fifo = m.join("to-fifo.yaml");
        symlink(&fifo, &to_fifo).expect("symlink");
        assert!(matches!(open_regular(&to_fifo, &p.roots), Err(OpenError::NotRegular("a FIFO"))));
        let zero = m.join("zero.yaml");
        symlink("/dev/zero", &zero).expect("symlink");
        assert!(matches!(open_regular(&zero, &p.roots), Err(OpenError::NotRegular("a character device"))));
        let dir = m.join("dir.yaml");
        std::fs::create_dir(&dir).expect("mkdir");
        assert!(matches!(open_regular(&dir, &p.roots), Err(OpenError::NotRegular("a directory"))));
        assert!(matches!(open_regular(&m.join("missing.yaml"), &p.roots), Err(OpenError::NotFound)));
        let dangling = m.join("dangling.yaml");
        symlink(m.join("nowhere"), &dangling).expect("symlink");
        assert!(matches!(open_regular(&dangling, &p.roots), Err(OpenError::NotFound)));
    }

    #[test]
    fn the_limit_applies_before_reading() {
        let p = project();
        let big = p.root.join("manifests/big.yaml");
        let f = File::create(&big).expect("create");
        // Sparse: 20 GB that would take minutes to read and all the memory to hold.
        f.set_len(20 << 30).expect("set_len");
        assert!(matches!(read_bytes(&big, &p.roots, 1024), Err(OpenError::TooLarge { limit: 1024 })));
        std::fs::write(&big, vec![b'a'; 1025]).expect("write");
        assert!(matches!(read_bytes(&big, &p.roots, 1024), Err(OpenError::TooLarge { .. })));
        std::fs::write(&big, vec![b'a'; 1024]).expect("write");
        assert_eq!(read_bytes(&big, &p.roots, 1024).expect("at the limit").len(), 1024);
    }
}
