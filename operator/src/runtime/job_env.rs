//! What every runtime puts around a job's Python: the `deps` on the `PYTHONPATH`, and the
//! secrets of `env[].valueFrom`.
//!
//! A secret never enters Spark's configuration (its event log and environment page show
//! every conf), a command line, a service's or container's `--env`, or the operator's state
//! dir after the attempt. It travels as a 0600 JSON file in the attempt's own directory
//! (where the driver and the executors see it), written at submission and removed when the
//! driver ends; a `sitecustomize.py` on the `PYTHONPATH` (imported by Python at start-up,
//! before any user code) loads it into `os.environ` in the driver and in every Python worker
//! of the executors, then forgets the path. Only that path travels through Spark's conf
//! (`spark.executorEnv.SPARKSWARM_SECRETS_FILE`).

use std::fmt;

/// The secret file's name in the attempt's directory.
pub const SECRETS_FILE: &str = "secrets.json";
/// The directory, in the attempt's directory, holding `sitecustomize.py`.
pub const PYENV_DIR: &str = "pyenv";
/// The variable naming the secret file for `sitecustomize.py`.
pub const SECRETS_FILE_ENV: &str = "SPARKSWARM_SECRETS_FILE";

/// Loads the secrets named by `$SPARKSWARM_SECRETS_FILE` into `os.environ`; a missing file
/// (an executor started after the driver ended) leaves the environment as it is. Variables
/// already set by the user's own environment win: none can be, the names are the job's.
pub const SITECUSTOMIZE_PY: &str = r#"# Written by sparkswarm: loads the job's secrets (env[].valueFrom) into os.environ.
import json as _json, os as _os
_path = _os.environ.get("SPARKSWARM_SECRETS_FILE")
if _path:
    try:
        with open(_path, encoding="utf-8") as _f:
            _os.environ.update(_json.load(_f))
    except OSError:
        pass
del _json, _os, _path
"#;

/// A secret's value. `Debug` prints `<redacted>`; there is no `Display` and no `Serialize`:
/// the only way to the value is [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The secret file's content: a JSON object of name → value.
pub fn secrets_json(secrets: &[(String, Secret)]) -> Vec<u8> {
    let map: serde_json::Map<String, serde_json::Value> =
        secrets.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.expose().to_string()))).collect();
    serde_json::to_vec(&map).unwrap_or_default()
}

/// Spark's default `spark.redaction.regex` plus the secrets' names: should a user's code
/// copy a secret into a conf of that name, Spark's UI and event log still hide it.
pub fn redaction_regex(secrets: &[(String, Secret)]) -> Option<String> {
    if secrets.is_empty() {
        return None;
    }
    let mut r = String::from("(?i)secret|password|token|access[.]?key");
    for (name, _) in secrets {
        r.push('|');
        r.push_str(name);
    }
    Some(r)
}

/// The entries of the Python path: the attempt's `pyenv` dir (with `sitecustomize.py`) when
/// there are secrets, then the deps.
pub fn python_path(pyenv: Option<&str>, deps: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [pyenv, deps].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(":"))
}

/// What points an attempt's Python at its deps and its secrets, in the driver's environment
/// and, as `spark.executorEnv.*`, the executors', with Spark's redaction of the secrets'
/// names: the same on every runtime, only the paths differ.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonVars {
    pub vars: Vec<(String, String)>,
    pub redaction: Option<String>,
}

impl PythonVars {
    /// `attempt`: the attempt's directory as the driver and the executors see it; `deps`:
    /// the deps' tree as they see it, when the job has deps.
    pub fn of(secrets: &[(String, Secret)], attempt: &str, deps: Option<&str>) -> Self {
        let has_secrets = !secrets.is_empty();
        let pyenv = format!("{attempt}/{PYENV_DIR}");
        let mut vars = Vec::new();
        if let Some(p) = python_path(has_secrets.then_some(pyenv.as_str()), deps) {
            vars.push(("PYTHONPATH".to_string(), p));
        }
        if has_secrets {
            vars.push((SECRETS_FILE_ENV.to_string(), format!("{attempt}/{SECRETS_FILE}")));
        }
        PythonVars { vars, redaction: redaction_regex(secrets) }
    }

    /// The executors' share, as Spark configuration.
    pub fn executor_conf(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> =
            self.vars.iter().map(|(k, val)| (format!("spark.executorEnv.{k}"), val.clone())).collect();
        if let Some(r) = &self.redaction {
            v.push(("spark.redaction.regex".into(), r.clone()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_does_not_print() {
        let s = Secret::new("hunter2-very-secret");
        let shown = format!("{s:?} {:?}", vec![("DB".to_string(), s.clone())]);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(s.expose(), "hunter2-very-secret");
        let json: serde_json::Value = serde_json::from_slice(&secrets_json(&[("DB".into(), s)])).unwrap();
        assert_eq!(json["DB"], "hunter2-very-secret");
    }

    #[test]
    fn the_redaction_names_the_secrets_and_the_path_joins() {
        assert_eq!(redaction_regex(&[]), None);
        let r = redaction_regex(&[("DB_PASS".into(), Secret::new("x"))]).unwrap();
        assert!(r.ends_with("|DB_PASS") && r.starts_with("(?i)secret|password"));
        assert_eq!(python_path(Some("/a/pyenv"), Some("/c/site")).as_deref(), Some("/a/pyenv:/c/site"));
        assert_eq!(python_path(None, None), None);
    }
}
