//! A manifest file as documents: JSON values (as serde sees them) plus source positions.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::open;
use super::paths::Roots;
use super::tree::{self, Node, NodeKind, TreeErrorKind};

/// Manifests are small; anything bigger is a mistake (a data file dropped in the directory)
/// and must not make the operator allocate without bound.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ManifestFile {
    pub path: PathBuf,
    pub text: String,
    pub docs: Vec<Document>,
    /// The positions' tree of `text`'s non-empty documents, kept from the parse for a
    /// status write's splice into this very text; not kept where files wait in numbers.
    trees: Option<Arc<Vec<tree::Doc>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 0-based among the file's non-empty documents.
    pub index: usize,
    /// 1-based line of the document's first content line.
    pub start_line: usize,
    /// The whole document, status included.
    pub value: Value,
    /// JSON pointer to 1-based (line, column) of each key (for a mapping entry) or node.
    positions: HashMap<String, (usize, usize)>,
    /// Integers too large for any integer field, by JSON pointer, as written. They are
    /// strings in `value` (serde's YAML cannot hold them), so that validation can name the
    /// field and its range instead of the whole file failing to parse.
    big_integers: HashMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    InvalidYaml,
    DuplicateKey,
    FileTooLarge,
    BinaryFile,
    InvalidUtf8,
    Unreadable,
    /// A FIFO, a device, a directory, a socket: never opened for reading.
    NotRegularFile,
    /// A symlink resolving outside the allowed roots: neither read nor written.
    OutsideRoots,
    /// Too many documents, or aliases that would expand beyond what a manifest needs.
    TooComplex,
}

impl ParseErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParseErrorKind::InvalidYaml => "InvalidYaml",
            ParseErrorKind::DuplicateKey => "DuplicateKey",
            ParseErrorKind::FileTooLarge => "FileTooLarge",
            ParseErrorKind::BinaryFile => "BinaryFile",
            ParseErrorKind::InvalidUtf8 => "InvalidUtf8",
            ParseErrorKind::Unreadable => "Unreadable",
            ParseErrorKind::NotRegularFile => "NotRegularFile",
            ParseErrorKind::OutsideRoots => "OutsideRoots",
            ParseErrorKind::TooComplex => "TooComplex",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct ParseError {
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    pub message: String,
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// CamelCase, for a condition's `reason`.
    pub fn reason(&self) -> &'static str {
        self.kind.as_str()
    }

    fn new(path: &Path, line: usize, column: usize, kind: ParseErrorKind, message: impl Into<String>) -> Self {
        ParseError { path: path.to_path_buf(), line, column, message: message.into(), kind }
    }
}

impl Document {
    pub fn kind(&self) -> Option<&str> {
        self.value.get("kind")?.as_str()
    }

    pub fn name(&self) -> Option<&str> {
        self.value.get("metadata")?.get("name")?.as_str()
    }

    /// Whether this document declares the object `kind`/`name`.
    pub fn is(&self, kind: crate::api::Kind, name: &str) -> bool {
        self.kind() == Some(kind.as_str()) && self.name() == Some(name)
    }

    pub fn status(&self) -> Option<&Value> {
        self.value.get("status")
    }

    /// 1-based (line, column) of the node at `pointer`, if it is in the source (values that
    /// came through a merge key `<<` are not).
    pub fn position_of(&self, pointer: &str) -> Option<(usize, usize)> {
        self.positions.get(pointer).copied()
    }

    /// The integer written at `pointer` if it is beyond what 64 bits hold.
    pub fn big_integer(&self, pointer: &str) -> Option<&str> {
        self.big_integers.get(pointer).map(String::as_str)
    }

    /// The line of the node at `pointer`, else of its nearest ancestor in the source.
    pub fn line_of(&self, pointer: &str) -> usize {
        let mut p = pointer;
        loop {
            if let Some((line, _)) = self.positions.get(p) {
                return *line;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.start_line,
            }
        }
    }

    /// What a change of makes a new generation: `spec` and `metadata.annotations`.
    pub fn generation_hash(&self) -> String {
        // The canonical form of `{"annotations": …, "spec": …}`, written from the parsed
        // value in place: generations already on disk hold hashes of exactly this text.
        let empty = Value::Object(Default::default());
        let annotations = match self.value.get("metadata").and_then(|m| m.get("annotations")) {
            None | Some(Value::Null) => &empty,
            Some(a) => a,
        };
        let mut canon = String::from("{\"annotations\":");
        write_canonical(annotations, &mut canon);
        canon.push_str(",\"spec\":");
        write_canonical(self.value.get("spec").unwrap_or(&Value::Null), &mut canon);
        canon.push('}');
        hex::encode(Sha256::digest(canon.as_bytes()))
    }
}

/// JSON with object keys sorted at every level, whatever map order serde_json was built with.
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                if let Some(inner) = m.get(k) {
                    write_canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// Reads and parses a manifest file, refusing what cannot be a manifest. A symlink may
/// resolve only inside the project (the parent of the file's directory); callers that know
/// the operator's allowed roots use [`read_within`].
pub fn read(path: &Path) -> Result<ManifestFile, ParseError> {
    let roots = open::default_roots(path)
        .map_err(|e| ParseError::new(path, 1, 1, ParseErrorKind::Unreadable, format!("cannot read the file: {e}")))?;
    read_within(path, &roots)
}

/// Reads and parses a manifest file that must be (or link to) a regular file inside `roots`.
pub fn read_within(path: &Path, roots: &Roots) -> Result<ManifestFile, ParseError> {
    let bytes = read_bytes_within(path, roots)?;
    parse_bytes(path, bytes)
}

/// The raw bytes of a manifest, refused and bounded as [`read`] does, without parsing them:
/// enough to tell whether the file holds what the operator itself last wrote.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, ParseError> {
    let roots = open::default_roots(path)
        .map_err(|e| ParseError::new(path, 1, 1, ParseErrorKind::Unreadable, format!("cannot read the file: {e}")))?;
    read_bytes_within(path, &roots)
}

fn read_bytes_within(path: &Path, roots: &Roots) -> Result<Vec<u8>, ParseError> {
    open::read_bytes(path, roots, MAX_FILE_SIZE).map_err(|e| open_error(path, e))
}

pub(crate) fn open_error(path: &Path, e: open::OpenError) -> ParseError {
    let kind = match &e {
        open::OpenError::NotFound | open::OpenError::Io(_) => ParseErrorKind::Unreadable,
        open::OpenError::NotRegular(_) => ParseErrorKind::NotRegularFile,
        open::OpenError::OutsideRoots { .. } => ParseErrorKind::OutsideRoots,
        open::OpenError::TooLarge { .. } => ParseErrorKind::FileTooLarge,
    };
    let message = match e {
        open::OpenError::NotFound => "cannot read the file: no such file".to_string(),
        other => other.to_string(),
    };
    ParseError::new(path, 1, 1, kind, message)
}

/// Parses the bytes of `path`: not binary, UTF-8, then YAML.
pub fn parse_bytes(path: &Path, bytes: Vec<u8>) -> Result<ManifestFile, ParseError> {
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(ParseError::new(
            path,
            1,
            1,
            ParseErrorKind::FileTooLarge,
            format!("the file is larger than {} KiB; manifests are small YAML files", MAX_FILE_SIZE / 1024),
        ));
    }
    if let Some(i) = bytes.iter().position(|b| *b == 0) {
        let (line, column) = byte_position(&bytes, i);
        return Err(ParseError::new(
            path,
            line,
            column,
            ParseErrorKind::BinaryFile,
            "the file contains a NUL byte: it is binary, not YAML",
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let (line, column) = byte_position(e.as_bytes(), at);
        ParseError::new(path, line, column, ParseErrorKind::InvalidUtf8, "the file is not valid UTF-8")
    })?;
    parse(path, &text)
}

/// The parsers report an error at the end of the input on the line after the final line
/// break, a line no editor shows: such an error is put at the end of the last line.
fn on_a_line(text: &str, line: usize, column: usize) -> (usize, usize) {
    // Line breaks as YAML counts them: CR LF, a lone CR, LF.
    let lines: Vec<&str> = text.split("\r\n").flat_map(|l| l.split(['\r', '\n'])).collect();
    let shown =
        if lines.len() > 1 && lines.last().is_some_and(|l| l.is_empty()) { lines.len() - 1 } else { lines.len() };
    if line <= shown.max(1) {
        return (line, column);
    }
    let last = lines.get(shown.saturating_sub(1)).map_or(0, |l| l.chars().count());
    (shown.max(1), last + 1)
}

fn byte_position(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let column = 1 + String::from_utf8_lossy(&before[line_start..]).chars().count();
    (line, column)
}

/// Parses `text` (the content of `path`, which is only used in errors).
pub fn parse(path: &Path, text: &str) -> Result<ManifestFile, ParseError> {
    let trees = tree::parse(text).map_err(|e| {
        let kind = match e.kind {
            TreeErrorKind::DuplicateKey => ParseErrorKind::DuplicateKey,
            TreeErrorKind::Syntax | TreeErrorKind::TooDeep => ParseErrorKind::InvalidYaml,
            TreeErrorKind::TooManyDocuments | TreeErrorKind::AliasExpansion => ParseErrorKind::TooComplex,
        };
        let message = match kind {
            ParseErrorKind::TooComplex => e.message,
            _ => format!("invalid YAML: {}", e.message),
        };
        let (line, column) = on_a_line(text, e.line, e.column);
        ParseError::new(path, line, column, kind, message)
    })?;
    let trees: Vec<tree::Doc> = trees.into_iter().filter(|t| !t.root.is_nothing()).collect();
    let mut docs = Vec::new();
    for t in &trees {
        // libyaml (behind serde_yaml) takes a byte order mark for the start of a new document.
        let slice = text.get(t.slice.0..t.slice.1).unwrap_or("").trim_start_matches('\u{feff}');
        let offset = t.slice_line - 1;
        let yaml_error = |e: serde_yaml::Error| {
            let (line, column) = e.location().map_or((t.root.start.line, 1), |l| (l.line() + offset, l.column()));
            let (line, column) = on_a_line(text, line, column);
            ParseError::new(
                path,
                line,
                column,
                ParseErrorKind::InvalidYaml,
                format!("invalid YAML: {}", strip_location(&e.to_string())),
            )
        };
        let mut big_integers = HashMap::new();
        let mut big_ranges = Vec::new();
        find_big_integers(&t.root, &mut String::new(), &mut big_integers, &mut big_ranges);
        let patched = quote_ranges(text, t.slice.0 + (t.slice.1 - t.slice.0 - slice.len()), slice, &big_ranges);
        let mut yaml: serde_yaml::Value = serde_yaml::from_str(&patched).map_err(yaml_error)?;
        yaml.apply_merge().map_err(yaml_error)?;
        let value = to_json(yaml).map_err(|message| {
            ParseError::new(path, t.root.start.line, t.root.start.col + 1, ParseErrorKind::InvalidYaml, message)
        })?;
        let mut positions = HashMap::new();
        record_positions(&t.root, &mut String::new(), (t.root.start.line, t.root.start.col + 1), &mut positions);
        docs.push(Document { index: docs.len(), start_line: t.root.start.line, value, positions, big_integers });
    }
    Ok(ManifestFile { path: path.to_path_buf(), text: text.to_string(), docs, trees: Some(Arc::new(trees)) })
}

/// The values of the non-empty documents of `text`, read by libyaml as one stream: none of
/// [`parse`]'s second tree, positions, limits or integer patching. Only for text that is an
/// edit the operator made of text [`parse`] accepted (the status writer's check of its own
/// splice), where that tree would cost as much as the values. None where this reading could
/// differ from [`parse`]'s (a byte order mark) or where libyaml refuses the stream: the
/// caller then parses in full. Documents that read as null are left out, as [`parse`]
/// leaves out empty ones; a caller that expects a null document sees one fewer.
pub fn stream_values(text: &str) -> Option<Vec<Value>> {
    use serde::Deserialize as _;
    if text.contains('\u{feff}') {
        return None;
    }
    let mut values = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let mut yaml = serde_yaml::Value::deserialize(doc).ok()?;
        if yaml.is_null() {
            continue;
        }
        yaml.apply_merge().ok()?;
        values.push(to_json(yaml).ok()?);
    }
    Some(values)
}

impl ManifestFile {
    /// This file with `text` and, document by document, `values` in place of its own: the
    /// echo of a status write, whose text was checked to read as these values. Positions
    /// are this file's: right up to the status, which comes last unless the user put it
    /// elsewhere. Only for what needs no line of a field (the reflector's view).
    pub(crate) fn with_values(&self, text: &str, values: Vec<Value>) -> ManifestFile {
        let docs = self
            .docs
            .iter()
            .zip(values)
            .map(|(d, value)| Document {
                index: d.index,
                start_line: d.start_line,
                value,
                positions: d.positions.clone(),
                big_integers: d.big_integers.clone(),
            })
            .collect();
        ManifestFile { path: self.path.clone(), text: text.to_string(), docs, trees: None }
    }

    /// The tree [`parse`] read `text` into, if it was kept.
    pub(crate) fn trees(&self) -> Option<&[tree::Doc]> {
        self.trees.as_deref().map(Vec::as_slice)
    }

    /// This file without its tree: for a file that waits (a hand-off holds thousands).
    pub(crate) fn without_trees(mut self) -> ManifestFile {
        self.trees = None;
        self
    }

    /// Whether a document holds an integer beyond 64 bits (a string in its value).
    pub fn has_big_integers(&self) -> bool {
        self.docs.iter().any(|d| !d.big_integers.is_empty())
    }
}

/// Plain scalars that YAML reads as integers but no 64-bit integer holds.
fn find_big_integers(
    node: &Node,
    pointer: &mut String,
    out: &mut HashMap<String, String>,
    ranges: &mut Vec<(usize, usize)>,
) {
    let len = pointer.len();
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            for (k, v) in entries {
                let Some(key) = k.scalar() else { continue };
                push_token(pointer, key);
                find_big_integers(v, pointer, out, ranges);
                pointer.truncate(len);
            }
        }
        NodeKind::Sequence { items, .. } => {
            for (i, item) in items.iter().enumerate() {
                let _ = write!(pointer, "/{i}");
                find_big_integers(item, pointer, out, ranges);
                pointer.truncate(len);
            }
        }
        NodeKind::Scalar { value, style } if *style == saphyr_parser::ScalarStyle::Plain && !node.decorated => {
            if is_big_integer(value) {
                if let Some(end) = node.content_end {
                    out.insert(pointer.clone(), value.clone());
                    ranges.push((node.start.byte, end));
                }
            }
        }
        NodeKind::Scalar { .. } | NodeKind::Alias => {}
    }
}

fn is_big_integer(s: &str) -> bool {
    let negative = s.starts_with('-');
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (digits, radix) = match (body.strip_prefix("0x"), body.strip_prefix("0o")) {
        (Some(h), _) => (h, 16),
        (_, Some(o)) => (o, 8),
        _ => (body, 10),
    };
    let fits = if negative {
        i64::from_str_radix(&format!("-{digits}"), radix).is_ok()
    } else {
        u64::from_str_radix(digits, radix).is_ok()
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix)) && !fits
}

/// `slice` (which starts at byte `at` of `text`) with the byte ranges (of `text`) quoted.
fn quote_ranges(text: &str, at: usize, slice: &str, ranges: &[(usize, usize)]) -> String {
    if ranges.is_empty() {
        return slice.to_string();
    }
    let mut out = String::with_capacity(slice.len() + 2 * ranges.len());
    let mut from = 0;
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    for (a, b) in sorted {
        let (Some(a), Some(b)) = (a.checked_sub(at), b.checked_sub(at)) else { continue };
        let (Some(before), Some(inner)) = (slice.get(from..a), text.get(a + at..b + at)) else { continue };
        out.push_str(before);
        out.push('\'');
        out.push_str(inner);
        out.push('\'');
        from = b;
    }
    out.push_str(slice.get(from..).unwrap_or(""));
    out
}

/// serde_yaml appends " at line L column C" relative to the slice; the caller reports the
/// position itself, relative to the file.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn record_positions(node: &Node, pointer: &mut String, at: (usize, usize), out: &mut HashMap<String, (usize, usize)>) {
    out.insert(pointer.clone(), at);
    let len = pointer.len();
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            for (k, v) in entries {
                let Some(key) = k.scalar() else { continue };
                push_token(pointer, key);
                record_positions(v, pointer, (k.start.line, k.start.col + 1), out);
                pointer.truncate(len);
            }
        }
        NodeKind::Sequence { items, .. } => {
            for (i, item) in items.iter().enumerate() {
                let _ = write!(pointer, "/{i}");
                record_positions(item, pointer, (item.start.line, item.start.col + 1), out);
                pointer.truncate(len);
            }
        }
        NodeKind::Scalar { .. } | NodeKind::Alias => {}
    }
}

/// Appends `/key` to a JSON pointer, `~` and `/` escaped (RFC 6901), without the two
/// allocations of `replace`: this runs for every key of every document parsed.
fn push_token(pointer: &mut String, key: &str) {
    pointer.push('/');
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

fn to_json(v: serde_yaml::Value) -> Result<Value, String> {
    Ok(match v {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                // JSON has no NaN or infinities; keep what the user wrote so validation can
                // point at it instead of the parse failing.
                serde_json::Number::from_f64(f).map_or_else(|| Value::String(n.to_string()), Value::Number)
            }
        }
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?),
        serde_yaml::Value::Mapping(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let key = match k {
                    serde_yaml::Value::String(s) => s,
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    serde_yaml::Value::Number(n) => n.to_string(),
                    serde_yaml::Value::Null => "null".to_string(),
                    serde_yaml::Value::Tagged(t) => match to_json(t.value)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                    serde_yaml::Value::Sequence(_) | serde_yaml::Value::Mapping(_) => {
                        return Err("a mapping key is a sequence or a mapping; only scalar keys are supported".into())
                    }
                };
                if out.insert(key.clone(), to_json(v)?).is_some() {
                    return Err(format!("duplicate key `{key}` (two keys that differ only in YAML type)"));
                }
            }
            Value::Object(out)
        }
        serde_yaml::Value::Tagged(t) => to_json(t.value)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(text: &str) -> ManifestFile {
        parse(Path::new("m.yaml"), text).expect("parses")
    }

    /// The stream reading leaves out what the full parse leaves out, and gives up where
    /// the two could differ.
    #[test]
    fn the_stream_reads_what_the_full_parse_reads() {
        for text in ["a: 1\n---\n---\n# c\n---\nb: [x, 'y']\n", "x: &a {k: v}\ny: {<<: *a, j: 2}\n", "a: |+\n  k\n\n"] {
            let full: Vec<Value> = p(text).docs.into_iter().map(|d| d.value).collect();
            assert_eq!(stream_values(text), Some(full), "{text:?}");
        }
        assert_eq!(stream_values("\u{feff}a: 1\n"), None, "a byte order mark");
        assert_eq!(stream_values("a: [\n"), None, "libyaml refuses it");
        assert_eq!(stream_values("~\n---\na: 1\n"), Some(vec![json!({"a": 1})]), "a null document is left out");
    }

    /// Found by `cargo fuzz run parse_validate`: errors at the end of the input named a line
    /// past the last one.
    #[test]
    fn errors_at_the_end_name_the_last_line() {
        for (text, at) in
            [("a: &a [x,ap xA,V", (1, 17)), ("a: [x,\n", (1, 7)), ("a: 1\nb: {c\r\n", (2, 6)), ("a: 1\rb: [\r", (2, 5))]
        {
            let e = parse(Path::new("m.yaml"), text).expect_err("invalid");
            assert_eq!((e.line, e.column), at, "{text:?}: {e}");
        }
    }

    #[test]
    fn documents_skip_empty_ones_and_know_their_lines() {
        let f = p("# head\n---\n---\n# c\nkind: SparkJob\nmetadata:\n  name: a\n...\n---\nkind: SparkCluster\nmetadata: {name: b}\n---\n");
        assert_eq!(f.docs.len(), 2);
        assert_eq!((f.docs[0].index, f.docs[0].start_line), (0, 5));
        assert_eq!((f.docs[1].index, f.docs[1].start_line), (1, 10));
        assert_eq!(f.docs[0].kind(), Some("SparkJob"));
        assert_eq!(f.docs[1].name(), Some("b"));
        assert_eq!(f.docs[1].position_of("/metadata/name"), Some((11, 12)));
    }

    #[test]
    fn line_of_falls_back_to_ancestors() {
        let f = p("a: 1\nspec:\n  workers:\n    replicas: two\n  files:\n  - x\n  - {src: y, dst: z}\n");
        let d = &f.docs[0];
        assert_eq!(d.line_of("/spec/workers/replicas"), 4);
        assert_eq!(d.line_of("/spec/workers/cores"), 3);
        assert_eq!(d.line_of("/spec/files/1/dst"), 7);
        assert_eq!(d.line_of("/nothing/here"), 1);
        assert_eq!(d.line_of(""), 1);
    }

    #[test]
    fn scalar_typing_is_serde_yaml_s() {
        let f = p("a: yes\nb: 010\nc: 1e3\nd: ~\ne: '1'\nf: !!binary aGk=\n1: x\ng: .nan\n");
        assert_eq!(
            f.docs[0].value,
            json!({"a": "yes", "b": "010", "c": 1000.0, "d": null, "e": "1", "f": "aGk=", "1": "x", "g": ".nan"})
        );
    }

    #[test]
    fn anchors_and_merge_keys_resolve() {
        let f = p("base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\nn: *b\n");
        assert_eq!(f.docs[0].value, json!({"base": {"x": 1}, "m": {"x": 1, "y": 2}, "n": {"x": 1}}));
    }

    #[test]
    fn invalid_yaml_names_the_line_in_the_file() {
        let e = parse(Path::new("m.yaml"), "a: 1\n---\nb: [1, 2\nc: 3\n").expect_err("invalid");
        assert_eq!(e.reason(), "InvalidYaml");
        assert_eq!(e.line, 4);
        assert!(e.to_string().starts_with("m.yaml:4:"), "{e}");
    }

    #[test]
    fn duplicate_keys_are_parse_errors() {
        let e = parse(Path::new("m.yaml"), "---\nkind: A\nspec: {}\nkind: B\n").expect_err("dup");
        assert_eq!((e.reason(), e.line, e.column), ("DuplicateKey", 4, 1));
        assert!(e.message.contains("`kind`") && e.message.contains("line 2"), "{}", e.message);
        let e = parse(Path::new("m.yaml"), "a: {1: x, '1': y}\n").expect_err("dup");
        assert_eq!(e.reason(), "DuplicateKey");
    }

    #[test]
    fn non_mapping_roots_are_documents() {
        let f = p("- 1\n---\nhello\n");
        assert_eq!(f.docs.len(), 2);
        assert_eq!(f.docs[1].value, json!("hello"));
        assert_eq!(f.docs[1].kind(), None);
    }

    #[test]
    fn generation_hash_is_the_one_already_on_disk() {
        // The hash as it was computed before it was written in place: a change here would
        // give every object of an upgraded operator a new generation (and run jobs again).
        let earlier = |d: &Document| {
            let annotations = match d.value.get("metadata").and_then(|m| m.get("annotations")) {
                None | Some(Value::Null) => json!({}),
                Some(a) => a.clone(),
            };
            let spec = d.value.get("spec").cloned().unwrap_or(Value::Null);
            let mut canon = String::new();
            write_canonical(&json!({"annotations": annotations, "spec": spec}), &mut canon);
            hex::encode(Sha256::digest(canon.as_bytes()))
        };
        for text in [
            "kind: SparkJob\nmetadata:\n  name: a\nspec:\n  x: 1\n",
            "kind: SparkJob\nmetadata: {name: a, annotations: {z: \"1\", a: \"\\u00e9\\\"q\"}}\nspec: {b: [1, 2.5, null, true], a: {\"k/~\": x}}\n",
            "kind: SparkJob\nmetadata: {name: a, annotations: null}\n",
        ] {
            let d = &p(text).docs[0];
            assert_eq!(d.generation_hash(), earlier(d), "{text}");
        }
    }

    #[test]
    fn pointers_escape_tilde_and_slash() {
        let d = &p("a:\n  \"x/y~z\": 1\n").docs[0];
        assert_eq!(d.position_of("/a/x~1y~0z"), Some((2, 3)));
    }

    #[test]
    fn generation_hash_follows_spec_and_annotations_only() {
        let base = p("kind: SparkJob\nmetadata:\n  name: a\nspec:\n  x: 1\n").docs[0].generation_hash();
        let same = [
            "# comment\nkind: SparkJob\nmetadata: {name: a, labels: {l: v}}\nspec: {x: 1}\nstatus: {phase: Running}\n",
            "kind: SparkJob\nmetadata:\n  name: a\n  annotations: {}\nspec:\n  x: 1\n",
        ];
        for s in same {
            assert_eq!(p(s).docs[0].generation_hash(), base, "{s}");
        }
        let different = [
            "kind: SparkJob\nmetadata:\n  name: a\nspec:\n  x: 2\n",
            "kind: SparkJob\nmetadata:\n  name: a\n  annotations: {k: v}\nspec:\n  x: 1\n",
        ];
        for s in different {
            assert_ne!(p(s).docs[0].generation_hash(), base, "{s}");
        }
        assert_eq!(base.len(), 64);
    }

    #[test]
    fn alias_bombs_and_document_floods_are_refused() {
        let scalar = "x".repeat(200_000);
        let bomb = format!("a: &a \"{scalar}\"\nb: [{}]\n", vec!["*a"; 20_000].join(", "));
        let e = parse(Path::new("m.yaml"), &bomb).expect_err("bomb");
        assert_eq!((e.reason(), e.line), ("TooComplex", 2), "{e}");
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        assert_eq!(parse(Path::new("m.yaml"), laughs).expect_err("laughs").reason(), "TooComplex");
        // Aliases in reasonable measure are fine.
        p("base: &b {cores: 1, memory: 1g}\ndriver: *b\nexecutor: *b\n");
        let flood = "---\n".repeat(100_000);
        let e = parse(Path::new("m.yaml"), &flood).expect_err("flood");
        assert_eq!(e.reason(), "TooComplex");
        assert!(e.message.contains("documents"), "{e}");
        p(&"---\na: 1\n".repeat(500));
    }

    #[test]
    fn read_refuses_special_files_and_escaping_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = dir.path().join("proj/manifests");
        std::fs::create_dir_all(&m).expect("mkdir");
        nix::unistd::mkfifo(&m.join("fifo.yaml"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        std::os::unix::fs::symlink("/dev/zero", m.join("zero.yaml")).expect("symlink");
        std::fs::create_dir(m.join("dir.yaml")).expect("mkdir");
        let outside = dir.path().join("outside.yaml");
        std::fs::write(&outside, "kind: SparkJob\n").expect("write");
        std::os::unix::fs::symlink(&outside, m.join("out.yaml")).expect("symlink");
        for (name, reason) in [
            ("fifo.yaml", "NotRegularFile"),
            ("zero.yaml", "NotRegularFile"),
            ("dir.yaml", "NotRegularFile"),
            ("out.yaml", "OutsideRoots"),
        ] {
            let e = read(&m.join(name)).expect_err(name);
            assert_eq!(e.reason(), reason, "{name}: {e}");
            assert!(e.to_string().contains(name), "{e}");
            assert_eq!(read_bytes(&m.join(name)).expect_err(name).reason(), reason);
        }
    }

    #[test]
    fn read_refuses_what_is_not_a_manifest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, "a: 1\n".repeat(300_000)).expect("write");
        assert_eq!(read(&big).expect_err("big").reason(), "FileTooLarge");
        let bin = dir.path().join("bin.yaml");
        std::fs::write(&bin, b"a: 1\nb: \0\n").expect("write");
        let e = read(&bin).expect_err("bin");
        assert_eq!((e.reason(), e.line, e.column), ("BinaryFile", 2, 4));
        let latin = dir.path().join("latin.yaml");
        std::fs::write(&latin, b"a: caf\xe9\n").expect("write");
        assert_eq!(read(&latin).expect_err("latin1").reason(), "InvalidUtf8");
        let missing = read(&dir.path().join("missing.yaml")).expect_err("missing");
        assert_eq!(missing.reason(), "Unreadable");
        let ok = dir.path().join("ok.yaml");
        std::fs::write(&ok, "\u{feff}kind: SparkJob\r\n").expect("write");
        assert_eq!(read(&ok).expect("ok").docs[0].kind(), Some("SparkJob"));
    }
}
