//! Rendering JSON values as block YAML for the text the operator writes into a manifest.
//!
//! Scalars are rendered by serde_yaml, so quoting decisions are the ones serde_yaml's own
//! parser agrees with. The one departure from `serde_yaml::to_string` is multi-line strings:
//! they are written double-quoted instead of as block scalars, because a block scalar would
//! swallow a user's more-indented comment written right after it, and a keep-chomped one
//! (`|+`) the user's blank lines, which would break the byte-exact status contract.

use serde_json::Value;

/// `key:` followed by the value, indented by `indent` spaces per level, lines joined by `le`,
/// without a final line break.
pub(crate) fn keyed_block(key: &str, value: &Value, le: &str) -> Result<String, String> {
    let mut out = Lines::new(le);
    match value {
        // At the top, unlike inside a mapping, the items are indented under the key.
        Value::Array(a) if !a.is_empty() => {
            out.line(0);
            push_key(key, &mut out.text)?;
            sequence(a, 2, &mut out)?;
        }
        _ => entry(key, value, 0, &mut out)?,
    }
    Ok(out.text)
}

/// Block YAML written line by line into one string: a status is some thirty lines, each
/// of which was a string of its own, then joined.
struct Lines<'a> {
    text: String,
    le: &'a str,
}

impl<'a> Lines<'a> {
    fn new(le: &'a str) -> Self {
        Lines { text: String::with_capacity(1024), le }
    }

    /// Where the next line's first character will be.
    fn next_line_start(&self) -> usize {
        if self.text.is_empty() {
            0
        } else {
            self.text.len() + self.le.len()
        }
    }

    /// Starts a line indented by `indent` spaces.
    fn line(&mut self, indent: usize) {
        if !self.text.is_empty() {
            self.text.push_str(self.le);
        }
        self.text.extend(std::iter::repeat_n(' ', indent));
    }
}

/// A mapping entry at `indent`: `key: scalar`, or `key:` and the collection below it.
fn entry(key: &str, value: &Value, indent: usize, out: &mut Lines) -> Result<(), String> {
    out.line(indent);
    push_key(key, &mut out.text)?;
    match value {
        Value::Object(inner) if !inner.is_empty() => mapping(inner, indent + 2, out),
        // serde_yaml's (and kubectl's) style: a sequence sits at its key's indentation.
        Value::Array(items) if !items.is_empty() => sequence(items, indent, out),
        other => {
            out.text.push(' ');
            out.text.push_str(&scalar(other)?);
            Ok(())
        }
    }
}

/// `key:`, the key quoted as a scalar would be.
fn push_key(key: &str, text: &mut String) -> Result<(), String> {
    if plain_word(key) {
        text.push_str(key);
    } else {
        text.push_str(&scalar(&Value::String(key.to_string()))?);
    }
    text.push(':');
    Ok(())
}

fn mapping(m: &serde_json::Map<String, Value>, indent: usize, out: &mut Lines) -> Result<(), String> {
    for (k, v) in m {
        entry(k, v, indent, out)?;
    }
    Ok(())
}

fn sequence(items: &[Value], indent: usize, out: &mut Lines) -> Result<(), String> {
    for item in items {
        let first = out.next_line_start();
        match item {
            Value::Object(inner) if !inner.is_empty() => mapping(inner, indent + 2, out)?,
            Value::Array(inner) if !inner.is_empty() => sequence(inner, indent + 2, out)?,
            other => {
                out.line(indent);
                out.text.push_str("- ");
                out.text.push_str(&scalar(other)?);
                continue;
            }
        }
        // The item's first line carries the dash in place of two of its indentation spaces.
        let at = first + indent;
        if out.text.get(at..at + 2) == Some("  ") {
            out.text.replace_range(at..at + 2, "- ");
        }
    }
    Ok(())
}

/// `key: value` in flow style, on one line, for a document written as a flow mapping. Strings
/// are always double-quoted: a plain scalar may not hold the flow indicators `,[]{}`.
pub(crate) fn flow(key: &str, value: &Value) -> Result<String, String> {
    let mut out = format!("{}: ", double_quoted_if_needed(key));
    flow_value(value, &mut out)?;
    Ok(out)
}

fn double_quoted_if_needed(key: &str) -> String {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        key.to_string()
    } else {
        double_quoted(key)
    }
}

fn flow_value(value: &Value, out: &mut String) -> Result<(), String> {
    match value {
        Value::Object(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&double_quoted(k));
                out.push_str(": ");
                flow_value(v, out)?;
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow_value(v, out)?;
            }
            out.push(']');
        }
        Value::String(s) => out.push_str(&double_quoted(s)),
        other => out.push_str(&scalar(other)?),
    }
    Ok(())
}

/// One scalar (or empty collection) on one line.
pub(crate) fn scalar(v: &Value) -> Result<String, String> {
    if let Some(text) = plain_as_serde_yaml_would(v) {
        return Ok(text);
    }
    if let Value::String(s) = v {
        if s.contains(['\n', '\r']) {
            return Ok(double_quoted(s));
        }
    }
    if let Value::String(s) = v {
        if is_yaml11_bool(s) {
            return Ok(format!("'{s}'"));
        }
        if looks_like_yaml11_timestamp(s) {
            // kubectl's own quoting of `creationTimestamp`.
            return Ok(double_quoted(s));
        }
    }
    let text = serde_yaml::to_string(v).map_err(|e| e.to_string())?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    if text.contains('\n') {
        // Not expected for a one-line scalar; quoting keeps the output one line regardless.
        return match v {
            Value::String(s) => Ok(double_quoted(s)),
            _ => Err(format!("cannot render {v} on one line")),
        };
    }
    Ok(text.to_string())
}

/// What serde_yaml writes for the scalars a status is mostly made of (keys, phases, reasons,
/// names, counts), without starting an emitter for each: its set-up was a tenth of the CPU
/// of writing ten thousand statuses. `None` for anything else, which goes to serde_yaml.
/// Integers and booleans as they are; a string only when it is plainly words: ASCII
/// letters, digits, single spaces and `_-./"'(),=+`, starting with a letter, and not one of
/// the words YAML reads as something else (a proptest holds this to serde_yaml's output).
fn plain_as_serde_yaml_would(v: &Value) -> Option<String> {
    match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::String(s) if s.is_empty() => Some("''".into()),
        Value::String(s) => plain_word(s).then(|| s.clone()),
        _ => None,
    }
}

/// Whether serde_yaml writes the string `s` as it is (see [`plain_as_serde_yaml_would`]).
fn plain_word(s: &str) -> bool {
    let b = s.as_bytes();
    let wordy = b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.last().is_some_and(|c| *c != b' ')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || b"_-./ \"'(),=+".contains(c))
        && !s.contains("  ");
    let special =
        ["null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"].contains(&s) || is_yaml11_bool(s);
    wordy && !special
}

/// serde_yaml follows YAML 1.2 and leaves these plain, but YAML 1.1 readers (PyYAML, older
/// yq) would read them as booleans: a user scripting against the status must get strings.
fn is_yaml11_bool(s: &str) -> bool {
    // Each word as YAML 1.1 spells it: lower case, capitalised, upper case. A fixed list:
    // this runs for every scalar of every status written.
    const WORDS: [&str; 23] = [
        "y", "Y", "n", "N", "~", "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "true",
        "True", "TRUE", "false", "False", "FALSE",
    ];
    WORDS.contains(&s)
}

/// YAML 1.1 readers (PyYAML) turn a plain `2024-01-02` or `2024-01-02T03:04:05Z` into a
/// date object, which then fails the schema's `type: string`. Anything that starts like a
/// date and holds only what a timestamp can is quoted; quoting too much is harmless.
fn looks_like_yaml11_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b.iter().all(|c| c.is_ascii_digit() || b"-:.+Tt Zz\t".contains(c))
}

/// A whole mapping as block YAML, the way `get -o yaml` prints an object: the same scalars
/// (and quoting) as a status written into a manifest.
pub(crate) fn document(value: &Value) -> Result<String, String> {
    match value {
        Value::Object(m) if !m.is_empty() => {
            let mut out = Lines::new("\n");
            mapping(m, 0, &mut out)?;
            Ok(out.text + "\n")
        }
        other => Ok(scalar(other)? + "\n"),
    }
}

/// A YAML double-quoted scalar: every character that is not printable, or that YAML 1.1
/// would read as a line break, is escaped.
pub(crate) fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            '\u{2028}' | '\u{2029}' | '\u{feff}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_like_serde_yaml_with_two_space_indent() {
        // Keys in sorted order: the same output whether or not serde_json preserves order.
        let v = json!({"conditions": [{"status": "True", "type": "Valid"}], "matrix": [[1, 2], []], "nodes": [], "phase": "Ready", "workers": {"ready": 2}});
        let text = keyed_block("status", &v, "\n").expect("render");
        let expected = "status:\n  conditions:\n  - status: 'True'\n    type: Valid\n  matrix:\n  - - 1\n    - 2\n  - []\n  nodes: []\n  phase: Ready\n  workers:\n    ready: 2";
        assert_eq!(text, expected);
        let back: Value = serde_yaml::from_str(&text).expect("parse");
        assert_eq!(back, json!({"status": v}));
    }

    #[test]
    fn multi_line_strings_are_double_quoted_and_round_trip() {
        for s in ["a\nb", "a\n\n", "\n", "x\r\ny", "tab\tnel\u{85}ls\u{2028}bom\u{feff}\u{1}\u{7f}\"\\"] {
            let v = json!({"m": s});
            let text = keyed_block("status", &v, "\r\n").expect("render");
            assert!(!text.contains('\n') || !text.contains("|"), "{text}");
            let back: Value = serde_yaml::from_str(&text).expect("parse");
            assert_eq!(back, json!({"status": v}), "{text}");
        }
    }

    #[test]
    fn yaml11_booleans_are_quoted_in_each_spelling_yaml11_knows() {
        for word in ["yes", "no", "on", "off", "true", "false"] {
            let capital = word[..1].to_uppercase() + &word[1..];
            for s in [word.to_string(), capital, word.to_uppercase()] {
                assert_eq!(scalar(&json!(s)).expect("render"), format!("'{s}'"));
            }
        }
        for s in ["y", "Y", "n", "N", "~"] {
            assert_eq!(scalar(&json!(s)).expect("render"), format!("'{s}'"));
        }
        // Mixed case is no boolean to a YAML 1.1 reader either.
        for s in ["yES", "oN", "tRUE", "Nope"] {
            assert_eq!(scalar(&json!(s)).expect("render"), s);
        }
    }

    #[test]
    fn timestamps_are_quoted_for_yaml11_readers() {
        let v = json!({"startTime": "2026-12-01T12:00:00Z", "day": "2026-12-01", "num": "2026", "id": "app-2026-x"});
        let text = document(&json!({"status": v})).expect("render");
        assert!(text.contains("startTime: \"2026-12-01T12:00:00Z\""), "{text}");
        assert!(text.contains("day: \"2026-12-01\""), "{text}");
        assert!(text.contains("num: '2026'") && text.contains("id: app-2026-x"), "{text}");
        let back: Value = serde_yaml::from_str(&text).expect("parse");
        assert_eq!(back, json!({"status": v}));
    }

    proptest::proptest! {
        /// The fast path writes exactly what serde_yaml writes, or leaves the value to it.
        #[test]
        fn the_plain_fast_path_agrees_with_serde_yaml(s in "[a-zA-Z0-9_./ :#'\"(),=+!&*|>%@`{}\\[\\]?-]{0,12}", n in proptest::prelude::any::<i64>()) {
            for v in [json!(s), json!(n), json!(n as u64), json!(true), json!(null)] {
                if let Some(fast) = plain_as_serde_yaml_would(&v) {
                    let slow = serde_yaml::to_string(&v).expect("serde_yaml");
                    proptest::prop_assert_eq!(&fast, slow.trim_end_matches('\n'), "{}", v);
                    let back: Value = serde_yaml::from_str(&fast).expect("parse");
                    proptest::prop_assert_eq!(back, v);
                }
            }
        }
    }

    #[test]
    fn words_take_the_fast_path() {
        for s in ["Running", "MissingCluster", "spark-pi", "a b.c/d_e", "v1", "SparkCluster \"missing\" not found"] {
            assert_eq!(plain_as_serde_yaml_would(&json!(s)).as_deref(), Some(s));
        }
        // Whatever serde_yaml does with words that look like other things, the fast path does.
        for s in ["inf", "nan", "NaN", "Inf", "Infinity", "Nul", "y", "n", "No", "e1", "E", "x1", "o7", "True1", "a.1"]
        {
            let fast = plain_as_serde_yaml_would(&json!(s));
            let slow = serde_yaml::to_string(&json!(s)).expect("serde_yaml");
            assert!(fast.is_none() || fast.as_deref() == Some(slow.trim_end()), "{s:?}: {slow:?}");
        }
        for s in ["yes", "True", "null", " a", "a ", "1e3", "0x1", "a: b", "a #b", ".inf", "-"] {
            assert!(plain_as_serde_yaml_would(&json!(s)).is_none(), "{s:?}");
        }
    }

    #[test]
    fn scalar_status_stays_on_the_key_line() {
        assert_eq!(keyed_block("status", &json!(null), "\n").as_deref(), Ok("status: null"));
        assert_eq!(keyed_block("status", &json!({}), "\n").as_deref(), Ok("status: {}"));
        assert_eq!(keyed_block("status", &json!("yes"), "\n").as_deref(), Ok("status: 'yes'"));
        assert_eq!(keyed_block("status", &json!("Off"), "\n").as_deref(), Ok("status: 'Off'"));
        // A sequence at the top is indented under its key; inside a mapping it is not.
        assert_eq!(
            keyed_block("k", &json!([1, {"a": [2, [3]]}]), "\n").as_deref(),
            Ok("k:\n  - 1\n  - a:\n    - 2\n    - - 3")
        );
    }
}
