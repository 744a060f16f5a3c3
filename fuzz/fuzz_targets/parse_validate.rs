//! Any bytes dropped into `manifests/`: reading and validating them never panics, and every
//! refusal names a line inside the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/parse_validate.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check(data));
