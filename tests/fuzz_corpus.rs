//! The fuzz targets' properties (fuzz/checks/) replayed over their committed corpora on every
//! test run: a cheap guard between fuzzing sessions. Fuzzing itself is `fuzz/ci.sh` (needs
//! cargo-fuzz and an instrumented build; see BENCHMARKS.md, issue 10).

use std::path::{Path, PathBuf};

#[path = "../fuzz/checks/parse_validate.rs"]
mod parse_validate;
#[path = "../fuzz/checks/splice_status.rs"]
mod splice_status;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus {} is missing: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(files.len() >= 50, "the {target} corpus holds only {} inputs", files.len());
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    for file in corpus(target) {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let why = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            panic!("{} breaks the {target} property: {why}", file.display());
        }
    }
}

#[test]
fn every_parse_validate_corpus_input_keeps_the_property() {
    replay("parse_validate", parse_validate::check);
}

#[test]
fn every_splice_status_corpus_input_keeps_the_property() {
    replay("splice_status", splice_status::check);
}
