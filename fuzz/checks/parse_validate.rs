//! Any bytes dropped into `manifests/`: reading and validating them never panics, and every
//! refusal names a line inside the file.
//! Shared by the fuzz target and the corpus replay test (`tests/fuzz_corpus.rs`).

use std::path::Path;

use sparkswarm::manifest::document::parse_bytes;
use sparkswarm::manifest::validate;

pub fn check(data: &[u8]) {
    // A path under a directory that does not exist: validation's file checks find nothing and
    // stay read-only.
    let path = Path::new("/nonexistent-sparkswarm-fuzz/manifests/m.yaml");
    // YAML counts a lone CR as a line break too.
    let breaks = data.windows(2).filter(|w| w[0] == b'\r' && w[1] != b'\n').count()
        + usize::from(data.last() == Some(&b'\r'))
        + data.iter().filter(|b| **b == b'\n').count();
    let lines = 1 + breaks;
    match parse_bytes(path, data.to_vec()) {
        Ok(file) => {
            for doc in &file.docs {
                if let Err(errors) = validate(path, doc) {
                    assert!(!errors.is_empty(), "a refusal without a reason");
                }
            }
        }
        Err(e) => assert!(e.line >= 1 && e.line <= lines, "line {} of a {lines}-line file: {e}", e.line),
    }
}
