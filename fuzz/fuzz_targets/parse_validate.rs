//! Any bytes dropped into `manifests/`: reading and validating them never panics, and every
//! refusal names a line inside the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sparkswarm::manifest::document::parse_bytes;
use sparkswarm::manifest::validate;

fuzz_target!(|data: &[u8]| {
    // A path under a directory that does not exist: validation's file checks find nothing and
    // stay read-only.
    let path = Path::new("/nonexistent-sparkswarm-fuzz/manifests/m.yaml");
    let lines = 1 + data.iter().filter(|b| **b == b'\n').count();
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
});
