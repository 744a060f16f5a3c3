//! Building an attempt's submission: every path resolved and confined (no `..`, absolute
//! or symlink escape out of the allowed roots), every value a string.

use std::path::{Path, PathBuf};

use crate::api::job::SparkJobSpec;
use crate::manifest::document::Document;
use crate::manifest::paths::{self, confine_dst, Roots};
use crate::manifest::validate::FieldError;
use crate::runtime::JobSubmission;
use crate::state::ledger::AttemptRecord;

#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPaths {
    pub main: PathBuf,
    pub files: Vec<(PathBuf, String)>,
    pub py_files: Vec<PathBuf>,
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
        (Some(main), true) => Ok(ResolvedPaths { main, files, py_files }),
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
) -> JobSubmission {
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
            .chain(spec.env.iter().map(|e| (format!("spark.executorEnv.{}", e.name), e.value.clone())))
            .collect(),
        env: spec.env.iter().map(|e| (e.name.clone(), e.value.clone())).collect(),
        driver_cores: spec.driver.cores,
        driver_memory: spec.driver.memory.clone(),
        executor_instances: spec.executor.instances,
        executor_cores: spec.executor.cores,
        executor_memory: spec.executor.memory.clone(),
        attempt_dir,
    }
}
