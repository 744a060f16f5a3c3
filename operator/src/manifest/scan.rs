//! Which files of the manifests directory are manifests.

use std::path::{Path, PathBuf};

/// A top-level manifest's file name: `.yaml`/`.yml`, not hidden (our temp files start with
/// a dot), not an editor's swap or backup file.
pub fn is_manifest_name(name: &str) -> bool {
    let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    let stem_ok = !matches!(name, ".yaml" | ".yml");
    let editor = name.ends_with('~')
        || name.starts_with('#')
        || [".swp", ".swx", ".bak", ".tmp", ".sparkswarm-tmp"].iter().any(|s| name.ends_with(s));
    yaml && stem_ok && !name.starts_with('.') && !editor
}

/// The directory's manifests in path order (file names compared as bytes). Subdirectories
/// such as `manifests/examples/` are not part of the watched set.
pub fn list_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        if !is_manifest_name(&name) {
            continue;
        }
        // Following a symlink is fine here: what it points to is read, never replaced.
        let is_file = std::fs::metadata(entry.path()).map(|m| m.is_file()).unwrap_or(false);
        if is_file {
            files.push(entry.path());
        }
    }
    files.sort_by(|a, b| a.file_name().map(|n| n.as_encoded_bytes()).cmp(&b.file_name().map(|n| n.as_encoded_bytes())));
    Ok(files)
}

/// Entries that look like manifests but whose names are not UTF-8: they cannot be watched
/// by name or shown by the CLI, so they are reported (lossily named) instead of read.
pub fn non_utf8_names(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_str().is_none())
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|lossy| is_manifest_name(lossy))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a.yaml", "b.yml", "linear-regression.yaml", "x.bak.yaml"] {
            assert!(is_manifest_name(ok), "{ok}");
        }
        for no in [
            ".a.yaml",
            "a.yaml~",
            "a.yaml.swp",
            ".a.yaml.swp",
            "#a.yaml#",
            "a.yaml.bak",
            "a.yaml.tmp",
            "a.json",
            ".yaml",
            ".job.yaml.x1y2.sparkswarm-tmp",
            "a.txt",
        ] {
            assert!(!is_manifest_name(no), "{no}");
        }
    }

    #[test]
    fn lists_top_level_manifests_in_byte_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in ["b.yaml", "a.yml", "B.yaml", "_c.yaml", ".hidden.yaml", "x.yaml~", "notes.txt"] {
            std::fs::write(dir.path().join(f), "a: 1\n").expect("write");
        }
        std::fs::create_dir(dir.path().join("examples")).expect("mkdir");
        std::fs::write(dir.path().join("examples/e.yaml"), "a: 1\n").expect("write");
        std::fs::create_dir(dir.path().join("dir.yaml")).expect("mkdir");
        let names: Vec<String> = list_files(dir.path())
            .expect("list")
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(names, ["B.yaml", "_c.yaml", "a.yml", "b.yaml"]);
        assert!(list_files(&dir.path().join("missing")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_are_reported_not_listed() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.yaml")), "a: 1\n").expect("write");
        std::fs::write(dir.path().join("ok.yaml"), "a: 1\n").expect("write");
        let listed = list_files(dir.path()).expect("list");
        assert_eq!(listed, vec![dir.path().join("ok.yaml")]);
        assert_eq!(non_utf8_names(dir.path()), vec!["caf\u{FFFD}.yaml".to_string()]);
    }
}
