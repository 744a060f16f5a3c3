//! Confinement of the paths a spec names (DESIGN.md, Security): they resolve relative to the
//! manifest and must stay inside the allowed roots, symlinks followed.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Canonical directories inside which a spec's paths must resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots(pub Vec<PathBuf>);

impl Roots {
    /// The manifests directory's parent (the project), plus `extra` (`run --allow-root`).
    pub fn for_manifests(manifests_dir: &Path, extra: &[PathBuf]) -> io::Result<Roots> {
        let dir = std::fs::canonicalize(manifests_dir)?;
        let mut roots = vec![dir.parent().map_or_else(|| dir.clone(), Path::to_path_buf)];
        for e in extra {
            let root = std::fs::canonicalize(e)
                .map_err(|err| io::Error::new(err.kind(), format!("allowed root {}: {err}", e.display())))?;
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        Ok(Roots(roots))
    }

    pub fn contains(&self, path: &Path) -> bool {
        self.0.iter().any(|r| path.starts_with(r))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("{} is outside the allowed roots ({}); paths must stay inside the project or a directory given with --allow-root", .path.display(), join(.roots))]
    Escapes { path: PathBuf, roots: Vec<PathBuf> },
    #[error("{} does not exist", .path.display())]
    NotFound { path: PathBuf },
    #[error("{}: {message}", .path.display())]
    Unreadable { path: PathBuf, message: String },
    #[error("{dst:?}: {problem}")]
    InvalidDst { dst: String, problem: &'static str },
    #[error("the path is empty")]
    Empty,
    #[error("{} is {what}, not a file", .path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{} is not a directory", .path.display())]
    NotADirectory { path: PathBuf },
}

fn join(roots: &[PathBuf]) -> String {
    roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Resolves `rel` (relative to the manifest's directory, or absolute; `~/` is the home
/// directory) to a canonical path inside `roots`.
pub fn resolve(manifest_path: &Path, rel: &str, roots: &Roots) -> Result<PathBuf, PathError> {
    if rel.trim().is_empty() {
        return Err(PathError::Empty);
    }
    let given = expand_home(rel);
    let joined = if given.is_absolute() {
        given
    } else {
        let dir = match manifest_path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::canonicalize(&dir).unwrap_or(dir).join(given)
    };
    let lexical = normalize(&joined);
    let escapes = || PathError::Escapes { path: lexical.clone(), roots: roots.0.clone() };
    match std::fs::canonicalize(&joined) {
        Ok(canonical) if roots.contains(&canonical) => Ok(canonical),
        Ok(canonical) => Err(PathError::Escapes { path: canonical, roots: roots.0.clone() }),
        // Saying "outside the roots" before "missing" does not reveal what exists elsewhere.
        Err(_) if !roots.contains(&lexical) => Err(escapes()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(PathError::NotFound { path: lexical }),
        Err(e) => Err(PathError::Unreadable { path: lexical, message: e.to_string() }),
    }
}

/// [`resolve`], for a path that must name a regular file (an application, a shipped file, a
/// key): a directory or a FIFO there is refused now rather than failing (or hanging) later.
pub fn resolve_file(manifest_path: &Path, rel: &str, roots: &Roots) -> Result<PathBuf, PathError> {
    use std::os::unix::fs::FileTypeExt;
    let path = resolve(manifest_path, rel, roots)?;
    let md =
        std::fs::metadata(&path).map_err(|e| PathError::Unreadable { path: path.clone(), message: e.to_string() })?;
    let t = md.file_type();
    let what = if t.is_file() {
        return Ok(path);
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "a special file"
    };
    Err(PathError::NotAFile { path, what })
}

/// [`resolve`], for a path that must name a directory (a volume's `hostPath`).
pub fn resolve_dir(manifest_path: &Path, rel: &str, roots: &Roots) -> Result<PathBuf, PathError> {
    let path = resolve(manifest_path, rel, roots)?;
    match std::fs::metadata(&path) {
        Ok(md) if md.is_dir() => Ok(path),
        Ok(_) => Err(PathError::NotADirectory { path }),
        Err(e) => Err(PathError::Unreadable { path, message: e.to_string() }),
    }
}

fn expand_home(rel: &str) -> PathBuf {
    match (rel.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(rel),
    }
}

/// `.` and `..` removed without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Checks a job's `files[].dst`: a relative path that stays inside the driver's working
/// directory. Returns it without `.` components.
pub fn confine_dst(dst: &str) -> Result<PathBuf, PathError> {
    let invalid = |problem| Err(PathError::InvalidDst { dst: dst.to_string(), problem });
    if dst.trim().is_empty() {
        return invalid("dst must not be empty");
    }
    let mut out = PathBuf::new();
    for c in Path::new(dst).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => return invalid("dst must not contain `..`"),
            Component::RootDir | Component::Prefix(_) => {
                return invalid("dst must be relative to the driver's working directory")
            }
        }
    }
    if out.as_os_str().is_empty() {
        return invalid("dst must name a file");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct Project {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        manifest: PathBuf,
        roots: Roots,
    }

    fn project() -> Project {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = fs::canonicalize(tmp.path()).expect("canon").join("proj");
        fs::create_dir_all(root.join("manifests")).expect("mkdir");
        fs::create_dir_all(root.join("apps/lr")).expect("mkdir");
        fs::write(root.join("apps/lr/main.py"), "print(1)\n").expect("write");
        let manifest = root.join("manifests/job.yaml");
        fs::write(&manifest, "kind: SparkJob\n").expect("write");
        let roots = Roots::for_manifests(&root.join("manifests"), &[]).expect("roots");
        Project { _tmp: tmp, root, manifest, roots }
    }

    #[test]
    fn relative_paths_resolve_against_the_manifest() {
        let p = project();
        assert_eq!(p.roots.0, vec![p.root.clone()]);
        let got = resolve(&p.manifest, "../apps/lr/main.py", &p.roots).expect("resolves");
        assert_eq!(got, p.root.join("apps/lr/main.py"));
        let abs = p.root.join("apps/lr/main.py");
        assert_eq!(resolve(&p.manifest, &abs.to_string_lossy(), &p.roots).expect("abs"), abs);
    }

    #[test]
    fn escapes_are_refused() {
        let p = project();
        let outside = p.root.parent().expect("parent").join("secret.txt");
        fs::write(&outside, "s").expect("write");
        for rel in ["../../secret.txt", "../../nonexistent", "/etc/passwd", "../apps/../../secret.txt"] {
            let e = resolve(&p.manifest, rel, &p.roots).expect_err(rel);
            assert!(matches!(e, PathError::Escapes { .. }), "{rel}: {e}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&outside, p.root.join("apps/link")).expect("symlink");
            let e = resolve(&p.manifest, "../apps/link", &p.roots).expect_err("symlink escape");
            assert!(matches!(e, PathError::Escapes { ref path, .. } if path == &outside), "{e}");
        }
        assert!(matches!(resolve(&p.manifest, "../apps/missing.py", &p.roots), Err(PathError::NotFound { .. })));
        assert!(matches!(resolve(&p.manifest, " ", &p.roots), Err(PathError::Empty)));
    }

    #[test]
    fn a_file_must_be_a_file() {
        let p = project();
        assert_eq!(
            resolve_file(&p.manifest, "../apps/lr/main.py", &p.roots).expect("file"),
            p.root.join("apps/lr/main.py")
        );
        let e = resolve_file(&p.manifest, "../apps/lr", &p.roots).expect_err("dir");
        assert!(matches!(e, PathError::NotAFile { what: "a directory", .. }), "{e}");
        assert!(e.to_string().ends_with("apps/lr is a directory, not a file"), "{e}");
        nix::unistd::mkfifo(&p.root.join("apps/fifo"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        assert!(matches!(resolve_file(&p.manifest, "../apps/fifo", &p.roots), Err(PathError::NotAFile { .. })));
        assert!(matches!(resolve_file(&p.manifest, "/etc/passwd", &p.roots), Err(PathError::Escapes { .. })));
    }

    #[test]
    fn extra_roots_allow_more() {
        let p = project();
        let other = tempfile::tempdir().expect("tempdir");
        let data = fs::canonicalize(other.path()).expect("canon").join("d.csv");
        fs::write(&data, "x").expect("write");
        let roots = Roots::for_manifests(&p.root.join("manifests"), &[other.path().to_path_buf()]).expect("roots");
        assert_eq!(resolve(&p.manifest, &data.to_string_lossy(), &roots).expect("allowed"), data);
        assert!(Roots::for_manifests(&p.root.join("manifests"), &[p.root.join("nope")]).is_err());
    }

    #[test]
    fn dst_is_confined() {
        assert_eq!(confine_dst("data/mllib/sample.txt").expect("ok"), PathBuf::from("data/mllib/sample.txt"));
        assert_eq!(confine_dst("./a.txt").expect("ok"), PathBuf::from("a.txt"));
        for bad in ["", "/etc/x", "../x", "a/../../x", ".", "a/.."] {
            assert!(confine_dst(bad).is_err(), "{bad}");
        }
    }
}
