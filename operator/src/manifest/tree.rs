//! A YAML node tree with source positions, built from saphyr-parser events.
//!
//! serde_yaml gives values but no positions; the lossless editors (status splice,
//! annotations) and the line numbers of validation errors need to know where each node
//! starts and where its last content character ends, in bytes.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Deeper than any manifest needs; the limit keeps the recursive walks over the tree safe
/// from stack exhaustion on hostile input.
const MAX_DEPTH: usize = 128;

/// Far more documents than a directory of manifests holds; every reconcile of an object in
/// the file re-reads all of them.
pub(crate) const MAX_DOCUMENTS: usize = 1000;

/// How much aliases may add to a file, in bytes of scalars plus one per node: an alias is a
/// copy in every consumer (serde's value, the JSON value), so a small file of aliases of
/// aliases can stand for gigabytes.
pub(crate) const MAX_ALIAS_EXPANSION: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub byte: usize,
    /// 1-based.
    pub line: usize,
    /// 0-based, in characters.
    pub col: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub start: Pos,
    /// Byte just after the node's last content character; `None` for an empty node (`key:`).
    pub content_end: Option<usize>,
    /// Anchors and tags make even an empty plain scalar a deliberate node.
    pub decorated: bool,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Scalar { value: String, style: ScalarStyle },
    Alias,
    Mapping { flow: bool, entries: Vec<(Node, Node)> },
    Sequence { items: Vec<Node> },
}

impl Node {
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// An empty plain scalar without anchor or tag is what the parser makes of nothing at all.
    pub fn is_nothing(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { value, style: ScalarStyle::Plain } if value.is_empty())
            && !self.decorated
    }

    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Mapping { entries, .. } => Some(entries),
            _ => None,
        }
    }

    /// The first entry whose key is the scalar `key`.
    pub fn get(&self, key: &str) -> Option<&(Node, Node)> {
        self.entries()?.iter().find(|(k, _)| k.scalar() == Some(key))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub root: Node,
    /// The byte range of the text that holds this document and nothing of the others: it
    /// starts at its `---` (or just after the previous `...`) and ends where the next begins.
    pub slice: (usize, usize),
    /// 1-based line where `slice` starts.
    pub slice_line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TreeErrorKind {
    Syntax,
    DuplicateKey,
    TooDeep,
    TooManyDocuments,
    AliasExpansion,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TreeError {
    pub kind: TreeErrorKind,
    pub line: usize,
    /// 1-based.
    pub column: usize,
    pub message: String,
}

/// saphyr-parser counts positions in characters; slicing needs bytes.
struct Offsets {
    /// `None` when the text is ASCII and characters are bytes.
    char_to_byte: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let char_to_byte = (!text.is_ascii())
            .then(|| text.char_indices().map(|(b, _)| b).chain(std::iter::once(text.len())).collect());
        Offsets { char_to_byte, len: text.len() }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.char_to_byte {
            None => char_index.min(self.len),
            Some(map) => map.get(char_index).copied().unwrap_or(self.len),
        }
    }

    fn pos(&self, m: saphyr_parser::Marker) -> Pos {
        Pos { byte: self.byte(m.index()), line: m.line(), col: m.col() }
    }
}

enum Frame {
    Map {
        start: Pos,
        decorated: bool,
        flow: bool,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        /// Key text to the line it was first seen on, for duplicate detection.
        seen: HashMap<String, usize>,
        anchor: usize,
        weight: u64,
    },
    Seq {
        start: Pos,
        decorated: bool,
        flow: bool,
        items: Vec<Node>,
        anchor: usize,
        weight: u64,
    },
}

/// What a node costs once aliases are expanded (see [`MAX_ALIAS_EXPANSION`]).
#[derive(Default)]
struct Expansion {
    /// Anchor id to the weight of the node it names.
    anchors: HashMap<usize, u64>,
    added: u64,
}

impl Expansion {
    fn finished(&mut self, stack: &mut [Frame], anchor: usize, weight: u64) {
        if anchor != 0 {
            self.anchors.insert(anchor, weight);
        }
        match stack.last_mut() {
            Some(Frame::Map { weight: w, .. } | Frame::Seq { weight: w, .. }) => *w = w.saturating_add(weight),
            None => {}
        }
    }

    fn alias(&mut self, stack: &mut [Frame], anchor: usize, at: Pos) -> Result<(), TreeError> {
        let weight = self.anchors.get(&anchor).copied().unwrap_or(1);
        self.added = self.added.saturating_add(weight);
        if self.added > MAX_ALIAS_EXPANSION {
            return Err(TreeError {
                kind: TreeErrorKind::AliasExpansion,
                line: at.line,
                column: at.col + 1,
                message: format!(
                    "aliases expand the file by more than {} KiB; a manifest needs no alias bomb",
                    MAX_ALIAS_EXPANSION / 1024
                ),
            });
        }
        self.finished(stack, 0, weight);
        Ok(())
    }
}

struct DocState {
    start_byte: usize,
    root: Option<Node>,
}

/// Parses every document of `text`, empty ones included (callers decide what to skip).
pub(crate) fn parse(text: &str) -> Result<Vec<Doc>, TreeError> {
    let offsets = Offsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut docs: Vec<(DocState, usize)> = Vec::new();
    let mut current: Option<DocState> = None;
    let mut stack: Vec<Frame> = Vec::new();
    // Where the next document's text begins: after an explicit `...`, else at its `---`.
    let mut next_start: Option<usize> = Some(0);
    let mut expansion = Expansion::default();
    let mut documents = 0usize;

    while let Some(item) = parser.next_event() {
        let (event, span) = item.map_err(|e| TreeError {
            kind: TreeErrorKind::Syntax,
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let start = offsets.pos(span.start);
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > MAX_DOCUMENTS {
                    return Err(TreeError {
                        kind: TreeErrorKind::TooManyDocuments,
                        line: start.line,
                        column: start.col + 1,
                        message: format!("more than {MAX_DOCUMENTS} documents in one file"),
                    });
                }
                let start_byte = next_start.take().unwrap_or(start.byte);
                current = Some(DocState { start_byte, root: None });
            }
            Event::DocumentEnd => {
                let end_text = &text[offsets.byte(span.start.index())..offsets.byte(span.end.index())];
                let explicit = end_text.starts_with("...");
                let end_byte = if explicit { offsets.byte(span.end.index()) } else { start.byte };
                if let Some(state) = current.take() {
                    docs.push((state, end_byte));
                }
                next_start = explicit.then_some(end_byte);
            }
            Event::Scalar(value, style, anchor, tag) => {
                let content_end = scalar_content_end(text, &offsets, &span, &value, style);
                expansion.finished(&mut stack, anchor, value.len() as u64 + 1);
                let node = Node {
                    start,
                    content_end,
                    decorated: anchor != 0 || tag.is_some(),
                    kind: NodeKind::Scalar { value: value.into_owned(), style },
                };
                attach(&mut stack, &mut current, node)?;
            }
            Event::Alias(anchor) => {
                expansion.alias(&mut stack, anchor, start)?;
                let node = Node {
                    start,
                    content_end: Some(offsets.byte(span.end.index())),
                    decorated: true,
                    kind: NodeKind::Alias,
                };
                attach(&mut stack, &mut current, node)?;
            }
            Event::MappingStart(anchor, tag) => {
                check_depth(&stack, start)?;
                stack.push(Frame::Map {
                    start,
                    decorated: anchor != 0 || tag.is_some(),
                    // After a tag the span runs on over the blanks that follow the `{`.
                    flow: span_text(text, &offsets, &span).trim_end().ends_with('{'),
                    entries: Vec::new(),
                    pending_key: None,
                    seen: HashMap::new(),
                    anchor,
                    weight: 1,
                });
            }
            Event::SequenceStart(anchor, tag) => {
                check_depth(&stack, start)?;
                stack.push(Frame::Seq {
                    start,
                    decorated: anchor != 0 || tag.is_some(),
                    flow: span_text(text, &offsets, &span).trim_end().ends_with('['),
                    items: Vec::new(),
                    anchor,
                    weight: 1,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = stack.pop() else { continue };
                // The span of a flow end runs on over trailing blanks and a comment.
                let flow_end = offsets.byte(span.start.index()) + 1;
                let (anchor, weight) = match &frame {
                    Frame::Map { anchor, weight, .. } | Frame::Seq { anchor, weight, .. } => (*anchor, *weight),
                };
                expansion.finished(&mut stack, anchor, weight);
                let node = match frame {
                    Frame::Map { start, decorated, flow, entries, .. } => {
                        let content_end = if flow {
                            Some(flow_end)
                        } else {
                            entries.iter().flat_map(|(k, v)| [k.content_end, v.content_end]).flatten().max()
                        };
                        Node { start, content_end, decorated, kind: NodeKind::Mapping { flow, entries } }
                    }
                    Frame::Seq { start, decorated, flow, items, .. } => {
                        let content_end =
                            if flow { Some(flow_end) } else { items.iter().filter_map(|n| n.content_end).max() };
                        Node { start, content_end, decorated, kind: NodeKind::Sequence { items } }
                    }
                };
                attach(&mut stack, &mut current, node)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }

    let mut out = Vec::with_capacity(docs.len());
    let starts: Vec<usize> = docs.iter().map(|(s, _)| s.start_byte).collect();
    for (i, (state, _end)) in docs.into_iter().enumerate() {
        let Some(root) = state.root else { continue };
        let slice_end = starts.get(i + 1).copied().unwrap_or(text.len()).max(state.start_byte);
        let slice_line = 1 + text[..state.start_byte].bytes().filter(|b| *b == b'\n').count();
        out.push(Doc { root, slice: (state.start_byte, slice_end), slice_line });
    }
    Ok(out)
}

fn span_text<'t>(text: &'t str, offsets: &Offsets, span: &Span) -> &'t str {
    let (a, b) = (offsets.byte(span.start.index()), offsets.byte(span.end.index()));
    text.get(a..b.max(a)).unwrap_or("")
}

fn scalar_content_end(text: &str, offsets: &Offsets, span: &Span, value: &str, style: ScalarStyle) -> Option<usize> {
    let (a, b) = (offsets.byte(span.start.index()), offsets.byte(span.end.index()));
    match style {
        // The span of an empty plain scalar points at whatever comes next, even a later line.
        ScalarStyle::Plain if value.is_empty() => None,
        // A block scalar's span runs on over trailing blank lines up to the next token.
        ScalarStyle::Literal | ScalarStyle::Folded => {
            let body = text.get(a..b.max(a)).unwrap_or("");
            let trimmed = body.trim_end_matches([' ', '\t', '\r', '\n']);
            // Behind a tag or an anchor the span starts at it, not at the first content line.
            let header = decorated_block_header(body);
            let content = &body[header..];
            let spaces_only = !content.is_empty() && content.trim_end_matches([' ', '\t', '\r', '\n']).is_empty();
            if trimmed.is_empty() || (header > 0 && spaces_only) {
                // Only lines of spaces beyond an explicit indentation (`>1` over `"      "`):
                // they are the value, one line each, the first where the content starts.
                let lines = value.trim_end_matches('\n');
                // With keep chomping and no line but blanks, one line per kept break.
                let more = if lines.is_empty() {
                    let more = value.matches('\n').count().checked_sub(1)?;
                    if a == b {
                        // An empty span sits where the next token starts (a `---` after a
                        // lone CR): the kept lines are the ones above it.
                        let above = &text[..a];
                        let lb = if above.ends_with("\r\n") { 2 } else { usize::from(above.ends_with(['\r', '\n'])) };
                        return Some(a - lb);
                    }
                    more
                } else {
                    lines.matches('\n').count()
                };
                let mut end = line_end(text, a + header);
                for _ in 0..more {
                    let next = end + if text[end..].starts_with("\r\n") { 2 } else { 1 };
                    if next > b || !blank_line(text, next) {
                        break;
                    }
                    end = line_end(text, next);
                }
                return Some(end.min(b.max(a)));
            }
            // Lines of spaces beyond the block's indentation are content too (`"  "`); the
            // value has one line per such line after its last visible character, which
            // folding leaves alone (a more-indented line keeps its breaks).
            let text_part = value.trim_end_matches('\n');
            let visible = text_part.trim_end_matches([' ', '\t', '\n']).len();
            let spaced = text_part[visible..].matches('\n').count();
            // With keep chomping (`|+`) trailing blank lines are part of the value: one per
            // newline beyond the one ending the last text line.
            let kept = value.len() - text_part.len();
            // When no line below the header holds more than blanks (`|+` over blank lines),
            // each line of the value is one line below it; the header's own break is not one.
            let header_line = match header {
                0 if body.starts_with(['|', '>']) => line_end(body, 0),
                _ => header,
            };
            let steps = if header_line > 0 && trimmed.len() <= header_line {
                value.matches('\n').count() + usize::from(!value.is_empty() && !value.ends_with('\n'))
            } else {
                spaced + kept.saturating_sub(1)
            };
            let mut end = a + trimmed.len();
            for _ in 0..steps {
                let lb = line_end(text, end);
                let next = lb + if text[lb..].starts_with("\r\n") { 2 } else { 1 };
                // The lines counted here hold nothing but blanks: a `---` or a key below is
                // never one of them, however the two parsers count lone CRs.
                if next > b || !blank_line(text, next) {
                    break;
                }
                end = line_end(text, next);
            }
            Some(end.min(b.max(a)))
        }
        // Like flow ends, a quoted scalar's span runs on over a trailing comment.
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Some(quoted_end(text, a, style).unwrap_or(b)),
        _ => Some(b),
    }
}

/// Where the content of a block scalar whose span starts at a tag or an anchor begins: after
/// the line holding its `|` or `>` (the decorations may sit on lines above it). 0 when the
/// span does not start at a decoration, or no indicator line ends inside it.
fn decorated_block_header(body: &str) -> usize {
    if !body.starts_with(['!', '&']) {
        return 0;
    }
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // A tag or an anchor: up to the next blank.
            b'!' | b'&' => {
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => {
                while i < bytes.len() && !matches!(bytes[i], b'\r' | b'\n') {
                    i += 1;
                }
            }
            b'|' | b'>' => {
                while i < bytes.len() && !matches!(bytes[i], b'\r' | b'\n') {
                    i += 1;
                }
                return match bytes.get(i..) {
                    Some([b'\r', b'\n', ..]) => i + 2,
                    Some([_, ..]) => i + 1,
                    _ => 0,
                };
            }
            _ => return 0,
        }
    }
    0
}

/// The byte after the closing quote of the quoted scalar whose span starts at `from`.
fn quoted_end(text: &str, from: usize, style: ScalarStyle) -> Option<usize> {
    let quote = if style == ScalarStyle::SingleQuoted { b'\'' } else { b'"' };
    let bytes = text.as_bytes();
    // Skip an anchor or tag in front of the opening quote.
    let open = from + bytes.get(from..)?.iter().position(|b| *b == quote)?;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn check_depth(stack: &[Frame], at: Pos) -> Result<(), TreeError> {
    if stack.len() >= MAX_DEPTH {
        return Err(TreeError {
            kind: TreeErrorKind::TooDeep,
            line: at.line,
            column: at.col + 1,
            message: format!("nesting deeper than {MAX_DEPTH} levels"),
        });
    }
    Ok(())
}

fn attach(stack: &mut [Frame], current: &mut Option<DocState>, node: Node) -> Result<(), TreeError> {
    match stack.last_mut() {
        None => {
            if let Some(state) = current {
                state.root = Some(node);
            }
        }
        Some(Frame::Seq { items, .. }) => items.push(node),
        Some(Frame::Map { entries, pending_key, seen, .. }) => match pending_key.take() {
            None => {
                if let Some(key) = node.scalar() {
                    if let Some(first) = seen.get(key) {
                        return Err(TreeError {
                            kind: TreeErrorKind::DuplicateKey,
                            line: node.start.line,
                            column: node.start.col + 1,
                            message: format!("duplicate key `{key}` (first defined on line {first})"),
                        });
                    }
                    seen.insert(key.to_string(), node.start.line);
                }
                *pending_key = Some(node);
            }
            Some(key) => entries.push((key, node)),
        },
    }
    Ok(())
}

/// Whether the line that starts at `at` holds only spaces and tabs (or nothing).
fn blank_line(text: &str, at: usize) -> bool {
    let at = at.min(text.len());
    text[at..line_end(text, at)].bytes().all(|c| c == b' ' || c == b'\t')
}

/// The byte where the line holding `at` ends, before its line break.
pub(crate) fn line_end(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[at..].iter().position(|b| *b == b'\n' || *b == b'\r').map_or(text.len(), |i| at + i)
}

/// The line break the file uses, judged by its first one; LF for a one-line file.
pub(crate) fn line_ending(text: &str) -> &'static str {
    match text.find(['\n', '\r']).map(|i| &text.as_bytes()[i..]) {
        Some([b'\r', b'\n', ..]) => "\r\n",
        Some([b'\r', ..]) => "\r",
        _ => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_scalar_content_stops_at_last_non_blank() {
        let text = "a: |\n  x\n\n# c\nb: 1\n";
        let docs = parse(text).map_err(|e| e.message).unwrap_or_default();
        let (_, v) = docs[0].root.get("a").cloned().unwrap_or_else(|| panic!("no a"));
        assert_eq!(v.content_end, Some(text.find("x").unwrap_or(0) + 1));
    }

    #[test]
    fn quoted_and_flow_ends_exclude_trailing_comments() {
        let text = "a: '1''x'   # c\nb: &q \"2\\\"\"  # d\nc: {}  # e\nd: [1] # f\n";
        let docs = parse(text).unwrap_or_default();
        let ends: Vec<&str> = ["a", "b", "c", "d"]
            .iter()
            .map(|k| {
                let (_, v) = docs[0].root.get(k).cloned().unwrap_or_else(|| panic!("no {k}"));
                let end = v.content_end.unwrap_or(0);
                &text[v.start.byte..end]
            })
            .collect();
        assert_eq!(ends, ["'1''x'", "&q \"2\\\"\"", "{}", "[1]"]);
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_lines() {
        let err = parse("a: 1\nb:\n  c: 1\n  c: 2\n").err().unwrap_or_else(|| panic!("accepted"));
        assert_eq!(err.kind, TreeErrorKind::DuplicateKey);
        assert_eq!((err.line, err.column), (4, 3));
        assert!(err.message.contains("line 3"), "{}", err.message);
    }

    #[test]
    fn flow_and_block_collections_are_told_apart() {
        let docs = parse("a: &x {b: 1}\nc: [1]\nd:\n- 1\n").unwrap_or_default();
        let root = &docs[0].root;
        assert!(matches!(&root.kind, NodeKind::Mapping { flow: false, .. }));
        assert!(matches!(root.get("a").map(|e| &e.1.kind), Some(NodeKind::Mapping { flow: true, .. })));
        let c = root.get("c").map(|e| e.1.clone()).expect("c");
        assert_eq!(c.content_end, Some(text_len_until("a: &x {b: 1}\nc: [1]")));
    }

    fn text_len_until(s: &str) -> usize {
        s.len()
    }

    #[test]
    fn slices_partition_the_text() {
        let text = "a: 1\n...\n%YAML 1.2\n---\nb: 2\n---\nc: 3\n";
        let docs = parse(text).unwrap_or_default();
        assert_eq!(docs.len(), 3);
        assert_eq!(&text[docs[0].slice.0..docs[0].slice.1], "a: 1\n...");
        assert_eq!(&text[docs[1].slice.0..docs[1].slice.1], "\n%YAML 1.2\n---\nb: 2\n");
        assert_eq!(&text[docs[2].slice.0..docs[2].slice.1], "---\nc: 3\n");
        assert_eq!(docs[2].slice_line, 6);
    }

    #[test]
    fn non_ascii_positions_are_bytes() {
        let text = "\u{feff}é: ü\nb: 1\n";
        let docs = parse(text).unwrap_or_default();
        let (k, _) = docs[0].root.get("b").cloned().unwrap_or_else(|| panic!("no b"));
        assert_eq!(&text[k.start.byte..k.start.byte + 1], "b");
    }
}
