//! `sparkswarm demo`: the main job out of the box. Prepares what is missing (data, Spark),
//! runs the operator on the manifests until the seed jobs finish, prints their results.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;

use crate::api::Kind;
use crate::manager::{self, Config, Outcome};
use crate::manifest::catalog::Catalog;
use crate::manifest::validate::Resource;
use crate::runtime::Runtimes;
use crate::state::generations::Generations;
use crate::telemetry::{self, LogFormat};

use super::{CliError, CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Leave the demo's Spark cluster running afterwards (`sparkswarm run` adopts it).
    #[arg(long)]
    pub keep_cluster: bool,
}

/// The project root: the directory holding `apps/` beside the manifests directory.
fn project_root(manifests: &Path) -> Result<PathBuf, CliError> {
    let abs = manifests.canonicalize().map_err(|e| CliError(format!("error: {}: {e}", manifests.display())))?;
    let root = abs.parent().map(Path::to_path_buf).unwrap_or(abs.clone());
    if !root.join("apps").is_dir() {
        return Err(CliError(format!(
            "error: no apps/ beside {}: run the demo from a clone of the repository",
            abs.display()
        )));
    }
    Ok(root)
}

pub fn run(g: &Globals, args: DemoArgs) -> CliResult {
    telemetry::init(LogFormat::Text, "warn");
    let root = project_root(&g.manifests)?;
    let prepare = root.join("apps").join("prepare_data.py");
    if prepare.exists() {
        eprintln!("==> preparing data sets (apps/prepare_data.py)");
        let status = Command::new("python3").arg(&prepare).arg("--out").arg(root.join("apps").join("data")).status()?;
        if !status.success() {
            return Err(CliError("error: data preparation failed (see above)".into()));
        }
    }
    eprintln!("==> running the operator on {} until the jobs finish", g.manifests.display());
    let cfg = Config { exit_when_done: true, ..Config::new(g.manifests.clone(), g.state.root().to_path_buf()) };
    let progress: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|line: &str| eprintln!("    {line}"));
    let rt = super::runtime()?;
    let watcher = {
        let manifests = g.manifests.clone();
        std::thread::spawn(move || report_progress(&manifests))
    };
    let outcome = rt.block_on(manager::run(cfg, progress.clone()))?;
    drop(watcher);
    let catalog = Catalog::load(&g.manifests);
    if !args.keep_cluster {
        // A showcase should not leave JVMs behind; the files still declare the cluster, so
        // the next `sparkswarm run` or demo starts it again.
        let runtimes = Runtimes::new(g.state.root().to_path_buf(), progress);
        for e in catalog.iter_kind(Kind::SparkCluster) {
            if let (Some(name), Ok(Resource::Cluster(c))) = (&e.name, &e.result) {
                rt.block_on(runtimes.cluster(Runtimes::kind_of(&c.spec.provider)).delete(name))?;
                eprintln!("==> stopped cluster {name} (use --keep-cluster to leave it running)");
            }
        }
    }
    let entries: Vec<_> = catalog.iter_kind(Kind::SparkJob).collect();
    let gens = Generations::load(&g.state).ok();
    println!();
    print!("{}", super::get::render(Kind::SparkJob, &entries, true, gens.as_ref()).render(true));
    for e in &entries {
        println!();
        println!("{}:", e.name.as_deref().unwrap_or("?"));
        let results = super::get::results_text(&e.raw);
        if !results.is_empty() {
            println!("  results: {}", results.replace(',', ", "));
        }
        if let Some(msg) = e.raw.pointer("/status/message").and_then(|v| v.as_str()) {
            println!("  message: {msg}");
        }
        if let Some(dir) = e.raw.pointer("/status/outputsDir").and_then(|v| v.as_str()) {
            let mut pngs: Vec<String> = std::fs::read_dir(dir)
                .map(|rd| {
                    rd.flatten()
                        .filter(|f| f.path().extension().is_some_and(|x| x == "png"))
                        .map(|f| f.path().display().to_string())
                        .collect()
                })
                .unwrap_or_default();
            pngs.sort();
            println!("  outputs: {dir}");
            for png in pngs {
                println!("  picture: {png}");
            }
        }
    }
    Ok(match outcome {
        Outcome::Done { failed: 0, .. } => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

/// Prints each job's phase as it changes, so a newcomer sees the demo move.
fn report_progress(manifests: &Path) {
    let mut last: std::collections::BTreeMap<String, String> = Default::default();
    loop {
        let catalog = Catalog::load(manifests);
        for kind in Kind::ALL {
            for e in catalog.iter_kind(kind) {
                let name = format!("{}/{}", kind.singular(), e.name.as_deref().unwrap_or("?"));
                let phase = e.raw.pointer("/status/phase").and_then(|p| p.as_str()).unwrap_or("Pending").to_string();
                if last.get(&name) != Some(&phase) {
                    eprintln!("    {name}: {phase}");
                    last.insert(name, phase);
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
