//! Resolving a spec's expansions against the upstream runs it consumes (pure): the spec
//! that is submitted, with `$(jobs.…)` replaced and `$$` unescaped.

use std::collections::BTreeMap;

use crate::api::expansion::{self, Field, Reference};
use crate::api::job::{FileSpec, SparkJobSpec};

use super::depends::Upstream;

/// The spec with every expandable value resolved, or the first value that cannot be (a
/// result the upstream did not write), named by its field.
pub fn expand_spec(spec: &SparkJobSpec, upstreams: &BTreeMap<String, Upstream>) -> Result<SparkJobSpec, String> {
    let lookup = |r: &Reference| -> Result<String, String> {
        let up = upstreams.get(&r.job).ok_or_else(|| format!("{r}: {} has no run", r.job))?;
        match &r.field {
            Field::OutputsDir => up.outputs_dir.clone().ok_or_else(|| format!("{r}: {} has no outputsDir", r.job)),
            Field::Result(key) => match up.results.get(key) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(v) => Ok(v.to_string()),
                None => Err(format!("{r}: {} wrote no result {key:?}", r.job)),
            },
        }
    };
    let one = |field: String, v: &str| expansion::expand(v, lookup).map_err(|e| format!("{field}: {e}"));
    let mut out = spec.clone();
    for (i, a) in out.arguments.iter_mut().enumerate() {
        *a = one(format!("spec.arguments.{i}"), a)?;
    }
    for (i, e) in out.env.iter_mut().enumerate() {
        if let Some(v) = &mut e.value {
            *v = one(format!("spec.env.{i}.value"), v)?;
        }
    }
    for (i, f) in out.files.iter_mut().enumerate() {
        match f {
            FileSpec::Path(p) => *p = one(format!("spec.files.{i}"), p)?,
            FileSpec::Mapped(m) => m.src = one(format!("spec.files.{i}.src"), &m.src)?,
        }
    }
    Ok(out)
}

/// Whether a value still holds a reference (then it cannot be checked as a path yet).
pub fn has_reference(value: &str) -> bool {
    expansion::parse(value).is_ok_and(|s| s.iter().any(|s| matches!(s, expansion::Segment::Reference(_))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_env_and_files_are_expanded_from_the_upstream_run() {
        let spec: SparkJobSpec = serde_json::from_value(json!({
            "clusterRef": "demo", "mainApplicationFile": "m.py",
            "dependsOn": ["prep"],
            "arguments": ["--rows=$(jobs.prep.results.rows)", "--name=$(jobs.prep.results.name)", "$$HOME"],
            "env": [{"name": "IN", "value": "$(jobs.prep.outputsDir)"}],
            "files": ["$(jobs.prep.outputsDir)/a.csv", {"src": "x/$(jobs.prep.results.name).csv", "dst": "b.csv"}]
        }))
        .unwrap();
        let up = Upstream {
            results: json!({"rows": 42, "name": "boston"}).as_object().cloned().unwrap(),
            outputs_dir: Some("/state/out".into()),
            ..Default::default()
        };
        let ups = BTreeMap::from([("prep".to_string(), up)]);
        let got = expand_spec(&spec, &ups).unwrap();
        assert_eq!(got.arguments, vec!["--rows=42", "--name=boston", "$HOME"]);
        assert_eq!(got.env[0].value.as_deref(), Some("/state/out"));
        assert_eq!(got.files[0].src(), "/state/out/a.csv");
        assert_eq!(got.files[1].src(), "x/boston.csv");

        let mut missing = spec.clone();
        missing.arguments = vec!["$(jobs.prep.results.r2)".into()];
        assert_eq!(
            expand_spec(&missing, &ups).unwrap_err(),
            "spec.arguments.0: $(jobs.prep.results.r2): prep wrote no result \"r2\""
        );
        assert!(has_reference("$(jobs.prep.outputsDir)/a") && !has_reference("$$(jobs.prep.outputsDir)"));
    }
}
