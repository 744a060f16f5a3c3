//! `$(jobs.NAME.results.KEY)` and `$(jobs.NAME.outputsDir)` in `arguments`, `env[].value`
//! and `files[].src`: parsed here (pure), resolved at submission against the upstream runs.
//! `$$` is a literal `$`; a `$` not followed by `(` stays as written, as in Kubernetes.

use std::fmt;

use super::job::{FileSpec, SparkJobSpec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Result(String),
    OutputsDir,
}

/// One reference to an upstream job's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub job: String,
    pub field: Field,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Field::Result(key) => write!(f, "$(jobs.{}.results.{key})", self.job),
            Field::OutputsDir => write!(f, "$(jobs.{}.outputsDir)", self.job),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Reference(Reference),
}

/// Splits a value into literal text and references.
pub fn parse(value: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut literal = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        literal.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            literal.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            let Some(end) = inner.find(')') else {
                return Err(format!(
                    "unterminated expansion {:?}: a `$(` needs its `)` (write `$$` for a literal `$`)",
                    &rest[at..]
                ));
            };
            let reference = reference(&inner[..end])?;
            if !literal.is_empty() {
                out.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            out.push(Segment::Reference(reference));
            rest = &inner[end + 1..];
        } else {
            literal.push('$');
            rest = after;
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        out.push(Segment::Literal(literal));
    }
    Ok(out)
}

fn reference(inner: &str) -> Result<Reference, String> {
    let unknown = || {
        format!(
            "unknown expansion $({inner}): only $(jobs.NAME.results.KEY) and $(jobs.NAME.outputsDir) are expanded (write $$ for a literal $)"
        )
    };
    let Some(path) = inner.strip_prefix("jobs.") else { return Err(unknown()) };
    let Some((job, field)) = path.split_once('.') else { return Err(unknown()) };
    if !is_dns_label(job) {
        return Err(format!("$({inner}): {job:?} is not a SparkJob name"));
    }
    let field = match field.split_once('.') {
        None if field == "outputsDir" => Field::OutputsDir,
        Some(("results", key)) if !key.is_empty() => Field::Result(key.to_string()),
        _ => return Err(unknown()),
    };
    Ok(Reference { job: job.to_string(), field })
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Replaces every reference by what `lookup` gives for it.
pub fn expand(value: &str, mut lookup: impl FnMut(&Reference) -> Result<String, String>) -> Result<String, String> {
    let mut out = String::new();
    for segment in parse(value)? {
        match segment {
            Segment::Literal(s) => out.push_str(&s),
            Segment::Reference(r) => out.push_str(&lookup(&r)?),
        }
    }
    Ok(out)
}

/// Every value of a spec that may hold expansions, with its JSON pointer.
pub fn expandable(spec: &SparkJobSpec) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    for (i, a) in spec.arguments.iter().enumerate() {
        out.push((format!("/spec/arguments/{i}"), a.as_str()));
    }
    // Only plain values: a secret's source is a path or a variable name, never expanded.
    for (i, e) in spec.env.iter().enumerate() {
        if let Some(v) = &e.value {
            out.push((format!("/spec/env/{i}/value"), v.as_str()));
        }
    }
    for (i, f) in spec.files.iter().enumerate() {
        let pointer = match f {
            FileSpec::Path(_) => format!("/spec/files/{i}"),
            FileSpec::Mapped(_) => format!("/spec/files/{i}/src"),
        };
        out.push((pointer, f.src()));
    }
    out
}

/// What is wrong with the spec's expansions, by pointer: bad syntax, or a job that is not
/// in `dependsOn` (its run would not be known to have happened).
pub fn check(spec: &SparkJobSpec) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (pointer, value) in expandable(spec) {
        match parse(value) {
            Err(e) => problems.push((pointer, e)),
            Ok(segments) => {
                for s in segments {
                    if let Segment::Reference(r) = s {
                        if !spec.depends_on.iter().any(|d| d.0 == r.job) {
                            problems.push((
                                pointer.clone(),
                                format!(
                                    "{r}: {:?} is not in dependsOn; only jobs this one depends on can be referenced",
                                    r.job
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
    problems
}

/// Whether any value uses an expansion (then `describe` shows what was submitted).
pub fn uses_expansions(spec: &SparkJobSpec) -> bool {
    expandable(spec)
        .into_iter()
        .any(|(_, v)| parse(v).is_ok_and(|s| s.iter().any(|s| matches!(s, Segment::Reference(_)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(job: &str, key: Option<&str>) -> Segment {
        Segment::Reference(Reference {
            job: job.into(),
            field: key.map(|k| Field::Result(k.into())).unwrap_or(Field::OutputsDir),
        })
    }

    #[test]
    fn references_and_literals_are_split() {
        assert_eq!(
            parse("--in=$(jobs.prepare.outputsDir)/train.csv").unwrap(),
            vec![Segment::Literal("--in=".into()), r("prepare", None), Segment::Literal("/train.csv".into())]
        );
        assert_eq!(parse("$(jobs.a-1.results.r2)").unwrap(), vec![r("a-1", Some("r2"))]);
        assert_eq!(parse("$(jobs.a.results.x.y)").unwrap(), vec![r("a", Some("x.y"))]);
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn dollars_are_literal_when_doubled_or_alone() {
        assert!(parse("cost $$5 and $(x").unwrap_err().contains("unterminated"));
        assert_eq!(parse("$$(jobs.a.outputsDir)").unwrap(), vec![Segment::Literal("$(jobs.a.outputsDir)".into())]);
        assert_eq!(parse("a$b $").unwrap(), vec![Segment::Literal("a$b $".into())]);
        assert_eq!(parse("$$$$").unwrap(), vec![Segment::Literal("$$".into())]);
    }

    #[test]
    fn anything_else_is_an_error_that_names_it() {
        for bad in [
            "$(HOME)",
            "$(jobs.a)",
            "$(jobs.a.results)",
            "$(jobs.a.results.)",
            "$(jobs.a.status.phase)",
            "$(jobs.A.outputsDir)",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(&bad[2..bad.len() - 1]) || e.contains("\"A\""), "{bad}: {e}");
        }
    }

    #[test]
    fn expand_substitutes_and_propagates_lookup_errors() {
        let got = expand("x=$(jobs.p.results.rows),d=$(jobs.p.outputsDir)", |r| match &r.field {
            Field::Result(k) if k == "rows" => Ok("42".into()),
            Field::OutputsDir => Ok("/o".into()),
            Field::Result(k) => Err(format!("no {k}")),
        })
        .unwrap();
        assert_eq!(got, "x=42,d=/o");
        assert_eq!(expand("$(jobs.p.results.zz)", |_| Err("no zz".into())).unwrap_err(), "no zz");
    }
}
