//! A run's document, built from the schedule (pure): the template as a SparkJob spec, its
//! relative paths made absolute against the schedule's manifest (the run file lives under
//! the state dir), owned by the schedule.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::api::job::{FileSpec, SparkJob, SparkJobKind, SparkJobSpec};
use crate::api::meta::{ObjectMeta, OwnerReference};
use crate::api::{ApiVersion, SparkSchedule, SCHEDULED_TIME_ANNOTATION, SCHEDULE_LABEL};

pub fn build(schedule: &SparkSchedule, manifest_dir: &Path, name: &str, time: DateTime<Utc>) -> SparkJob {
    let mut labels: BTreeMap<String, String> = schedule.metadata.labels.clone();
    labels.insert(SCHEDULE_LABEL.into(), schedule.metadata.name.clone());
    SparkJob {
        api_version: ApiVersion::V1alpha1,
        kind: SparkJobKind::SparkJob,
        metadata: ObjectMeta {
            name: name.to_string(),
            labels,
            annotations: BTreeMap::from([(SCHEDULED_TIME_ANNOTATION.to_string(), crate::api::time::format(&time))]),
            owner_references: vec![OwnerReference {
                api_version: ApiVersion::V1alpha1,
                kind: "SparkSchedule".into(),
                name: schedule.metadata.name.clone(),
                controller: true,
            }],
        },
        spec: absolute(&schedule.spec.template, manifest_dir),
        status: None,
    }
}

/// The run as the text of its file.
pub fn render(run: &SparkJob) -> Result<String, String> {
    let value = serde_json::to_value(run).map_err(|e| e.to_string())?;
    let owner = run.metadata.schedule_owner().unwrap_or_default();
    Ok(format!(
        "# A run of SparkSchedule {owner}, written by the sparkswarm operator: edit the schedule, not this file.\n{}",
        crate::manifest::render::document(&value)?
    ))
}

/// The template's paths, relative to the schedule's manifest, made absolute.
fn absolute(template: &SparkJobSpec, dir: &Path) -> SparkJobSpec {
    let mut spec = template.clone();
    let fix = |p: &mut String| {
        let relative = !p.starts_with('/') && !p.starts_with('~') && !p.contains("$(") && !p.trim().is_empty();
        if relative {
            *p = dir.join(&*p).to_string_lossy().into_owned();
        }
    };
    fix(&mut spec.main_application_file);
    for f in &mut spec.files {
        match f {
            FileSpec::Path(p) => {
                // Placed by its basename: keep that the template's, not the absolute path's.
                let before = p.clone();
                fix(p);
                if *p != before {
                    let dst = FileSpec::Path(before).dst();
                    *f = FileSpec::Mapped(crate::api::job::MappedFile { src: p.clone(), dst });
                }
            }
            FileSpec::Mapped(m) => fix(&mut m.src),
        }
    }
    spec.py_files.iter_mut().for_each(fix);
    if let Some(f) = spec.deps.as_mut().and_then(|d| d.requirements_file.as_mut()) {
        fix(f);
    }
    for e in &mut spec.env {
        if let Some(crate::api::cluster::SecretRef::File(p)) = &mut e.value_from {
            let mut s = p.to_string_lossy().into_owned();
            fix(&mut s);
            *p = s.into();
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::validate::{validate, Resource};

    const SCHEDULE: &str = "\
apiVersion: sparkswarm.io/v1alpha1
kind: SparkSchedule
metadata:
  name: nightly
  labels: {team: ml}
spec:
  schedule: '@every 10s'
  template:
    clusterRef: demo
    mainApplicationFile: ../apps/lr/main.py
    files: [../apps/lr/data/boston.csv, {src: data/x.txt, dst: d/x.txt}, /abs/y.txt]
    pyFiles: [lib.zip]
    arguments: ['--n', '3']
    deps: {requirementsFile: ../apps/lr/requirements.txt}
    env: [{name: PW, valueFrom: {file: ../secrets/pw}}, {name: MODE, value: fast}]
";

    #[test]
    fn a_run_is_the_template_owned_by_the_schedule_with_absolute_paths() {
        let f = crate::manifest::document::parse(Path::new("/p/manifests/s.yaml"), SCHEDULE).expect("parses");
        let Ok(Resource::Schedule(s)) = validate(Path::new("/p/manifests/s.yaml"), &f.docs[0]) else { panic!("valid") };
        let t = DateTime::parse_from_rfc3339("2026-12-01T03:00:00Z").expect("t").with_timezone(&Utc);
        let run = build(&s, Path::new("/p/manifests"), "nightly-20261201-030000", t);
        assert_eq!(run.metadata.schedule_owner(), Some("nightly"));
        assert_eq!(run.metadata.labels.get("team").map(String::as_str), Some("ml"));
        assert_eq!(run.metadata.labels.get(SCHEDULE_LABEL).map(String::as_str), Some("nightly"));
        assert_eq!(run.spec.main_application_file, "/p/manifests/../apps/lr/main.py");
        let files: Vec<(String, String)> = run.spec.files.iter().map(|f| (f.src().to_string(), f.dst())).collect();
        assert_eq!(
            files,
            [
                ("/p/manifests/../apps/lr/data/boston.csv".to_string(), "boston.csv".to_string()),
                ("/p/manifests/data/x.txt".into(), "d/x.txt".into()),
                ("/abs/y.txt".into(), "y.txt".into()),
            ]
        );
        assert_eq!(run.spec.py_files, ["/p/manifests/lib.zip"]);
        assert_eq!(run.spec.arguments, ["--n", "3"]);
        let req = run.spec.deps.as_ref().and_then(|d| d.requirements_file.as_deref());
        assert_eq!(req, Some("/p/manifests/../apps/lr/requirements.txt"));
        assert_eq!(
            run.spec.env[0].value_from,
            Some(crate::api::cluster::SecretRef::File("/p/manifests/../secrets/pw".into()))
        );

        // The file it becomes is a valid SparkJob that says what it is.
        let text = render(&run).expect("renders");
        assert!(text.starts_with("# A run of SparkSchedule nightly"), "{text}");
        let back = crate::manifest::document::parse(Path::new("/s/runs/nightly/r.yaml"), &text).expect("parses");
        match validate(Path::new("/s/runs/nightly/r.yaml"), &back.docs[0]) {
            Ok(Resource::Job(j)) => assert_eq!(*j, run),
            other => panic!("{other:?}\n{text}"),
        }
    }
}
