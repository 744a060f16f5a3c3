//! The status contract on any file that parses: after a status is spliced into a mapping
//! document, the file parses to the same documents with that status, and every byte outside
//! `status:` is the user's (removing the status again gives what removing it from the
//! original gives, and the original itself when it had none).
//! Shared by the fuzz target and the corpus replay test (`tests/fuzz_corpus.rs`).

use std::path::Path;

use serde_json::{json, Value};
use sparkswarm::manifest::document::stream_values;
use sparkswarm::manifest::{parse, splice_status, SpliceError};

fn statuses() -> [Value; 5] {
    [
        json!({"phase": "Running", "attempts": 1}),
        json!({"conditions": [{"type": "Valid", "status": "False", "message": "a\nb # c: {x}"}], "phase": "Failed"}),
        json!({"results": {"r2": 0.71, "list": [1, [2, 3], {}], "empty": []}, "odd": "yes", "q": "'\"\\,[]{}#&*!|>"}),
        json!({}),
        json!("text: with, flow [indicators]"),
    ]
}

fn without_status(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    v
}

pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("m.yaml");
    let Ok(before) = parse(path, text) else { return };
    let all = statuses();
    let status = &all[data.len() % all.len()];
    for (i, doc) in before.docs.iter().enumerate().take(4) {
        if !doc.value.is_object() {
            continue;
        }
        let set = match splice_status(text, i, Some(status)) {
            Ok(set) => set,
            // `&a: 1`: libyaml (serde) and saphyr (positions) disagree on where an anchor
            // name ends, so one sees a mapping and the other a scalar; the write is refused
            // with an error rather than guessed.
            Err(SpliceError::NotBlockMapping { .. }) if text.contains(['&', '!']) => continue,
            // A byte order mark after the file's start, in front of the root's keys: libyaml
            // counts it as a column and saphyr does not, so the write is refused too.
            Err(SpliceError::NotBlockMapping { .. })
                if text.char_indices().any(|(at, c)| at > 0 && c == '\u{feff}') =>
            {
                continue
            }
            // Refused with the line to fix, rather than written unparseable.
            Err(SpliceError::TabIndentedComment { .. }) => continue,
            Err(e) => panic!("no status for mapping document {i}: {e}\n{text:?}"),
        };
        let after = match parse(path, &set) {
            Ok(f) => f.docs,
            Err(e) => panic!("unparseable after the splice: {e}\n{text:?}\n->\n{set:?}"),
        };
        assert_eq!(after.len(), before.docs.len(), "{text:?} -> {set:?}");
        // The status writer's safety check reads the spliced text as one libyaml stream;
        // where that reading has as many documents as the full parse, it is the full parse's.
        if let Some(stream) = stream_values(&set).filter(|v| v.len() == after.len() && !before.has_big_integers()) {
            let full: Vec<Value> = after.iter().map(|d| d.value.clone()).collect();
            assert_eq!(stream, full, "the stream reads otherwise: {text:?} -> {set:?}");
        }
        for (j, (a, b)) in after.iter().zip(&before.docs).enumerate() {
            if j == i {
                assert_eq!(a.status(), Some(status), "{text:?} -> {set:?}");
                assert_eq!(without_status(a.value.clone()), without_status(b.value.clone()), "{text:?} -> {set:?}");
            } else {
                assert_eq!(a.value, b.value, "document {j}: {text:?} -> {set:?}");
            }
        }
        let removed = splice_status(&set, i, None).unwrap_or_else(|e| panic!("{e}: {set:?}"));
        if doc.status().is_none() {
            assert_eq!(removed, text, "insert then remove: {set:?}");
        } else {
            let bare = splice_status(text, i, None).unwrap_or_else(|e| panic!("{e}: {text:?}"));
            assert_eq!(removed, bare, "bytes outside status changed: {text:?} -> {set:?}");
        }
        assert_eq!(splice_status(&set, i, Some(status)).as_deref(), Ok(set.as_str()), "not idempotent: {text:?}");
    }
}
