//! `get -o FORMAT`: the formats kubectl has and sparkswarm supports, parsed from one string
//! (`jsonpath=...` and `custom-columns=...` carry their template), and the custom-columns
//! table.

use std::str::FromStr;

use serde_json::Value;

use super::jsonpath::{self, Template};
use super::table::Table;

#[derive(Debug, Clone)]
pub enum Output {
    Wide,
    Yaml,
    Json,
    Name,
    JsonPath(String),
    CustomColumns(String),
}

const ALLOWED: &str = "custom-columns,json,jsonpath,name,wide,yaml";

impl FromStr for Output {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (format, arg) = match s.split_once('=') {
            Some((f, a)) => (f, Some(a)),
            None => (s, None),
        };
        match (format, arg) {
            ("wide", None) => Ok(Output::Wide),
            ("yaml", None) => Ok(Output::Yaml),
            ("json", None) => Ok(Output::Json),
            ("name", None) => Ok(Output::Name),
            ("jsonpath", Some(t)) => Ok(Output::JsonPath(t.to_string())),
            ("custom-columns", Some(t)) => Ok(Output::CustomColumns(t.to_string())),
            ("jsonpath" | "custom-columns", None) => Err(format!("{format} format specified but no template given")),
            _ => Err(format!(
                "unable to match a printer suitable for the output format \"{s}\", allowed formats are: {ALLOWED}"
            )),
        }
    }
}

pub struct Columns {
    columns: Vec<(String, Template)>,
}

impl Columns {
    /// `HEADER:EXPR,HEADER:EXPR`; the error is kubectl's.
    pub fn parse(spec: &str) -> Result<Columns, String> {
        let mut columns = Vec::new();
        for part in spec.split(',') {
            let (header, expr) = part
                .split_once(':')
                .filter(|(h, e)| !h.is_empty() && !e.is_empty())
                .ok_or_else(|| format!("unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"))?;
            columns.push((header.to_string(), Template::relaxed(expr)?));
        }
        Ok(Columns { columns })
    }

    /// One row per object; several matches join with commas, no match is `<none>`.
    pub fn table(&self, objects: &[Value]) -> Table {
        let headers: Vec<&str> = self.columns.iter().map(|(h, _)| h.as_str()).collect();
        let mut t = Table::new(&headers);
        for o in objects {
            t.row(
                self.columns
                    .iter()
                    .map(|(_, tpl)| tpl.values(o).into_iter().map(jsonpath::text).collect::<Vec<_>>().join(","))
                    .collect(),
            );
        }
        t
    }
}

/// Orders objects by the value `--sort-by` selects: numbers by value, everything else by
/// its text; objects without the field first, as kubectl does.
pub fn sort_by(objects: &mut [(Value, usize)], expr: &str) -> Result<(), String> {
    let tpl = Template::relaxed(expr).map_err(|e| format!("couldn't parse --sort-by {expr:?}: {e}"))?;
    let key = |v: &Value| -> (u8, f64, String) {
        match tpl.values(v).first() {
            None => (0, 0.0, String::new()),
            Some(Value::Number(n)) => (1, n.as_f64().unwrap_or(0.0), String::new()),
            Some(other) => (2, 0.0, jsonpath::text(other)),
        }
    };
    objects.sort_by(|(a, _), (b, _)| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(ka.2.cmp(&kb.2))
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_parse_like_kubectl() {
        assert!(matches!("wide".parse::<Output>(), Ok(Output::Wide)));
        assert!(matches!("jsonpath={.a}".parse::<Output>(), Ok(Output::JsonPath(t)) if t == "{.a}"));
        assert!(matches!("custom-columns=A:.a".parse::<Output>(), Ok(Output::CustomColumns(t)) if t == "A:.a"));
        let err = "xml".parse::<Output>().expect_err("xml");
        assert!(err.contains("unable to match a printer suitable for the output format \"xml\""), "{err}");
        assert!("jsonpath".parse::<Output>().is_err());
    }

    #[test]
    fn custom_columns() {
        let objs = vec![
            json!({"metadata": {"name": "a"}, "spec": {"args": ["x", "y"]}}),
            json!({"metadata": {"name": "b"}, "status": {"attempts": 2}}),
        ];
        let c = Columns::parse("NAME:.metadata.name,ARGS:.spec.args[*],TRIES:status.attempts").expect("spec");
        assert_eq!(c.table(&objs).render(true), "NAME   ARGS     TRIES\na      x,y      <none>\nb      <none>   2\n");
        for bad in ["NAME", "NAME:", ":.a", "A:.a,B"] {
            let err = Columns::parse(bad).err().unwrap_or_default();
            assert!(err.starts_with("unexpected custom-columns spec:"), "{bad}: {err}");
        }
    }

    #[test]
    fn sorting_by_number_text_and_missing() {
        let mut objs: Vec<(Value, usize)> = [json!({"n": 10, "s": "b"}), json!({"n": 9, "s": "a"}), json!({})]
            .into_iter()
            .enumerate()
            .map(|(i, v)| (v, i))
            .collect();
        sort_by(&mut objs, ".n").expect("sort");
        assert_eq!(objs.iter().map(|o| o.1).collect::<Vec<_>>(), [2, 1, 0]);
        sort_by(&mut objs, "{.s}").expect("sort");
        assert_eq!(objs.iter().map(|o| o.1).collect::<Vec<_>>(), [2, 1, 0]);
        assert!(sort_by(&mut objs, "{.x[}").is_err());
    }
}
