//! The main job: `sparkswarm demo` on a fresh copy of the project runs the three MLlib
//! apps through the operator on a real local Spark, exits 0, and each app's metrics fall
//! in the range a correct pipeline reaches on its data (apps/*/expected.json says which
//! and the app READMEs say why).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let name = e.file_name().to_string_lossy().to_string();
        if name == "__pycache__" {
            continue;
        }
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn the_demo_runs_the_three_apps_and_their_metrics_are_right() {
    require_java();
    let repo = repo_root();
    assert!(
        repo.join("apps/data/boston.csv").exists(),
        "apps/data is missing: run `python3 apps/prepare_data.py --out apps/data` (./test.sh does)"
    );
    let p = Project::new();
    let _reaper = Reaper(p.state().display().to_string());
    copy_dir(&repo.join("apps"), &p.root().join("apps"));
    for e in std::fs::read_dir(repo.join("manifests")).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), p.manifests().join(e.file_name())).unwrap();
        }
    }
    let out = Command::new(BIN)
        .arg("demo")
        .current_dir(p.root())
        .env("SPARKSWARM_SPARK_CACHE", spark_cache())
        .env("SPARKSWARM_JVM_OPTIONS", jvm_options())
        .env_remove("SPARKSWARM_MANIFESTS")
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}");

    for (job, app, png) in [
        ("linear-regression", "linear_regression", "predicted_vs_actual.png"),
        ("random-forest", "random_forest", "roc_curve.png"),
        ("text-classification", "text_classification", "confusion_matrix.png"),
    ] {
        let file = format!("{job}.yaml");
        assert_eq!(p.phase(&file), "Succeeded", "{job}\n{}", p.read(&file));
        assert!(stdout.lines().any(|l| l.starts_with(job) && l.contains("Succeeded")), "{job} in the table:\n{stdout}");
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(repo.join("apps").join(app).join("expected.json")).unwrap())
                .unwrap();
        for (metric, range) in expected.as_object().unwrap() {
            let (lo, hi) = (range[0].as_f64().unwrap(), range[1].as_f64().unwrap());
            let got = p.field(&file, &format!("/status/results/{metric}")).and_then(|v| v.as_f64());
            let got = got.unwrap_or_else(|| panic!("{job}: no {metric} in status.results\n{}", p.read(&file)));
            assert!((lo..=hi).contains(&got), "{job}: {metric} = {got}, expected within [{lo}, {hi}]");
        }
        let outputs =
            p.field(&file, "/status/outputsDir").and_then(|v| v.as_str().map(str::to_string)).expect("outputsDir");
        let picture = Path::new(&outputs).join(png);
        let bytes = std::fs::read(&picture).unwrap_or_else(|e| panic!("{job}: {}: {e}", picture.display()));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000, "{job}: a real PNG");
        assert!(stdout.contains(&picture.display().to_string()), "the demo says where the picture is:\n{stdout}");
    }
    assert!(processes_mentioning(&p.state().display().to_string()).is_empty(), "the demo stopped its cluster");
}
