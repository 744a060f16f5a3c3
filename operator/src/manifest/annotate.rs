//! Setting one `metadata.annotations` entry in place (what `sparkswarm rerun` does), every
//! other byte left alone.

use super::render::double_quoted;
use super::splice::{block_root, documents, entry_extent, SpliceError};
use super::tree::{self, Node, NodeKind};

/// Sets `metadata.annotations.KEY` of document `doc_index` to `value` (written double-quoted).
pub fn set_annotation(text: &str, doc_index: usize, key: &str, value: &str) -> Result<String, SpliceError> {
    let docs = documents(text)?;
    let root = block_root(text, &docs, doc_index)?;
    let le = tree::line_ending(text);
    let entry = format!("{}: {}", render_key(key), double_quoted(value));

    let Some((meta_key, meta)) = root.get("metadata") else {
        return Err(SpliceError::NoMetadata { line: root.start.line });
    };
    let meta_entries = match &meta.kind {
        NodeKind::Mapping { flow: false, entries } if !entries.is_empty() => entries,
        NodeKind::Mapping { .. } => {
            return Err(SpliceError::NotBlockMapping { line: meta.start.line, what: "metadata".into() })
        }
        _ => return Err(SpliceError::NoMetadata { line: meta_key.start.line }),
    };
    let child_col = meta_entries.first().map_or(2, |(k, _)| k.start.col);

    let Some((ann_key, ann)) = meta.get("annotations") else {
        // A new `annotations:` block after metadata's last line, indented like its siblings.
        let (_, end) = entry_extent(text, meta_key, meta);
        let block = format!("{le}{}annotations:{le}{}{entry}", pad(child_col), pad(2 * child_col));
        return Ok(insert(text, end, &block));
    };
    let inner_col = 2 * child_col;

    match &ann.kind {
        NodeKind::Mapping { flow: false, entries } => {
            if let Some((k, v)) = entries.iter().find(|(k, _)| k.scalar() == Some(key)) {
                let colon = colon_after(text, k).ok_or_else(|| not_block(k, "annotation"))?;
                let end = v.content_end.unwrap_or(colon).max(colon);
                return Ok(format!("{} {}{}", &text[..colon], double_quoted(value), &text[end..]));
            }
            let col = entries.first().map_or(inner_col, |(k, _)| k.start.col);
            let (_, end) = entry_extent(text, ann_key, ann);
            Ok(insert(text, end, &format!("{le}{}{entry}", pad(col))))
        }
        // `annotations: {}` or `annotations:` alone: nothing to lose by going block style.
        NodeKind::Mapping { flow: true, entries } if entries.is_empty() => {
            rewrite_empty(text, ann_key, ann, le, inner_col, &entry)
        }
        NodeKind::Scalar { .. } if is_null(ann) => rewrite_empty(text, ann_key, ann, le, inner_col, &entry),
        _ => Err(not_block(ann, "metadata.annotations")),
    }
}

fn rewrite_empty(
    text: &str,
    key: &Node,
    value: &Node,
    le: &str,
    col: usize,
    entry: &str,
) -> Result<String, SpliceError> {
    let colon = colon_after(text, key).ok_or_else(|| not_block(key, "metadata.annotations"))?;
    let value_end = value.content_end.unwrap_or(colon).max(colon);
    let line_end = tree::line_end(text, value_end);
    // A comment after the value stays on the `annotations:` line.
    let rest = text[value_end..line_end].trim_start_matches([' ', '\t']);
    let rest = if rest.is_empty() { String::new() } else { format!(" {rest}") };
    Ok(format!("{}{rest}{le}{}{entry}{}", &text[..colon], pad(col), &text[line_end..]))
}

fn not_block(node: &Node, what: &str) -> SpliceError {
    SpliceError::NotBlockMapping { line: node.start.line, what: what.into() }
}

fn is_null(n: &Node) -> bool {
    matches!(&n.kind, NodeKind::Scalar { value, .. } if n.is_nothing() || ["~", "null", "Null", "NULL"].contains(&value.as_str()))
}

/// The byte just after the `:` that follows a block mapping key.
fn colon_after(text: &str, key: &Node) -> Option<usize> {
    let from = key.content_end?;
    let rest = text.get(from..)?;
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    rest[skipped..].starts_with(':').then_some(from + skipped + 1)
}

fn render_key(key: &str) -> String {
    let plain = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_'))
        && !["y", "n", "yes", "no", "on", "off", "true", "false", "null"].contains(&key.to_ascii_lowercase().as_str());
    if plain {
        key.to_string()
    } else {
        double_quoted(key)
    }
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

fn insert(text: &str, at: usize, with: &str) -> String {
    format!("{}{with}{}", &text[..at], &text[at..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::document::parse;
    use std::path::Path;

    const KEY: &str = "sparkswarm.io/rerun";

    fn set(text: &str, value: &str) -> String {
        let out = set_annotation(text, 0, KEY, value).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let parsed = parse(Path::new("m.yaml"), &out).unwrap_or_else(|e| panic!("{e}\n{out}"));
        assert_eq!(parsed.docs[0].value["metadata"]["annotations"][KEY], serde_json::json!(value), "{out}");
        out
    }

    #[test]
    fn replaces_an_existing_value() {
        let text = "kind: SparkJob\nmetadata:\n  name: a\n  annotations:\n    other: x  # keep\n    sparkswarm.io/rerun: '1'   # last rerun\nspec: {}\n";
        assert_eq!(set(text, "2"), text.replace("sparkswarm.io/rerun: '1'", "sparkswarm.io/rerun: \"2\""));
        let empty = "metadata:\n  name: a\n  annotations:\n    sparkswarm.io/rerun:\n    b: c\n";
        assert_eq!(set(empty, "x"), "metadata:\n  name: a\n  annotations:\n    sparkswarm.io/rerun: \"x\"\n    b: c\n");
    }

    #[test]
    fn adds_to_an_existing_block() {
        let text =
            "metadata:\n    name: a\n    annotations:\n        team: ml\n        # end of annotations\nspec: {}\r\n";
        assert_eq!(
            set(text, "t\"1"),
            "metadata:\n    name: a\n    annotations:\n        team: ml\n        sparkswarm.io/rerun: \"t\\\"1\"\n        # end of annotations\nspec: {}\r\n"
        );
    }

    #[test]
    fn creates_the_annotations_block() {
        let text = "kind: SparkJob\r\nmetadata:\r\n  name: a   # the name\r\n  labels: {x: y}\r\n\r\nspec: {}";
        assert_eq!(
            set(text, "1"),
            "kind: SparkJob\r\nmetadata:\r\n  name: a   # the name\r\n  labels: {x: y}\r\n  annotations:\r\n    sparkswarm.io/rerun: \"1\"\r\n\r\nspec: {}"
        );
        let no_newline = "metadata:\n   name: a";
        assert_eq!(set(no_newline, "1"), "metadata:\n   name: a\n   annotations:\n      sparkswarm.io/rerun: \"1\"");
    }

    #[test]
    fn empty_annotations_become_a_block() {
        assert_eq!(
            set("metadata:\n  name: a\n  annotations: {}  # none\nspec: {}\n", "1"),
            "metadata:\n  name: a\n  annotations: # none\n    sparkswarm.io/rerun: \"1\"\nspec: {}\n"
        );
        assert_eq!(
            set("metadata:\n  annotations:\n  name: a\n", "1"),
            "metadata:\n  annotations:\n    sparkswarm.io/rerun: \"1\"\n  name: a\n"
        );
        assert_eq!(
            set("metadata:\n  annotations: ~\n", "1"),
            "metadata:\n  annotations:\n    sparkswarm.io/rerun: \"1\"\n"
        );
    }

    #[test]
    fn other_documents_are_untouched() {
        let text = "metadata: {name: a}\n---\n# second\nmetadata:\n  name: b\n";
        let out = set_annotation(text, 1, "k", "v").expect("ok");
        assert_eq!(out, "metadata: {name: a}\n---\n# second\nmetadata:\n  name: b\n  annotations:\n    k: \"v\"\n");
        assert!(matches!(set_annotation(text, 0, "k", "v"), Err(SpliceError::NotBlockMapping { .. })));
    }

    #[test]
    fn refuses_flow_and_missing_metadata() {
        for text in ["metadata:\n  name: a\n  annotations: {x: y}\n", "{metadata: {name: a}}\n"] {
            assert!(matches!(set_annotation(text, 0, KEY, "1"), Err(SpliceError::NotBlockMapping { .. })), "{text}");
        }
        assert!(matches!(set_annotation("kind: X\n", 0, KEY, "1"), Err(SpliceError::NoMetadata { .. })));
        assert!(matches!(set_annotation("metadata: x\n", 0, KEY, "1"), Err(SpliceError::NoMetadata { .. })));
    }

    #[test]
    fn odd_keys_are_quoted() {
        let out = set_annotation("metadata:\n  name: a\n", 0, "has space: and colon", "v").expect("ok");
        let parsed = parse(Path::new("m.yaml"), &out).expect("parses");
        assert_eq!(parsed.docs[0].value["metadata"]["annotations"]["has space: and colon"], "v");
    }
}
