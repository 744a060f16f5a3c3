//! The status contract on any file that parses: after a status is spliced into a mapping
//! document, the file parses to the same documents with that status, and every byte outside
//! `status:` is the user's (removing the status again gives what removing it from the
//! original gives, and the original itself when it had none).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/splice_status.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check(data));
