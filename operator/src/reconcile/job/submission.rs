//! Building an attempt's submission: every path resolved and confined (no `..`, absolute
//! or symlink escape out of the allowed roots), every value a string.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::api::cluster::SecretRef;
use crate::api::job::SparkJobSpec;
use crate::manifest::document::Document;
use crate::manifest::paths::{self, confine_dst, Roots};
use crate::manifest::validate::FieldError;
use crate::runtime::job_env::Secret;
use crate::runtime::JobSubmission;
use crate::state::ledger::AttemptRecord;

#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPaths {
    pub main: PathBuf,
    pub files: Vec<(PathBuf, String)>,
    pub py_files: Vec<PathBuf>,
    /// `deps.requirementsFile`.
    pub requirements_file: Option<PathBuf>,
    /// The files of `env[].valueFrom.file`, by the entry's index (read at submission).
    pub secret_files: BTreeMap<usize, PathBuf>,
}

pub fn resolve(
    roots: &Roots,
    manifest: &Path,
    doc: &Document,
    spec: &SparkJobSpec,
) -> Result<ResolvedPaths, Vec<FieldError>> {
    resolve_at(roots, manifest, doc, spec, "/spec")
}

/// [`resolve`] for a job spec written at `at` (a JSON pointer): a schedule's template is
/// checked as a job's spec, its errors naming `spec.template.…`.
pub fn resolve_at(
    roots: &Roots,
    manifest: &Path,
    doc: &Document,
    spec: &SparkJobSpec,
    at: &str,
) -> Result<ResolvedPaths, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut one = |pointer: String, rel: &str| -> Option<PathBuf> {
        match resolve_one(roots, manifest, rel) {
            Ok(p) => Some(p),
            Err(message) => {
                errors.push(FieldError {
                    path: manifest.to_path_buf(),
                    line: doc.line_of(&pointer),
                    field: pointer.trim_start_matches('/').replace('/', "."),
                    message,
                    reason: "PathNotAllowed".into(),
                });
                None
            }
        }
    };
    let main = one(format!("{at}/mainApplicationFile"), &spec.main_application_file);
    let mut files = Vec::new();
    for (i, f) in spec.files.iter().enumerate() {
        // Checked once the upstream run it names is known (the spec is expanded then).
        if super::inputs::has_reference(f.src()) {
            continue;
        }
        let pointer = match f {
            crate::api::job::FileSpec::Path(_) => format!("{at}/files/{i}"),
            crate::api::job::FileSpec::Mapped(_) => format!("{at}/files/{i}/src"),
        };
        if let Some(src) = one(pointer, f.src()) {
            files.push((src, f.dst()));
        }
    }
    let mut py_files = Vec::new();
    for (i, p) in spec.py_files.iter().enumerate() {
        py_files.extend(one(format!("{at}/pyFiles/{i}"), p));
    }
    let requirements_file = match spec.deps.as_ref().and_then(|d| d.requirements_file.as_ref()) {
        Some(rel) => one(format!("{at}/deps/requirementsFile"), rel),
        None => None,
    };
    let mut secret_files = BTreeMap::new();
    for (i, e) in spec.env.iter().enumerate() {
        if let Some(SecretRef::File(rel)) = &e.value_from {
            if let Some(p) = one(format!("{at}/env/{i}/valueFrom/file"), &rel.to_string_lossy()) {
                secret_files.insert(i, p);
            }
        }
    }
    for (i, e) in spec.env.iter().enumerate() {
        if let Some(SecretRef::Env(var)) = &e.value_from {
            if std::env::var_os(var).is_none() {
                errors.push(FieldError {
                    path: manifest.to_path_buf(),
                    line: doc.line_of(&format!("{at}/env/{i}/valueFrom/env")),
                    field: format!("{}.env.{i}.valueFrom.env", at.trim_start_matches('/').replace('/', ".")),
                    message: format!("the operator's environment has no variable {var}"),
                    reason: "SecretNotFound".into(),
                });
            }
        }
    }
    for (i, f) in spec.files.iter().enumerate() {
        if let Err(e) = confine_dst(&f.dst()) {
            errors.push(FieldError {
                path: manifest.to_path_buf(),
                line: doc.line_of(&format!("{at}/files/{i}")),
                field: format!("{}.files.{i}.dst", at.trim_start_matches('/').replace('/', ".")),
                message: e.to_string(),
                reason: "PathNotAllowed".into(),
            });
        }
    }
    match (main, errors.is_empty()) {
        (Some(main), true) => Ok(ResolvedPaths { main, files, py_files, requirements_file, secret_files }),
        _ => Err(errors),
    }
}

fn resolve_one(roots: &Roots, manifest: &Path, rel: &str) -> Result<PathBuf, String> {
    paths::resolve_file(manifest, rel, roots).map_err(|e| e.to_string())
}

pub fn build(
    job: &str,
    spec: &SparkJobSpec,
    paths: &ResolvedPaths,
    master_url: &str,
    record: &AttemptRecord,
    attempt_dir: PathBuf,
    environment: JobEnvironment,
) -> JobSubmission {
    let plain: Vec<(String, String)> =
        spec.env.iter().filter_map(|e| e.value.as_ref().map(|v| (e.name.clone(), v.clone()))).collect();
    JobSubmission {
        job: job.to_string(),
        cluster: spec.cluster_ref.clone(),
        submission_id: record.submission_id.clone(),
        attempt: record.number,
        master_url: master_url.to_string(),
        main_application_file: paths.main.clone(),
        arguments: spec.arguments.clone(),
        files: paths.files.clone(),
        py_files: paths.py_files.clone(),
        spark_conf: spec
            .spark_conf
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .chain(plain.iter().map(|(k, v)| (format!("spark.executorEnv.{k}"), v.clone())))
            .collect(),
        env: plain,
        secrets: environment.secrets,
        deps: environment.deps,
        driver_cores: spec.driver.cores,
        driver_memory: spec.driver.memory.clone(),
        executor_instances: spec.executor.instances,
        executor_cores: spec.executor.cores,
        executor_memory: spec.executor.memory.clone(),
        attempt_dir,
    }
}

/// What an attempt gets besides its spec: the secrets read at submission and the built deps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobEnvironment {
    pub secrets: Vec<(String, Secret)>,
    pub deps: Option<PathBuf>,
}

/// Reads the secrets of `env[].valueFrom` (at submission, never before). An error names the
/// field and the file or variable, never a value. A file's value loses its trailing line
/// break (files written with `echo` end with one).
pub fn read_secrets(spec: &SparkJobSpec, paths: &ResolvedPaths) -> Result<Vec<(String, Secret)>, String> {
    let mut out = Vec::new();
    for (i, e) in spec.env.iter().enumerate() {
        let value = match &e.value_from {
            None => continue,
            Some(SecretRef::Env(var)) => std::env::var(var).map_err(|_| {
                format!("spec.env.{i}.valueFrom.env: the operator's environment has no (UTF-8) variable {var}")
            })?,
            Some(SecretRef::File(_)) => {
                let path =
                    paths.secret_files.get(&i).ok_or_else(|| format!("spec.env.{i}.valueFrom.file: not resolved"))?;
                let text = std::fs::read_to_string(path).map_err(|err| {
                    format!("spec.env.{i}.valueFrom.file: cannot read {}: {}", path.display(), err.kind())
                })?;
                text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text).to_string()
            }
        };
        out.push((e.name.clone(), Secret::new(value)));
    }
    Ok(out)
}

/// The requirement lines of `deps` (the list, then the file's), empty when there are none.
pub fn read_requirements(spec: &SparkJobSpec, paths: &ResolvedPaths) -> Result<Vec<String>, String> {
    let Some(deps) = &spec.deps else { return Ok(Vec::new()) };
    let mut lines = deps.requirements.clone();
    if let Some(path) = &paths.requirements_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("spec.deps.requirementsFile: cannot read {}: {e}", path.display()))?;
        lines.extend(text.lines().map(str::to_string));
    }
    Ok(crate::runtime::pydeps::normalize(&lines))
}
