//! Parsed files handed from the step that parsed them to the next step that reads the same
//! bytes: the loader's parse to the reconcile's dereference, a status write's safety-check
//! parse to the loader's read of its echo. The taker still reads the file (its bytes are the
//! truth); only when they are exactly the parsed text is the parse skipped. Given out once,
//! and bounded: past the bound a file is simply parsed again.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::document::ManifestFile;

#[derive(Debug)]
pub struct Handoff {
    inner: Mutex<Inner>,
    bound: usize,
}

#[derive(Debug, Default)]
struct Inner {
    /// By path: the file, and when it was offered.
    files: HashMap<PathBuf, (u64, ManifestFile)>,
    /// Offers, oldest first (some already taken or replaced: their number no longer matches).
    order: VecDeque<(u64, PathBuf)>,
    offered: u64,
}

impl Handoff {
    pub fn new(bound: usize) -> Self {
        Handoff { inner: Mutex::new(Inner::default()), bound }
    }

    /// Leaves `file` for the next reader of `path`, in place of what was left before. Past
    /// the bound the oldest offer goes: one whose reader never came must not keep newer
    /// ones out.
    pub fn offer(&self, path: &Path, file: ManifestFile) {
        let mut inner = self.inner.lock();
        inner.offered += 1;
        let n = inner.offered;
        inner.files.insert(path.to_path_buf(), (n, file.without_trees()));
        inner.order.push_back((n, path.to_path_buf()));
        while inner.files.len() > self.bound {
            let Some((n, oldest)) = inner.order.pop_front() else { break };
            if inner.files.get(&oldest).is_some_and(|(m, _)| *m == n) {
                inner.files.remove(&oldest);
            }
        }
        if inner.order.len() > 2 * self.bound.max(1) {
            let Inner { files, order, .. } = &mut *inner;
            order.retain(|(n, p)| files.get(p).is_some_and(|(m, _)| m == n));
        }
    }

    /// The file left for `path`, if `bytes` are exactly its text.
    pub fn take(&self, path: &Path, bytes: &[u8]) -> Option<ManifestFile> {
        let (_, file) = self.inner.lock().files.remove(path)?;
        (file.text.as_bytes() == bytes).then_some(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::document::parse;

    #[test]
    fn given_out_once_only_for_the_same_bytes_and_the_oldest_goes_first() {
        let h = Handoff::new(1);
        let (a, b) = (Path::new("/m/a.yaml"), Path::new("/m/b.yaml"));
        h.offer(a, parse(a, "kind: SparkJob\n").expect("parse"));
        h.offer(b, parse(b, "kind: SparkJob\n").expect("parse"));
        assert!(h.take(a, b"kind: SparkJob\n").is_none(), "the oldest goes past the bound");
        assert!(h.take(b, b"kind: SparkJob\n# edited\n").is_none(), "other bytes");
        h.offer(a, parse(a, "kind: SparkJob\n").expect("parse"));
        assert_eq!(h.take(a, b"kind: SparkJob\n").map(|f| f.text), Some("kind: SparkJob\n".to_string()));
        assert!(h.take(a, b"kind: SparkJob\n").is_none(), "once");
    }

    #[test]
    fn offers_nobody_took_do_not_keep_new_ones_out() {
        let h = Handoff::new(4);
        for i in 0..100 {
            let p = PathBuf::from(format!("/m/{i}.yaml"));
            h.offer(&p, parse(&p, "kind: SparkJob\n").expect("parse"));
        }
        let p = Path::new("/m/new.yaml");
        h.offer(p, parse(p, "kind: SparkJob\n").expect("parse"));
        assert!(h.take(p, b"kind: SparkJob\n").is_some());
        let inner = h.inner.lock();
        assert_eq!(inner.files.len(), 3);
        assert!(inner.order.len() <= 8, "{} offers remembered", inner.order.len());
    }
}
