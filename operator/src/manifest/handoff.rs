//! Parsed files handed from the step that parsed them to the next step that reads the same
//! bytes: the loader's parse to the reconcile's dereference, a status write's safety-check
//! parse to the loader's read of its echo. The taker still reads the file (its bytes are the
//! truth); only when they are exactly the parsed text is the parse skipped. Given out once,
//! and bounded: past the bound a file is simply parsed again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::document::ManifestFile;

#[derive(Debug)]
pub struct Handoff {
    files: Mutex<HashMap<PathBuf, ManifestFile>>,
    bound: usize,
}

impl Handoff {
    pub fn new(bound: usize) -> Self {
        Handoff { files: Mutex::new(HashMap::new()), bound }
    }

    /// Leaves `file` for the next reader of `path`, in place of what was left before.
    pub fn offer(&self, path: &Path, file: ManifestFile) {
        let mut files = self.files.lock();
        if files.len() < self.bound || files.contains_key(path) {
            files.insert(path.to_path_buf(), file);
        }
    }

    /// The file left for `path`, if `bytes` are exactly its text.
    pub fn take(&self, path: &Path, bytes: &[u8]) -> Option<ManifestFile> {
        let file = self.files.lock().remove(path)?;
        (file.text.as_bytes() == bytes).then_some(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::document::parse;

    #[test]
    fn given_out_once_and_only_for_the_same_bytes() {
        let h = Handoff::new(1);
        let (a, b) = (Path::new("/m/a.yaml"), Path::new("/m/b.yaml"));
        h.offer(a, parse(a, "kind: SparkJob\n").expect("parse"));
        h.offer(b, parse(b, "kind: SparkJob\n").expect("parse"));
        assert!(h.take(b, b"kind: SparkJob\n").is_none(), "over the bound");
        assert!(h.take(a, b"kind: SparkJob\n# edited\n").is_none(), "other bytes");
        h.offer(a, parse(a, "kind: SparkJob\n").expect("parse"));
        assert_eq!(h.take(a, b"kind: SparkJob\n").map(|f| f.text), Some("kind: SparkJob\n".to_string()));
        assert!(h.take(a, b"kind: SparkJob\n").is_none(), "once");
    }
}
