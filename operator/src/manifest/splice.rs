//! Replacing the top-level `status:` of one document, leaving every other byte alone.
//!
//! The extent of a status block is line-granular: from the start of the `status:` line to
//! the end of the line holding its last content character. Comments and blank lines after
//! that belong to the user, whatever their indentation. A new status goes right after the
//! document's last content line, preceded by a line break, so that removing it gives back
//! the original bytes.

use saphyr_parser::ScalarStyle;
use serde_json::Value;

use super::render;
use super::tree::{self, Doc, Node, NodeKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpliceError {
    #[error("{line}:{column}: not valid YAML: {message}")]
    Unparseable { line: usize, column: usize, message: String },
    #[error("there is no document {index} (the file has {count})")]
    NoSuchDocument { index: usize, count: usize },
    #[error("line {line}: {what} is not a block mapping; only block-style YAML can be edited in place")]
    NotBlockMapping { line: usize, what: String },
    #[error("line {line}: the document has no `metadata:` mapping")]
    NoMetadata { line: usize },
    #[error("cannot render the value: {0}")]
    Render(String),
    /// A tab-indented comment after a status that is a plain scalar belongs to the user, and
    /// after any other status value YAML would refuse it: the status is left as it is.
    #[error("line {line}: the comment after `status:` is indented with a tab; indent it with spaces so that the status can be written")]
    TabIndentedComment { line: usize },
}

/// The non-empty documents of `text`, numbered as `Document::index` numbers them.
pub(crate) fn documents(text: &str) -> Result<Vec<Doc>, SpliceError> {
    let docs = tree::parse(text).map_err(|e| SpliceError::Unparseable {
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    Ok(docs.into_iter().filter(|d| !d.root.is_nothing()).collect())
}

/// The root of document `index`, which must be a block mapping with its keys at column 0.
pub(crate) fn block_root<'d>(text: &str, docs: &'d [Doc], index: usize) -> Result<&'d Node, SpliceError> {
    let (root, style) = editable_root(text, docs, index)?;
    match style {
        RootStyle::Block { indent: 0 } => Ok(root),
        _ => Err(SpliceError::NotBlockMapping { line: root.start.line, what: format!("document {index}") }),
    }
}

/// Whether `before` (a root node's line up to its `{` or first key) holds an anchor that the two
/// readers end at different places: libyaml (serde's) ends an anchor's name at the first
/// character outside `[A-Za-z0-9_-]`, YAML 1.2 (the positions' reader) only at a blank or a
/// flow indicator. `&a: {}` is then an anchored flow mapping to one and a mapping from an
/// empty key to `{}` to the other: refused rather than guessed.
fn ambiguous_anchor(before: &str) -> bool {
    before
        .split_whitespace()
        .filter_map(|t| t.strip_prefix('&'))
        .any(|name| !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

/// The column of the last `?` indicator in `head` (a root's lines from the start of its
/// properties' line to its first key) that stands on a line of its own making: at the line's start after spaces, and
/// followed by a blank or the line's end.
fn explicit_key_column(head: &str) -> Option<usize> {
    head.split(['\n', '\r'])
        .filter_map(|line| {
            let col = line.len() - line.trim_start_matches(' ').len();
            let rest = &line[col..];
            (rest.starts_with('?') && rest[1..].chars().next().is_none_or(|c| c == ' ' || c == '\t')).then_some(col)
        })
        .next_back()
}

/// How a document's root mapping is written, which is how its status is written too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RootStyle {
    /// Keys at column `indent` (0 for the usual manifest, more for an indented document).
    Block { indent: usize },
    /// `{apiVersion: ..., kind: ..., ...}`, on one line or several.
    Flow,
}

fn editable_root<'d>(text: &str, docs: &'d [Doc], index: usize) -> Result<(&'d Node, RootStyle), SpliceError> {
    let doc = docs.get(index).ok_or(SpliceError::NoSuchDocument { index, count: docs.len() })?;
    let root = &doc.root;
    let not_a_mapping = || SpliceError::NotBlockMapping { line: root.start.line, what: format!("document {index}") };
    // The root node starts at its properties (`&a`, `!t`), before its `{` or its first key.
    let head_end = match &root.kind {
        NodeKind::Mapping { flow: true, .. } => text[root.start.byte..].find('{').map(|i| root.start.byte + i),
        NodeKind::Mapping { flow: false, entries } => {
            entries.first().map(|(k, _)| k.start.byte).filter(|b| *b >= root.start.byte)
        }
        _ => None,
    }
    .unwrap_or(root.start.byte);
    if ambiguous_anchor(text.get(line_start_of(text, root.start.byte)..head_end).unwrap_or_default()) {
        return Err(not_a_mapping());
    }
    // A byte order mark that does not start the file, on a line of the root's head: libyaml
    // counts it as a column there and saphyr does not, so the two readers put the root's keys
    // in different columns and no status line is at both: refused rather than guessed.
    // A flow mapping's status goes inside its braces, where columns do not matter.
    if let NodeKind::Mapping { flow: false, entries } = &root.kind {
        let first_key = entries.first().map_or(head_end, |(k, _)| k.start.byte);
        let head_start = line_start_of(text, root.start.byte.min(first_key));
        let head = text.get(head_start..first_key).unwrap_or_default();
        if head.char_indices().any(|(i, c)| c == '\u{feff}' && head_start + i > 0) {
            return Err(not_a_mapping());
        }
    }
    match &root.kind {
        NodeKind::Mapping { flow: true, .. } => Ok((root, RootStyle::Flow)),
        NodeKind::Mapping { flow: false, entries } => {
            // The indentation of the first key's line, not the key's column: `? key` and a
            // tag in front of the key put it further right.
            let indent = entries.first().map_or(0, |(k, _)| {
                // A byte order mark that starts the file is no column to either reader.
                let line_start = skip_file_bom(text, line_start_of(text, k.start.byte));
                let line_indent = text[line_start..k.start.byte].bytes().take_while(|b| *b == b' ').count();
                // A `?` on the line before its key starts the mapping there; a tag or an
                // anchor on the line before (`!t` then `  a: 1`) does not: the keys' column is
                // the mapping's.
                let property_above = text[root.start.byte..].starts_with(['!', '&']) && k.start.line > root.start.line;
                let head = text
                    .get(skip_file_bom(text, line_start_of(text, root.start.byte))..k.start.byte)
                    .unwrap_or_default();
                if let Some(col) = explicit_key_column(head) {
                    // `!t` then `?` then the key further down (or none: an empty key): the
                    // `?` opens the entry.
                    col
                } else if property_above {
                    line_indent
                } else {
                    line_indent.min(root.start.col)
                }
            });
            // An explicit `? status` key is more than a `status:` line to replace.
            if entries.iter().any(|(k, _)| k.scalar() == Some("status") && k.start.col != indent) {
                return Err(not_a_mapping());
            }
            Ok((root, RootStyle::Block { indent }))
        }
        _ => Err(not_a_mapping()),
    }
}

/// The byte range of a `key: value` entry, from the key to the end of the line holding the
/// entry's last content character (line break excluded).
pub(crate) fn entry_extent(text: &str, key: &Node, value: &Node) -> (usize, usize) {
    let last = [key.content_end, value.content_end].into_iter().flatten().max().unwrap_or(key.start.byte);
    (key.start.byte, tree::line_end(text, last))
}

/// Sets (`Some`) or removes (`None`) the top-level `status` of document `doc_index`.
pub fn splice_status(text: &str, doc_index: usize, status: Option<&Value>) -> Result<String, SpliceError> {
    splice_status_in(text, &documents(text)?, doc_index, status)
}

/// [`splice_status`] with `text` already read into its non-empty documents' trees.
pub(crate) fn splice_status_in(
    text: &str,
    docs: &[Doc],
    doc_index: usize,
    status: Option<&Value>,
) -> Result<String, SpliceError> {
    let (root, style) = editable_root(text, docs, doc_index)?;
    match style {
        RootStyle::Block { indent } => {
            let doc_end = docs.get(doc_index).map_or(text.len(), |d| d.slice.1);
            splice_block(text, root, indent, doc_end, status)
        }
        RootStyle::Flow => splice_flow(text, root, status),
    }
}

/// The end of the last line in `from..until` that holds an indicator of an empty node (the
/// `:` of an explicit key's empty value, the `-` of an empty item), else `from`. Empty nodes
/// have no content for `content_end` to point at, yet their lines belong to the entry:
/// a status put before them would land inside the node. Past the last content character only
/// such lines, blank lines, comments and the document's own markers can follow.
/// With `before_key`, a `?` line ends the scan: it opens the entry that follows.
/// With `tabs_stay`, lines whose indentation holds a tab count too (see below).
fn past_empty_nodes(text: &str, from: usize, until: usize, before_key: bool, tabs_stay: bool) -> usize {
    let until = until.clamp(from, text.len());
    let mut end = from;
    let mut at = tree::line_end(text, from);
    while at < until {
        let next = at + if text[at..].starts_with("\r\n") { 2 } else { 1 };
        let line_end = tree::line_end(text, next).min(until);
        let raw = &text[next.min(line_end)..line_end];
        let line = raw.trim_start_matches([' ', '\t']);
        // A byte order mark may only start a document: it ends this one.
        let marker = line.starts_with("---")
            || line.starts_with("...")
            || line.starts_with('\u{feff}')
            || (before_key && line.starts_with('?'));
        if marker {
            break;
        }
        // A blank or comment line with a tab in its indentation stays with the node before
        // it: after a status line at the root's column that tab would be indentation, which
        // YAML refuses. Where a status is replaced, only a blank one (a plain scalar's
        // trailing whitespace, which a new value would not take in): a comment after a
        // status is the user's.
        let indentation = &raw[..raw.len() - line.len()];
        let tabbed = indentation.contains('\t') && (tabs_stay || line.is_empty());
        if (!line.is_empty() && !line.starts_with('#')) || tabbed {
            end = line_end;
        }
        at = line_end.max(next);
    }
    end
}

fn splice_block(
    text: &str,
    root: &Node,
    indent: usize,
    doc_end: usize,
    status: Option<&Value>,
) -> Result<String, SpliceError> {
    let le = tree::line_ending(text);
    let pad = " ".repeat(indent);
    let rendered = status
        .map(|s| render::keyed_block("status", s, le).map_err(SpliceError::Render))
        .transpose()?
        // Rendered scalars never hold a line break, so every break starts a line of the block.
        .map(|block| if indent == 0 { block } else { block.replace(le, &format!("{le}{pad}")) });

    match (root.get("status"), rendered) {
        (Some((key, value)), Some(block)) => {
            let (start, end) = status_extent(text, root, key, value, doc_end);
            if let Some(line) = tab_indented_comment_after(text, root, start, end, doc_end) {
                return Err(SpliceError::TabIndentedComment { line });
            }
            Ok(replace(text, start, end, &block))
        }
        (Some((key, value)), None) => {
            let (start, end) = status_extent(text, root, key, value, doc_end);
            // The indentation in front of the key goes with the entry.
            let line_start = line_start_of(text, start);
            let start = if text[line_start..start].bytes().all(|b| b == b' ') { line_start } else { start };
            // Take the line break before the block with it, mirroring how it was inserted;
            // a status on the very first line takes the one after it instead.
            let before = &text[..start];
            if let Some(stripped) = before.strip_suffix("\r\n").or_else(|| before.strip_suffix(['\n', '\r'])) {
                Ok(replace(text, stripped.len(), end, ""))
            } else {
                let after = &text[end..];
                let lb = if after.starts_with("\r\n") { 2 } else { usize::from(after.starts_with(['\n', '\r'])) };
                Ok(replace(text, start, end + lb, ""))
            }
        }
        (None, Some(block)) => {
            let last = root.content_end.unwrap_or(root.start.byte);
            let at = past_empty_nodes(text, tree::line_end(text, last), doc_end, false, true);
            if !ends_in_unbroken_block_scalar(text, root) {
                // Behind a lone CR (a blank line ended by one), an LF would join it into one
                // CR LF, and removing the status would take both: a CR goes in instead.
                let line_break = if le == "\n" && text[..at].ends_with('\r') { "\r" } else { le };
                return Ok(replace(text, at, at, &format!("{line_break}{pad}{block}")));
            }
            // A status after it would give the scalar's last line a line break, which its
            // value would then hold: the status goes in front of an entry instead.
            let at = entry_line_start(text, root, indent).ok_or_else(|| SpliceError::NotBlockMapping {
                line: root.start.line,
                what: "a document that ends in a block scalar without a final line break".into(),
            })?;
            // Before the line break that ends the line above, as removal takes it away again,
            // and with that same break: after a lone CR, an LF would join it into one CR LF.
            let before = &text[..at];
            match before.strip_suffix("\r\n").or_else(|| before.strip_suffix(['\n', '\r'])) {
                Some(above) => {
                    let line_break = &before[above.len()..];
                    Ok(replace(text, above.len(), above.len(), &format!("{line_break}{pad}{block}")))
                }
                None => Ok(replace(text, at, at, &format!("{pad}{block}{le}"))),
            }
        }
        (None, None) => Ok(text.to_string()),
    }
}

/// Whether the document's last node is a block scalar (`|`, `>`) whose last line has no line
/// break after it: the end of the file, where clip and keep chomping end its value without one.
fn ends_in_unbroken_block_scalar(text: &str, root: &Node) -> bool {
    let mut node = root;
    loop {
        let next = match &node.kind {
            NodeKind::Mapping { flow: false, entries } => {
                entries.last().map(|(k, v)| if v.content_end.is_some() || k.content_end.is_none() { v } else { k })
            }
            NodeKind::Sequence { items } => items.last(),
            NodeKind::Scalar { style: ScalarStyle::Literal | ScalarStyle::Folded, .. } => {
                return node.content_end.is_some_and(|end| !text[end..].contains(['\n', '\r']));
            }
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
}

/// Where a line of the root mapping can go in front of one of its entries: the start of the
/// last entry's line that holds nothing but indentation (or a `?`) before its key, after a
/// byte order mark that starts the file.
fn entry_line_start(text: &str, root: &Node, indent: usize) -> Option<usize> {
    let entries = root.entries()?;
    entries.iter().enumerate().rev().find_map(|(i, (key, _))| {
        let key_line = line_start_of(text, key.start.byte);
        // A `?` on a line above the key (`?` then `  key`, or an empty key and its `:` further
        // down) opens the entry on its own line: a line between them would cut the key off.
        let above = match i.checked_sub(1).and_then(|p| entries.get(p)) {
            Some((k, v)) => v.content_end.or(k.content_end).unwrap_or(k.start.byte),
            None => root.start.byte,
        };
        let start = explicit_key_line(text, above.min(key_line), key_line, indent).unwrap_or(key_line);
        let start = skip_file_bom(text, start);
        // On the key's own line, nothing but indentation (or its `?`) may stand before it.
        let prefix = text.get(start..key.start.byte)?;
        (start != key_line || prefix.bytes().all(|b| b == b' ' || b == b'?')).then_some(start)
    })
}

/// The start of the last line in `text[from..to]` that begins with a `?` indicator at the
/// mapping's column `indent` (between two entries only blank lines, comments and indicators
/// stand; a `?` further right opens a key of a nested mapping, not this one's).
fn explicit_key_line(text: &str, from: usize, to: usize, indent: usize) -> Option<usize> {
    let region = text.get(from..to)?;
    let mut at = from;
    let mut found = None;
    for line in region.split_inclusive(['\n', '\r']) {
        // The region's first piece may be the rest of a line that began before it.
        let rest = line.trim_start_matches(' ');
        if at == line_start_of(text, at) && line.len() - rest.len() == indent && rest.starts_with('?') {
            found = Some(at);
        }
        at += line.len();
    }
    found
}

/// The 1-based line of a comment indented with a tab between the status entry (ending at
/// `end`) and what follows it.
fn tab_indented_comment_after(text: &str, root: &Node, start: usize, end: usize, doc_end: usize) -> Option<usize> {
    let entries = root.entries().unwrap_or_default();
    let next = entries.iter().map(|(k, _)| k.start.byte).filter(|b| *b > start).min();
    let until = next.map_or(doc_end, |b| line_start_of(text, b)).clamp(end, text.len());
    // Lines end at LF, CRLF or a lone CR, as YAML's do; the text is only copied to count
    // them once such a comment is found (this runs on every status write).
    let breaks = |t: &str| t.replace("\r\n", "\n").matches(['\n', '\r']).count();
    let rest = &text[end..until];
    let tabbed = |raw: &str| {
        let line = raw.trim_start_matches([' ', '\t']);
        line.starts_with('#') && raw[..raw.len() - line.len()].contains('\t')
    };
    if !rest.split(['\n', '\r']).skip(1).any(tabbed) {
        return None;
    }
    let rest = rest.replace("\r\n", "\n").replace('\r', "\n");
    let at = rest.split('\n').skip(1).position(tabbed)?;
    Some(breaks(&text[..end]) + 2 + at)
}

/// The status entry's extent, with the lines of empty nodes at its end, up to the next entry.
fn status_extent(text: &str, root: &Node, key: &Node, value: &Node, doc_end: usize) -> (usize, usize) {
    let (start, end) = entry_extent(text, key, value);
    let entries = root.entries().unwrap_or_default();
    let next = entries.iter().map(|(k, _)| k.start.byte).filter(|b| *b > start).min();
    let until = next.map_or(doc_end, |b| line_start_of(text, b));
    (start, past_empty_nodes(text, end, until, next.is_some(), false))
}

/// A flow root gets a flow status as its first entry, so that nothing the user wrote after
/// the last entry (a trailing comma, a comment before the `}`) has to be understood.
fn splice_flow(text: &str, root: &Node, status: Option<&Value>) -> Result<String, SpliceError> {
    let entries = root.entries().unwrap_or_default();
    let rendered = status.map(|s| render::flow("status", s).map_err(SpliceError::Render)).transpose()?;
    let position = entries.iter().position(|(k, _)| k.scalar() == Some("status"));
    match (position, rendered) {
        (Some(i), Some(entry)) => {
            let (key, value) = &entries[i];
            Ok(replace(text, key.start.byte, flow_entry_end(text, key, value), &entry))
        }
        (Some(i), None) => {
            let (key, value) = &entries[i];
            let end = flow_entry_end(text, key, value);
            if let Some((next, _)) = entries.get(i + 1) {
                return Ok(replace(text, key.start.byte, next.start.byte, ""));
            }
            // The last entry: its comma goes with it when nothing but blanks surround it.
            if let Some((pk, pv)) = i.checked_sub(1).and_then(|p| entries.get(p)) {
                let prev_end = flow_entry_end(text, pk, pv);
                let between = &text[prev_end..key.start.byte];
                if between.trim_matches([' ', '\t', '\r', '\n']) == "," {
                    return Ok(replace(text, prev_end, end, ""));
                }
            }
            Ok(replace(text, key.start.byte, end, ""))
        }
        (None, Some(entry)) => match entries.first() {
            Some((first, _)) => Ok(replace(text, first.start.byte, first.start.byte, &format!("{entry}, "))),
            None => {
                let open = text[root.start.byte..].find('{').map(|i| root.start.byte + i + 1);
                let open = open.ok_or_else(|| SpliceError::NotBlockMapping {
                    line: root.start.line,
                    what: "the flow mapping".into(),
                })?;
                Ok(replace(text, open, open, &entry))
            }
        },
        (None, None) => Ok(text.to_string()),
    }
}

/// The byte after a flow entry: after its value, or after the `:` of an empty value.
fn flow_entry_end(text: &str, key: &Node, value: &Node) -> usize {
    if let Some(end) = value.content_end {
        return end.max(key.content_end.unwrap_or(key.start.byte));
    }
    let key_end = key.content_end.unwrap_or(key.start.byte);
    let rest = &text[key_end..];
    let blanks = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
    if rest[blanks..].starts_with(':') {
        key_end + blanks + 1
    } else {
        key_end
    }
}

/// The byte where the line holding `at` starts.
/// `at`, or past the byte order mark when `at` is the start of a file that opens with one.
fn skip_file_bom(text: &str, at: usize) -> usize {
    if at == 0 && text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        at
    }
}

fn line_start_of(text: &str, at: usize) -> usize {
    text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}

fn replace(text: &str, start: usize, end: usize, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..start]);
    out.push_str(with);
    out.push_str(&text[end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::document::parse;
    use proptest::prelude::*;
    use serde_json::json;
    use std::path::Path;

    fn splice(text: &str, i: usize, s: Option<&Value>) -> String {
        splice_status(text, i, s).unwrap_or_else(|e| panic!("splice failed: {e}\n{text}"))
    }

    const REALISTIC: &str = "\
# The linear regression demo job.
# Edit spec freely; the operator only ever writes `status:`.
apiVersion: sparkswarm.io/v1alpha1
kind: SparkJob
metadata:
  name: linear-regression   # must be unique
  labels: {app: mllib}
spec:
  clusterRef: demo
  mainApplicationFile: \"../apps/linear_regression/main.py\"

  # shipped next to the driver
  files:
    - ../apps/linear_regression/data/boston.csv
  sparkConf:
    spark.sql.shuffle.partitions: '10'
status:
  phase: Running   # stale
  attempts: 1
# end of the job
  # an indented trailing comment

---
# a second document without status
apiVersion: sparkswarm.io/v1alpha1
kind: SparkCluster
metadata:
  name: demo
spec: {}
# trailing comment of the file
";

    #[test]
    fn realistic_manifest_exact_bytes() {
        // Keys in sorted order: the same output whether or not serde_json preserves order.
        let status = json!({"attempts": 1, "phase": "Succeeded", "results": {"r2": 0.71, "rmse": 4.9}});
        let out = splice(REALISTIC, 0, Some(&status));
        let expected = REALISTIC.replace(
            "status:\n  phase: Running   # stale\n  attempts: 1\n",
            "status:\n  attempts: 1\n  phase: Succeeded\n  results:\n    r2: 0.71\n    rmse: 4.9\n",
        );
        assert_eq!(out, expected);

        let cluster = json!({"masterUrl": "spark://127.0.0.1:7077", "phase": "Ready"});
        let out2 = splice(&out, 1, Some(&cluster));
        let expected2 = expected.replace(
            "spec: {}\n# trailing comment of the file\n",
            "spec: {}\nstatus:\n  masterUrl: spark://127.0.0.1:7077\n  phase: Ready\n# trailing comment of the file\n",
        );
        assert_eq!(out2, expected2);
        assert_eq!(splice(&out2, 1, None), expected);
        let removed = splice(&expected, 0, None);
        assert!(removed.contains("'10'\n# end of the job\n  # an indented trailing comment\n\n---\n"), "{removed}");
    }

    #[test]
    fn crlf_and_missing_trailing_newline() {
        let text = "kind: SparkJob\r\nspec:\r\n  a: 1 # c";
        let out = splice(text, 0, Some(&json!({"nums": [1], "phase": "Pending"})));
        assert_eq!(out, "kind: SparkJob\r\nspec:\r\n  a: 1 # c\r\nstatus:\r\n  nums:\r\n  - 1\r\n  phase: Pending");
        assert_eq!(splice(&out, 0, None), text);
        assert_eq!(splice(&out, 0, Some(&json!({"nums": [1], "phase": "Pending"}))), out);
    }

    #[test]
    fn user_written_flow_or_scalar_status_is_replaced_whole() {
        for (text, rest) in [
            ("a: 1\nstatus: {phase: X,\n  b: [1,\n  2]}   # c\nb: 2\n", "b: 2\n"),
            ("a: 1\nstatus: garbage\nb: 2\n", "b: 2\n"),
            ("a: 1\nstatus:\nb: 2\n", "b: 2\n"),
            ("a: 1\nstatus: |\n  text\n   # more text\n\n# comment\nb: 2\n", "\n# comment\nb: 2\n"),
        ] {
            let out = splice(text, 0, Some(&json!({"phase": "Z"})));
            assert_eq!(out, format!("a: 1\nstatus:\n  phase: Z\n{rest}"), "{text}");
        }
    }

    #[test]
    fn status_in_first_line_and_between_documents() {
        let text = "status: x\na: 1\n";
        assert_eq!(splice(text, 0, None), "a: 1\n");
        let text = "a: 1\n...\n---\nb: 2\n";
        assert_eq!(splice(text, 0, Some(&json!("s"))), "a: 1\nstatus: s\n...\n---\nb: 2\n");
        assert_eq!(splice(text, 1, Some(&json!("s"))), "a: 1\n...\n---\nb: 2\nstatus: s\n");
    }

    #[test]
    fn tricky_documents_keep_the_contract() {
        let status = json!({"phase": "Ready", "message": "a\nb # c"});
        for text in [
            "a: |\n  block\n   # not a comment\n# a comment\n",
            "a: >-\n  folded\n\n\n",
            "a: |+\n  kept\n\n\n# c\n",
            "a: |+\r\n  kept\r\n\r\n",
            "base: &b\n  x: 1\nother: *b\nm:\n  <<: *b\n",
            "a: {x: 1,\n  y: 2}  # c\n",
            "a: \"x\n  y\"  # c\n",
            "a: 1\n... # end\n---\nb: 2\n",
            "%YAML 1.2\n---\na: 1\n",
            "'status': x\na: 1\n",
            "\"status\": {a: 1}\na: 1\n",
            "a: 1\t\nb: 2\t# c\n",
            "status: x\n# c\na: 1",
            "a: !!str 1\nstatus: !!map\n  x: 1\n",
            "\u{feff}é: ü\nstatus: ä\n",
            "a:\n- 1\n- - 2\n  - 3\n",
            "key with spaces: 1\n",
            // Found by `cargo fuzz run splice_status`: explicit keys sit right of the column.
            "? p\n",
            "? a\n: 1\nb: 2\n",
            "---\n  ? a\n  : 1\n",
            "?\r a",
            "a: 1\rb: 2\r",
            // Empty nodes end on their indicator's line, after the last content character.
            "?\r:\r",
            "-0b:\r-",
            "a:\n- \n-\n# c\n",
            "? x\n:\n... # end\n",
            "status:\n- 1\n-\nb: 2\n",
            "status:\n-\n?\n  b\n: 2\n",
            // Found by `cargo fuzz run splice_status`: a tag on the line above an indented root.
            "!t\n  a: 1\n  b: x\n",
            // Found by `cargo fuzz run splice_status`: a tag, then `?` alone, the key below it.
            "!pi\r?\r\r\r S \t",
            "!t\n?\n  k\n: v\n",
            "!/\r    ?\r",
            "&x\n  a: 1\n",
            // Found by `cargo fuzz run splice_status`: a last blank line holding a tab.
            "!pi-Vb\nma:\n am     \n        \t",
            "a: x\n  \t\n",
            // Found by the mutation run (tests/fuzz_corpus.rs): the same with a comment.
            "!pi-Vb\n:ma:\n am     \n        \t # c",
            // Found by `cargo fuzz run splice_status`: a status whose plain scalar took in a
            // last blank line holding a tab.
            "a: 1\n! status:\n fm  ] \n\n fm   tu\n     t     \n  \t",
            // Found by `cargo fuzz run splice_status`: a block scalar that ends the file
            // without a line break, whose value a status after it would change.
            "apon: |\n  cluf:/x-uses/187mainApplicationFile: (../apps/app.py\n  restartPolicy:\n    backoffSeconds: .:\n  kJo",
            "a: 1\nb: >\n  folded\n  text",
            "\u{feff}a:\n  - |+\n    kept",
            "---\nb: |\n  x",
            "!t\n  a: 1\n  b: |\n   x",
            "a: |-\n  stripped",
            "a:\r\n - 1\nb: >\n  folded\n  text",
            // Found by the mutation run: a last line of spaces beyond the indentation is content.
            "b: >\n  x\n   y\n    ",
            "b: |\n  x\n    \n",
            "b: |\n  x\n    \n# c\n",
            "b: |+\n  x\n   \n\n",
            "a:\r\n - 1\nb: >\n  folded\n  text}\n      region: nyc3\n   \\   region: nyc3\n    ",
            // Found by the mutation run (tests/fuzz_corpus.rs): a byte order mark after the end.
            "a: 1\n\u{feff}",
            "? a\n:\n\u{feff}",
            // Found by `cargo fuzz run splice_status`: the last entry's key opened by a `?`
            // on a line above it; the status goes in front of the entry before.
            "a: 1\n?\n  k\n: |\n  x",
            "a: 1\n?\r\r: >\n  t",
            "?\n  k\n: |\n  x",
            "!pi$lur2\r?\r\r\r\r\r: >\n  t#x!r3r23  o/v.",
            "a: 1\n  # c\n?\n  # d\n  k\n: |\n  x",
            "a: 1\n? # c\n  k\n: |\n  x",
            // Found by `cargo fuzz run splice_status`: blank lines ended by lone CRs above the
            // entry, in a file whose first line ends with LF.
            "!pi-Vb\n:ma:\n ur1\r?\r\r\r\r\r:: >\n  t#xam   se c",
            "a: 1\n\r\rb: |\n  x",
            // Found by `cargo fuzz run splice_status` (58 min): a literal block scalar whose
            // last lines end with lone CRs, in a file whose first line ends with LF; the status
            // goes behind a CR.
            "apon: |\nnA/R-uses/187ma apon: |\n  cluf:8pplicatx-useslunApplicat&\r\r\r  \n  ",
            "a: |\n  x\r\r  \n  ",
            "a: |\n  x\r\r",
            "a: |\n  x\r\r\n",
            // Found by the mutation run (tests/fuzz_corpus.rs): a `?` of a nested mapping on a
            // line above the last key is not the one that opens it.
            "!pi-Vb\n:ma:\n ?\r\r\r\r\r3: >\n  t#x|am   se c",
            "a:\n  ?\n3: |\n  x",
            // Found by `cargo fuzz run splice_status`: a block scalar with an indentation
            // indicator whose only line is spaces beyond it, which are its value.
            "b :  >1\n       ",
            "b: |1\n   \n   ",
            "a: 1\nb: >2\n\n     \nc: 2\n",
            "a: 1\nb: |1\n    ",
            // Found by `cargo fuzz run splice_status`: the same behind a tag.
            "b : ! >1\n       ",
            "b: !t |1\n    ",
            "b: !!str >1\n     \n     ",
            "b: &x >1\n     ",
            "a: |\r\r ! |\r\r  \n  \n---\nb: 1\n",
            "'ma apon\u{fffb}': |\r\r ! |\r\r  \n  \n---\n---\n",
            "---'ma apon\u{fffb}: |\r\r ! |\r\r  \n  \n---\n---\n",
            // Found by `cargo fuzz run splice_status` (37 min): keep chomping over lines ended
            // by lone CRs, at the end of a file with no final line break.
            "po0: |+\r \r      \n  ",
            "a: |+\n \n      \n  ",
            "a: |+\n\n\n",
            "a: >+\r\r\r  ",
            "a: |+\n  \n\nb: 1\n",
            "a: !t |+\n \n      \n  ",
            "a: !t |+\r \r      \n  ",
            "a: &x |+\n\n\n",
            "a: !t\n  |+\n\n\n  ",
            "a: |-\n\n\n  ",
            // Found by `cargo fuzz run splice_status`: the same ended by a `---` after a lone
            // CR, where saphyr's span of the scalar is empty, at the marker.
            "po0: |+\r \r---\n---\n",
            "a: |+\r\r...\rb: 1\r",
            "a: |\r  x\r\r---\r",
            "a: >+\r \r--- # c\n",
            "a: |+\r\r---\n",
            "a: |+\r \r \r---\n",
            "a: !t |+\r \r---\n",
            "a: &x |+\r \r...\n",
            "a: |+\r\n \r---\n",
            "a: |\r \r---\n",
            "a: |+\r  x\r \r---\n",
            "b: 1\na: |+\r \r\r---\nc: 2\n",
            // A byte order mark that starts the file is no column: the keys' line is indented.
            "\u{feff}  a: 1\n  b: 2\n",
            "\u{feff}  ? a\n  : 1\n",
            "\u{feff}? a\n: 1\n",
            "\u{feff}!t\n  a: 1\n",
            // A mark alone on a line above the root, or in front of a flow root, is harmless.
            "\n\u{feff}\n  a: 1\n",
            "\n\u{feff}{a: 1}\n",
        ] {
            let before = values(text);
            let set = splice(text, 0, Some(&status));
            let after = values(&set);
            assert_eq!(after.len(), before.len(), "{text:?} -> {set:?}");
            assert_eq!(after[0].get("status"), Some(&status), "{text:?} -> {set:?}");
            assert_eq!(without_status(after[0].clone()), without_status(before[0].clone()), "{text:?} -> {set:?}");
            assert_eq!(&after[1..], &before[1..]);
            assert_eq!(splice(&set, 0, Some(&status)), set, "idempotent: {text:?}");
            let removed = splice(&set, 0, None);
            assert_eq!(without_status(values(&removed)[0].clone()), without_status(before[0].clone()));
            if before[0].get("status").is_none() {
                assert_eq!(removed, text, "insert then remove: {text:?}");
            }
        }
    }

    #[test]
    fn refuses_what_is_not_a_mapping() {
        assert!(matches!(splice_status("- a\n", 0, Some(&json!(1))), Err(SpliceError::NotBlockMapping { .. })));
        assert!(matches!(splice_status("just text\n", 0, Some(&json!(1))), Err(SpliceError::NotBlockMapping { .. })));
        assert!(matches!(
            splice_status("a: 1\n", 1, Some(&json!(1))),
            Err(SpliceError::NoSuchDocument { index: 1, count: 1 })
        ));
        assert!(matches!(splice_status("a: [\n", 0, Some(&json!(1))), Err(SpliceError::Unparseable { .. })));
        // Found by `cargo fuzz run splice_status`: serde reads `{"": {}}`, the positions an
        // anchored flow mapping.
        for text in ["&a: {}\n", "&---oc: {x: 1}\n", "---\n&a:\n  b: 1\n"] {
            assert!(
                matches!(splice_status(text, 0, Some(&json!(1))), Err(SpliceError::NotBlockMapping { .. })),
                "{text:?}"
            );
        }
        assert!(splice_status("&a {}\n", 0, Some(&json!(1))).is_ok());
        // Found by `cargo fuzz run splice_status`: a byte order mark after the file's start in
        // front of the root's keys, a column to libyaml and none to saphyr.
        for text in ["\n\u{feff}  -: fo", "\n\u{feff}a: 1\n", "\n\u{feff}? a\n: 1\n", "x: 1\n...\n\u{feff}  a: 1\n"] {
            let index = usize::from(text.starts_with('x'));
            assert!(
                matches!(splice_status(text, index, Some(&json!(1))), Err(SpliceError::NotBlockMapping { .. })),
                "{text:?}"
            );
        }
        // Found by `cargo fuzz run splice_status`: a tab-indented comment after a status.
        let text = "a=: 1\nb: >\n! status:\n fm  ] \n\n fm   tu\n     t     \n  \t#####foxt";
        assert_eq!(
            splice_status(text, 0, Some(&json!({"phase": "X"}))),
            Err(SpliceError::TabIndentedComment { line: 8 })
        );
        let text = "\n! status:\n )   \r \t # c";
        assert_eq!(
            splice_status(text, 0, Some(&json!({"phase": "X"}))),
            Err(SpliceError::TabIndentedComment { line: 4 })
        );
    }

    #[test]
    fn indented_roots_get_an_indented_status() {
        let status = json!({"m": "x\ny", "nodes": [{"a": 1}], "phase": "Ready"});
        let text = "--- \n  a: 1\n  b:\n    c: 2\n  # the user's\n";
        let set = splice(text, 0, Some(&status));
        assert_eq!(
            set,
            "--- \n  a: 1\n  b:\n    c: 2\n  status:\n    m: \"x\\ny\"\n    nodes:\n    - a: 1\n    phase: Ready\n  # the user's\n"
        );
        assert_eq!(values(&set)[0]["status"], status);
        assert_eq!(splice(&set, 0, None), text);
        assert_eq!(splice(&set, 0, Some(&json!("s"))), "--- \n  a: 1\n  b:\n    c: 2\n  status: s\n  # the user's\n");
        let crlf = "---\r\n    a: 1\r\n    status: old\r\n    z: 2\r\n";
        assert_eq!(
            splice(crlf, 0, Some(&json!({"p": 1}))),
            "---\r\n    a: 1\r\n    status:\r\n      p: 1\r\n    z: 2\r\n"
        );
        assert_eq!(splice(crlf, 0, None), "---\r\n    a: 1\r\n    z: 2\r\n");
    }

    #[test]
    fn flow_roots_get_a_flow_status() {
        let status = json!({"phase": "Ready", "conditions": [{"type": "Valid", "message": "a, [b]: {c}\n"}], "n": 1.5});
        let text = "{apiVersion: sparkswarm.io/v1alpha1, kind: SparkJob,   # c\n  metadata: {name: x}, spec: {clusterRef: d},}\n";
        let set = splice(text, 0, Some(&status));
        assert_eq!(
            set,
            "{status: {\"phase\": \"Ready\", \"conditions\": [{\"type\": \"Valid\", \"message\": \"a, [b]: {c}\\n\"}], \"n\": 1.5}, \
             apiVersion: sparkswarm.io/v1alpha1, kind: SparkJob,   # c\n  metadata: {name: x}, spec: {clusterRef: d},}\n"
        );
        assert_eq!(values(&set)[0]["status"], status);
        assert_eq!(splice(&set, 0, None), text);
        assert_eq!(splice(&set, 0, Some(&status)), set);
        for (text, set, removed) in [
            ("{}", "{status: \"s\"}", "{}"),
            ("--- !!map { }\n", "--- !!map {status: \"s\" }\n", "--- !!map { }\n"),
            ("{a: 1, status: {x: [1,\n 2]}}", "{a: 1, status: \"s\"}", "{a: 1}"),
            ("{a: 1, status: , b: 2}", "{a: 1, status: \"s\" , b: 2}", "{a: 1, b: 2}"),
            ("{a: 1, status}", "{a: 1, status: \"s\"}", "{a: 1}"),
        ] {
            assert_eq!(splice(text, 0, Some(&json!("s"))), set, "{text:?}");
            assert_eq!(splice(text, 0, None), removed, "{text:?}");
            assert_eq!(values(set)[0]["status"], json!("s"));
        }
    }

    // ---- property tests ----

    /// Builds one document as text from pieces, so that the expected result of removing
    /// its status is known: the same pieces without it.
    #[derive(Debug, Clone)]
    struct GenDoc {
        lead: Vec<String>,
        entries: Vec<(String, String)>,
        /// Where among the entries, the status text, and the user's lines right after it.
        status: Option<(usize, String, Vec<String>)>,
        tail: Vec<String>,
    }

    fn comment() -> impl Strategy<Value = String> {
        (prop_oneof![Just(0usize), Just(2), Just(4)], "[a-z :#'\"-]{0,12}")
            .prop_map(|(ind, t)| format!("{}# {t}", " ".repeat(ind)))
    }

    fn filler() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(prop_oneof![comment(), Just(String::new())], 0..3)
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9 ]{0,8}[a-z0-9]".prop_map(|s| s),
            "[a-z0-9 :#-]{0,8}".prop_map(|s| format!("\"{s}\"")),
            "[a-z0-9 \"#]{0,8}".prop_map(|s| format!("'{s}'")),
            (0u32..5000).prop_map(|n| n.to_string()),
            Just("true".to_string()),
            Just("~".to_string()),
        ]
    }

    fn value_text() -> impl Strategy<Value = String> {
        let trailing = prop_oneof![Just(String::new()), "[a-z ]{0,6}".prop_map(|c| format!("  # {c}"))];
        prop_oneof![
            (scalar(), trailing.clone()).prop_map(|(s, t)| format!(" {s}{t}")),
            (prop::collection::vec((("[a-z]{1,6}"), scalar(), filler()), 1..4), trailing.clone()).prop_map(
                |(kvs, t)| {
                    let mut out = t;
                    let mut seen = std::collections::HashSet::new();
                    for (k, v, f) in kvs {
                        if !seen.insert(k.clone()) {
                            continue;
                        }
                        out.push_str(&format!("\n  {k}: {v}"));
                        for line in f {
                            out.push('\n');
                            out.push_str(&line);
                        }
                    }
                    out
                }
            ),
            prop::collection::vec(scalar(), 0..3).prop_map(|items| format!(" [{}]", items.join(", "))),
            prop::collection::vec(scalar(), 1..3)
                .prop_map(|items| items.iter().map(|i| format!("\n  - {i}")).collect()),
        ]
    }

    fn status_text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(":\n  phase: Old   # stale\n  attempts: 3".to_string()),
            Just(": {phase: Old, n: [1, 2]}".to_string()),
            Just(":\n  conditions:\n  - type: Valid\n    # inner comment\n    status: 'True'".to_string()),
            Just(": ~".to_string()),
        ]
    }

    fn gen_doc() -> impl Strategy<Value = GenDoc> {
        let keys = Just(vec!["apiVersion", "kind", "metadata", "spec", "extra"]).prop_shuffle();
        (
            filler(),
            keys,
            prop::collection::vec((value_text(), filler()), 5),
            prop::option::of((0usize..6, status_text(), filler())),
            filler(),
        )
            .prop_map(|(lead, keys, values, status, tail)| {
                let entries = keys
                    .into_iter()
                    .zip(values)
                    .map(|(k, (v, f))| {
                        let mut text = format!("{k}:{v}");
                        for line in f {
                            text.push('\n');
                            text.push_str(&line);
                        }
                        (k.to_string(), text)
                    })
                    .collect();
                GenDoc { lead, entries, status: status.map(|(pos, s, after)| (pos, format!("status{s}"), after)), tail }
            })
    }

    impl GenDoc {
        fn lines(&self, with_status: bool) -> Vec<String> {
            let mut out = self.lead.clone();
            let n = self.entries.len();
            let status_here = |out: &mut Vec<String>, i: usize| {
                if let Some((pos, s, after)) = &self.status {
                    if *pos % (n + 1) == i {
                        if with_status {
                            out.push(s.clone());
                        }
                        out.extend(after.iter().cloned());
                    }
                }
            };
            for (i, (_, text)) in self.entries.iter().enumerate() {
                status_here(&mut out, i);
                out.push(text.clone());
            }
            status_here(&mut out, n);
            out.extend(self.tail.clone());
            out
        }
    }

    fn gen_file() -> impl Strategy<Value = (Vec<GenDoc>, bool, bool, bool)> {
        (prop::collection::vec(gen_doc(), 1..4), any::<bool>(), any::<bool>(), any::<bool>())
    }

    fn assemble(docs: &[GenDoc], with_status: bool, crlf: bool, trailing_newline: bool, first_marker: bool) -> String {
        let mut lines = Vec::new();
        for (i, d) in docs.iter().enumerate() {
            if i > 0 || first_marker {
                lines.push("---".to_string());
            }
            lines.extend(d.lines(with_status));
        }
        let le = if crlf { "\r\n" } else { "\n" };
        let mut text = lines.join("\n").replace('\n', le);
        if trailing_newline {
            text.push_str(le);
        }
        text
    }

    fn status_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
            "\\PC{0,12}".prop_map(Value::from),
            "[a-z\n #:'\"]{0,12}".prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
        ];
        let tree = leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z][a-zA-Z0-9./-]{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        prop_oneof![
            3 => prop::collection::btree_map("[a-z]{1,8}", tree.clone(), 1..5).prop_map(|m| Value::Object(m.into_iter().collect())),
            1 => tree,
        ]
    }

    fn values(text: &str) -> Vec<Value> {
        parse(Path::new("p.yaml"), text)
            .unwrap_or_else(|e| panic!("does not parse: {e}\n{text}"))
            .docs
            .into_iter()
            .map(|d| d.value)
            .collect()
    }

    fn without_status(mut v: Value) -> Value {
        if let Some(m) = v.as_object_mut() {
            m.remove("status");
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn splice_properties(
            (docs, crlf, trailing_newline, first_marker) in gen_file(),
            target in 0usize..3,
            status in status_value(),
        ) {
            let x = assemble(&docs, true, crlf, trailing_newline, first_marker);
            let bare = assemble(&docs, false, crlf, trailing_newline, first_marker);
            let i = target % docs.len();
            let before = values(&x);
            prop_assert_eq!(before.len(), docs.len());

            // (a) the status is set, everything else unchanged.
            let set = splice(&x, i, Some(&status));
            let after = values(&set);
            prop_assert_eq!(after.len(), before.len());
            for (j, (a, b)) in after.iter().zip(&before).enumerate() {
                if j == i {
                    prop_assert_eq!(a.get("status"), Some(&status), "{}", set);
                    prop_assert_eq!(without_status(a.clone()), without_status(b.clone()));
                } else {
                    prop_assert_eq!(a, b);
                }
            }

            // (b) removing the status gives the original with its status removed.
            let mut removed = set.clone();
            let mut expected = x.clone();
            for j in 0..docs.len() {
                removed = splice(&removed, j, None);
                expected = splice(&expected, j, None);
            }
            prop_assert_eq!(&removed, &bare);
            prop_assert_eq!(&expected, &bare);

            // (c) idempotent.
            prop_assert_eq!(&splice(&set, i, Some(&status)), &set);

            // (d) insert then remove is the identity on a document without status.
            let inserted = splice(&bare, i, Some(&status));
            prop_assert_eq!(&splice(&inserted, i, None), &bare);
            prop_assert_eq!(&splice(&inserted, i, Some(&status)), &inserted);
            if crlf {
                prop_assert!(!inserted.replace("\r\n", "").contains('\n'), "bare LF in {:?}", inserted);
            }
        }

        #[test]
        fn edits_never_panic(text in "[a-z:#\\-\\[\\]{}'\" \n\r|>&*!?.,~\té\u{feff}\\\\]{0,60}", i in 0usize..3) {
            let status = json!({"phase": "X"});
            let set = splice_status(&text, i, Some(&status));
            let _ = splice_status(&text, i, None);
            // Whatever the input, an edit that succeeds on a parseable file keeps it parseable
            // and does what it says.
            if let (Ok(before), Ok(out)) = (parse(Path::new("p.yaml"), &text), &set) {
                let after = parse(Path::new("p.yaml"), out);
                prop_assert!(after.is_ok(), "{:?} -> {:?}: {:?}", text, out, after.err());
                let after = after.map(|f| f.docs).unwrap_or_default();
                prop_assert_eq!(after.len(), before.docs.len());
                prop_assert_eq!(after[i].status(), Some(&status), "{:?} -> {:?}", text, out);
                prop_assert_eq!(without_status(after[i].value.clone()), without_status(before.docs[i].value.clone()));
            }
            let _ = crate::manifest::annotate::set_annotation(&text, i, "k", "v");
            let _ = parse(Path::new("p.yaml"), &text);
        }
    }
}
