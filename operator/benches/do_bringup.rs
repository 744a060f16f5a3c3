//! Bring-up of a digitalocean cluster, file dropped → `phase: Ready`, for 1, 3 and 10
//! droplets, against the DigitalOcean stand-in with a 20 s simulated boot delay. The droplets
//! are real hosts (containers with OpenSSH and their own Docker engine, see
//! `tests/do_standin`), so the time includes the SSH bootstrap, the swarm, the Spark image
//! loaded into every droplet over its SSH session (`preload.rs`), and Spark starting.
//!
//! Run: `cargo bench --bench do_bringup` (needs the images `.ci/run` builds). Set
//! `BENCH_NODES=1,3` to choose the counts, `BENCH_BOOT_SECS` for the boot delay,
//! `BENCH_LOG_DIR` to keep each run's operator log and events there, `BENCH_IMAGE` for
//! another Spark image than the default, and
//! `BENCH_BASELINE_BIN` to another build's `sparkswarm` binary to run it side by side (before
//! this build, for each count).

#[path = "../../tests/do_standin/mod.rs"]
mod do_standin;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use do_standin::{Config, HostsConfig, Standin};

const BIN: &str = env!("CARGO_BIN_EXE_sparkswarm");

fn cluster(name: &str, nodes: u32) -> String {
    // `BENCH_IMAGE`: another Spark image, e.g. an earlier build of images/spark kept under a tag.
    let image = std::env::var("BENCH_IMAGE").map(|i| format!("  image: {i}\n")).unwrap_or_default();
    format!(
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: {name}\nspec:\n{image}  provider:\n    digitalocean:\n      tokenFrom: {{env: DIGITALOCEAN_TOKEN}}\n      nodes: {nodes}\n  workers: {{replicas: 2, cores: 1, memory: 1g}}\n  registry: {{enabled: true}}\n"
    )
}

fn status_of(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap_or(serde_json::Value::Null);
    doc.get("status").cloned().unwrap_or(serde_json::Value::Null)
}

fn start(bin: &Path, root: &Path, standin: &Standin) -> Child {
    let log = std::fs::File::create(root.join("operator.log")).expect("log");
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images");
    Command::new(bin)
        .arg("run")
        .current_dir(root)
        .env("RUST_LOG", "sparkswarm=info,warn")
        .env("DIGITALOCEAN_TOKEN", standin.token())
        .env(sparkswarm::runtime::digitalocean::API_URL_ENV, &standin.url)
        .env("SPARKSWARM_IMAGES_DIR", images)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start the operator")
}

struct Run {
    nodes: u32,
    all_active: f64,
    swarm_formed: f64,
    ready: f64,
    api_requests: usize,
    /// The slowest droplet's image load and the MB it was sent, from its `ImageLoaded` event.
    slowest_load: Option<(f64, u64)>,
}

/// `(seconds, MB)` from an `ImageLoaded` message: `... loaded over SSH (627 MB compressed in 9.8 s)`.
fn load_figures(message: &str) -> Option<(f64, u64)> {
    let inside = message.rsplit_once('(')?.1.strip_suffix(')')?;
    let mb = inside.split_whitespace().next()?.parse().ok()?;
    let secs = inside.rsplit_once(" in ")?.1.strip_suffix(" s")?.parse().ok()?;
    Some((secs, mb))
}

async fn one(bin: &Path, nodes: u32, boot: Duration) -> Run {
    let standin = Standin::start(Config {
        boot_delay: boot,
        max_per_page: 20,
        hosts: Some(HostsConfig::default()),
        ..Config::default()
    })
    .await;
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("manifests")).expect("manifests");
    let mut op = start(bin, root.path(), &standin);
    let file = root.path().join("manifests/cluster.yaml");
    let name = format!("bench{nodes}");
    // Let the operator come up before the clock starts: the measure is the file's.
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    let wall0 = chrono::Utc::now();
    std::fs::write(&file, cluster(&name, nodes)).expect("write");
    let (mut all_active, mut swarm_formed) = (None, None::<f64>);
    let deadline = t0 + Duration::from_secs(900);
    let ready = loop {
        let droplets = standin.droplets();
        if all_active.is_none()
            && droplets.len() == nodes as usize
            && droplets.iter().all(|d| standin.address_of(&d.name).is_some())
        {
            all_active = Some(t0.elapsed().as_secs_f64());
        }
        let status = status_of(&file);
        let listed = status["nodes"].as_array().cloned().unwrap_or_default();
        if status["phase"] == "Ready" && listed.len() == nodes as usize && listed.iter().all(|n| n["state"] == "ready")
        {
            break t0.elapsed().as_secs_f64();
        }
        assert!(
            Instant::now() < deadline,
            "not Ready after 900 s:\n{}\n{:?}",
            std::fs::read_to_string(&file).unwrap_or_default(),
            standin.host_errors()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let api_requests = standin.seen().len();
    // The swarm is formed when the last node joined: the events' own timestamps (the status
    // is written once the whole pass, image copy included, is done).
    let events = std::fs::read_to_string(root.path().join(format!(".sparkswarm/events/sparkcluster/{name}.jsonl")))
        .unwrap_or_default();
    let mut slowest_load = None::<(f64, u64)>;
    for line in events.lines() {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if e["reason"] == "ImageLoaded" {
            if let Some(l) = e["message"].as_str().and_then(load_figures) {
                slowest_load = Some(slowest_load.map_or(l, |s| if l.0 > s.0 { l } else { s }));
            }
        }
        if e["reason"] == "SwarmInitialised" || e["reason"] == "NodeJoined" {
            if let Some(at) = e["firstTimestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
                let secs = (at.with_timezone(&chrono::Utc) - wall0).num_milliseconds() as f64 / 1000.0;
                swarm_formed = Some(swarm_formed.map_or(secs, |s: f64| s.max(secs)));
            }
        }
    }
    // Where the time went, for whoever reads the operator's log and events afterwards.
    if let Some(dir) = std::env::var_os("BENCH_LOG_DIR") {
        let dir = Path::new(&dir);
        let stem = format!("{}-{nodes}", bin.file_name().and_then(|n| n.to_str()).unwrap_or("sparkswarm"));
        std::fs::create_dir_all(dir).expect("BENCH_LOG_DIR");
        std::fs::copy(root.path().join("operator.log"), dir.join(format!("{stem}.log"))).expect("copy the log");
        std::fs::write(dir.join(format!("{stem}.events.jsonl")), &events).expect("copy the events");
    }
    std::fs::remove_file(&file).expect("rm");
    let gone = Instant::now() + Duration::from_secs(300);
    while !(standin.droplets().is_empty() && standin.containers().is_empty()) {
        assert!(Instant::now() < gone, "droplets left after deletion");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(op.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let _ = op.wait();
    Run {
        nodes,
        all_active: all_active.unwrap_or(f64::NAN),
        swarm_formed: swarm_formed.unwrap_or(f64::NAN),
        ready,
        api_requests,
        slowest_load,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let counts: Vec<u32> = std::env::var("BENCH_NODES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 3, 10]);
    let boot = Duration::from_secs(std::env::var("BENCH_BOOT_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20));
    println!("digitalocean bring-up, boot delay {} s (file dropped -> phase Ready)", boot.as_secs());
    let mut builds = Vec::new();
    if let Some(base) = std::env::var_os("BENCH_BASELINE_BIN") {
        builds.push(("baseline", std::path::PathBuf::from(base)));
    }
    builds.push(("this", std::path::PathBuf::from(BIN)));
    println!(
        "{:>9} {:>6} {:>12} {:>14} {:>9} {:>13} {:>22}",
        "build", "nodes", "all active", "swarm formed", "Ready", "API requests", "slowest image load"
    );
    for n in counts {
        for (label, bin) in &builds {
            let r = one(bin, n, boot).await;
            let load = r.slowest_load.map_or_else(|| "-".to_string(), |(s, mb)| format!("{s:.1} s, {mb} MB"));
            println!(
                "{:>9} {:>6} {:>11.1}s {:>13.1}s {:>8.1}s {:>13} {:>22}",
                label, r.nodes, r.all_active, r.swarm_formed, r.ready, r.api_requests, load
            );
        }
    }
}
