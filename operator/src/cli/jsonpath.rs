//! kubectl's JSONPath templates (`-o jsonpath=`, `custom-columns`, `--sort-by`): literal
//! text with `{...}` actions, `{range EXPR}...{end}` and `{"quoted text"}`. The expressions
//! themselves are RFC 9535 JSONPath, evaluated by `serde_json_path`; only kubectl's template
//! layer around them lives here.

use serde_json::Value;
use serde_json_path::JsonPath;

#[derive(Debug)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Text(String),
    Path(JsonPath),
    Range(JsonPath, Vec<Node>),
}

impl Template {
    /// Parses a template; the error reads like kubectl's (`error parsing jsonpath ...`).
    pub fn parse(template: &str) -> Result<Template, String> {
        let fail = |why: String| format!("error parsing jsonpath {template}, {why}");
        let actions = split(template).map_err(fail)?;
        let mut stack: Vec<(JsonPath, Vec<Node>)> = Vec::new();
        let mut top: Vec<Node> = Vec::new();
        for piece in actions {
            let node = match piece {
                Piece::Text(t) => Node::Text(t),
                Piece::Action(a) => {
                    let a = a.trim();
                    if a == "end" {
                        let (path, body) = stack.pop().ok_or_else(|| fail("not in range, nothing to end".into()))?;
                        let node = Node::Range(path, body);
                        match stack.last_mut() {
                            Some((_, body)) => body.push(node),
                            None => top.push(node),
                        }
                        continue;
                    }
                    if let Some(expr) = a.strip_prefix("range ") {
                        stack.push((path(expr).map_err(fail)?, Vec::new()));
                        continue;
                    }
                    if let Some(text) = quoted(a) {
                        Node::Text(text.map_err(fail)?)
                    } else {
                        Node::Path(path(a).map_err(fail)?)
                    }
                }
            };
            match stack.last_mut() {
                Some((_, body)) => body.push(node),
                None => top.push(node),
            }
        }
        if !stack.is_empty() {
            return Err(fail("range without end".into()));
        }
        Ok(Template { nodes: top })
    }

    /// kubectl's "relaxed" expression of custom-columns and `--sort-by`: `.a.b`, `a.b` and
    /// `{.a.b}` all mean the same.
    pub fn relaxed(expr: &str) -> Result<Template, String> {
        let e = expr.trim();
        if e.starts_with('{') {
            return Template::parse(e);
        }
        let inner = if e.starts_with('.') || e.starts_with('$') || e.starts_with('@') || e.starts_with('[') {
            e.to_string()
        } else {
            format!(".{e}")
        };
        Template::parse(&format!("{{{inner}}}"))
    }

    /// The template's output over `value`. A path that matches nothing prints nothing, as
    /// with kubectl's default `--allow-missing-template-keys=true`.
    pub fn render(&self, value: &Value) -> String {
        let mut out = String::new();
        render(&self.nodes, value, &mut out);
        out
    }

    /// Every value the template's paths select (for columns and sorting).
    pub fn values<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        let mut found = Vec::new();
        for n in &self.nodes {
            if let Node::Path(p) = n {
                found.extend(p.query(value).all());
            }
        }
        found
    }
}

fn render(nodes: &[Node], value: &Value, out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Path(p) => {
                let found = p.query(value).all();
                let shown: Vec<String> = found.iter().map(|v| text(v)).collect();
                out.push_str(&shown.join(" "));
            }
            Node::Range(p, body) => {
                for v in p.query(value).all() {
                    match v {
                        Value::Array(items) => items.iter().for_each(|item| render(body, item, out)),
                        other => render(body, other, out),
                    }
                }
            }
        }
    }
}

/// A value as kubectl prints it: strings bare, everything else as JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// kubectl's expressions start at the current object: `.a`, `@.a`, `$.a` and `[0]`.
fn path(expr: &str) -> Result<JsonPath, String> {
    let e = expr.trim();
    let rfc = if e == "@" || e == "$" {
        "$".to_string()
    } else if let Some(rest) = e.strip_prefix('@').or_else(|| e.strip_prefix('$')) {
        format!("${rest}")
    } else if e.starts_with('.') || e.starts_with('[') {
        format!("${e}")
    } else {
        return Err(format!("unrecognized identifier {e}"));
    };
    JsonPath::parse(&rfc).map_err(|err| err.to_string())
}

/// `"text"` (or `'text'`) with kubectl's escapes; None when `a` is not a quoted literal.
fn quoted(a: &str) -> Option<Result<String, String>> {
    let q = a.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = match a.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
        Some(inner) if a.len() >= 2 => inner,
        _ => return Some(Err(format!("unterminated quoted string {a}"))),
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(Ok(out))
}

enum Piece {
    Text(String),
    Action(String),
}

/// Splits a template into text and `{...}` actions; braces inside quotes or brackets (a
/// filter's string) do not close an action.
fn split(template: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '{' {
            text.push(c);
            continue;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        let mut action = String::new();
        let mut quote: Option<char> = None;
        let mut depth = 0usize;
        let mut closed = false;
        while let Some(c) = chars.next() {
            match quote {
                Some(q) => {
                    action.push(c);
                    if c == '\\' {
                        if let Some(n) = chars.next() {
                            action.push(n);
                        }
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '"' | '\'' => {
                        quote = Some(c);
                        action.push(c);
                    }
                    '[' | '(' => {
                        depth += 1;
                        action.push(c);
                    }
                    ']' | ')' => {
                        depth = depth.saturating_sub(1);
                        action.push(c);
                    }
                    '}' if depth == 0 => {
                        closed = true;
                        break;
                    }
                    other => action.push(other),
                },
            }
        }
        if !closed {
            return Err("unclosed action".into());
        }
        pieces.push(Piece::Action(action));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list() -> Value {
        json!({"kind": "List", "items": [
            {"metadata": {"name": "a", "labels": {"app": "x"}}, "status": {"phase": "Succeeded", "attempts": 1}},
            {"metadata": {"name": "b"}, "status": {"phase": "Failed", "attempts": 3}},
        ]})
    }

    fn run(t: &str) -> String {
        Template::parse(t).expect("parses").render(&list())
    }

    #[test]
    fn wildcards_join_with_spaces_like_kubectl() {
        assert_eq!(run("{.items[*].metadata.name}"), "a b");
        assert_eq!(run("{.items[0].status}"), r#"{"phase":"Succeeded","attempts":1}"#);
        assert_eq!(run("names: {$.items[*].metadata.name}!"), "names: a b!");
        assert_eq!(run("{.kind}"), "List");
    }

    #[test]
    fn ranges_and_literals() {
        assert_eq!(
            run(r#"{range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}"#),
            "a\tSucceeded\nb\tFailed\n"
        );
        assert_eq!(run("{range .items}[{@.metadata.name}]{end}"), "[a][b]");
    }

    #[test]
    fn filters_from_the_crate() {
        assert_eq!(run(r#"{.items[?(@.status.phase=="Failed")].metadata.name}"#), "b");
        assert_eq!(run("{.items[?@.status.attempts > 1].metadata.name}"), "b");
        assert_eq!(run("{.items[?@.metadata.labels.app].metadata.name}"), "a");
        assert_eq!(run(r#"{.items[?(@.metadata.name=="}")].status}"#), "");
    }

    #[test]
    fn missing_keys_print_nothing() {
        assert_eq!(run("{.items[*].status.nope}"), "");
        assert_eq!(run("x{.nope}y"), "xy");
    }

    #[test]
    fn parse_errors_name_the_template() {
        for bad in ["{.items[", "{range .items[*]}{.x}", "{end}", "{items}", "{.items[?(@.x==)]}", "{\"x}"] {
            let err = Template::parse(bad).expect_err(bad);
            assert!(err.starts_with(&format!("error parsing jsonpath {bad}, ")), "{err}");
        }
    }

    #[test]
    fn relaxed_expressions() {
        let v = list();
        for e in [".kind", "kind", "{.kind}", "$.kind"] {
            assert_eq!(Template::relaxed(e).expect(e).render(&v), "List", "{e}");
        }
    }
}
