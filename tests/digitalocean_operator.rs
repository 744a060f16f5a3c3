//! The digitalocean provider end to end: the operator binary against the DigitalOcean
//! stand-in (`tests/do_standin`), whose droplets are real hosts: containers on the local
//! engine running OpenSSH and their own Docker engine. A user's view throughout: the status
//! in the file, the CLI, the droplets the API lists, what runs on the droplets.
//!
//! Needs the local Docker engine and the images `sparkswarm/test-droplet:1`,
//! `sparkswarm/spark:4.0.1` and `sparkswarm/registry:2` (`.ci/run` builds them; the test
//! fails saying so when one is missing).

mod common;
mod do_standin;

use std::time::Duration;

use common::*;
use do_standin::{Config, HostsConfig, Standin};
use sparkswarm::runtime::digitalocean::API_URL_ENV;

const BOOT: Duration = Duration::from_secs(420);
const JOB: Duration = Duration::from_secs(300);
const GONE: Duration = Duration::from_secs(120);

fn unique(prefix: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}{nanos:08x}")
}

fn require_images() {
    for image in ["sparkswarm/spark:4.0.1", "sparkswarm/registry:2"] {
        let ok = std::process::Command::new("docker")
            .args(["image", "inspect", image])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(ok, "the image {image} is missing on the local engine: run images/*/build-offline.sh (.ci/run does)");
    }
}

fn do_cluster_yaml(name: &str, nodes: u32) -> String {
    format!(
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: {name}\nspec:\n  provider:\n    digitalocean:\n      tokenFrom: {{env: DIGITALOCEAN_TOKEN}}\n      region: fra1\n      size: s-2vcpu-4gb\n      image: debian-12-x64\n      nodes: {nodes}   # the first is the swarm manager\n  workers:\n    replicas: 2\n    cores: 1\n    memory: 1g\n  registry: {{enabled: true, port: 5000}}\n"
    )
}

fn copy_apps(p: &Project) {
    let src = repo_root().join("apps");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(p.root().join("apps"))
        .status();
    assert!(status.map(|s| s.success()).unwrap_or(false), "copying the apps");
    assert!(
        p.root().join("apps/data/boston.csv").exists(),
        "apps/data is not prepared: run `python3 apps/prepare_data.py --out apps/data`"
    );
}

fn start(p: &Project, standin: &Standin) -> Operator {
    let images = repo_root().join("images");
    Operator::start_with_env(
        p,
        &[],
        &[
            ("DIGITALOCEAN_TOKEN", standin.token()),
            (API_URL_ENV, standin.url.as_str()),
            ("SPARKSWARM_IMAGES_DIR", &images.to_string_lossy()),
        ],
    )
}

async fn standin(boot_delay: Duration) -> Standin {
    Standin::start(Config {
        boot_delay,
        max_per_page: 2,
        // Occasional throttling and server errors, as the real API has them.
        throttle_every: Some(37),
        fail_every: Some(23),
        retry_after_secs: 1,
        hosts: Some(HostsConfig::default()),
        ..Config::default()
    })
    .await
}

fn nodes(p: &Project, file: &str) -> Vec<serde_json::Value> {
    p.field(file, "/status/nodes").and_then(|v| v.as_array().cloned()).unwrap_or_default()
}

fn condition(p: &Project, file: &str, type_: &str) -> Option<String> {
    let conds = p.field(file, "/status/conditions")?;
    conds.as_array()?.iter().find(|c| c["type"] == type_).and_then(|c| c["status"].as_str().map(str::to_string))
}

/// Ready with `n` nodes, each a ready swarm node with an address.
fn ready_with(p: &Project, file: &str, n: usize, op: &Operator, standin: &Standin) {
    eventually(
        BOOT,
        &format!("{file} Ready on {n} droplets"),
        || {
            let nodes = nodes(p, file);
            let all_ready = nodes.len() == n
                && nodes.iter().all(|x| x["state"] == "ready" && !x["address"].as_str().unwrap_or("").is_empty());
            (p.phase(file) == "Ready" && all_ready).then_some(())
        },
        || {
            format!(
                "file:\n{}\nstand-in host errors: {:?}\noperator log (tail):\n{}",
                p.read(file),
                standin.host_errors(),
                tail(&op.log(), 60)
            )
        },
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn docker_exec(container: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("docker").arg("exec").arg(container).args(args).output().expect("docker exec");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Everything of the cluster is gone: droplets, firewall, registered key, containers.
fn nothing_left(standin: &Standin, what: &str) {
    eventually(
        GONE,
        what,
        || {
            (standin.droplets().is_empty()
                && standin.firewall_count() == 0
                && standin.ssh_key_count() == 0
                && standin.containers().is_empty())
            .then_some(())
        },
        || {
            format!(
                "droplets {:?}, firewalls {}, keys {}, containers {:?}",
                standin.droplets().iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
                standin.firewall_count(),
                standin.ssh_key_count(),
                standin.containers()
            )
        },
    );
}

/// Spark's random-forest and k-means examples, unmodified, with their data as `files`.
fn copy_examples(p: &Project) {
    copy_from_pyspark(
        p,
        &[
            ("examples/src/main/python/ml/random_forest_classifier_example.py", "apps/examples/rf.py"),
            ("data/mllib/sample_libsvm_data.txt", "apps/examples/sample_libsvm_data.txt"),
            ("examples/src/main/python/ml/kmeans_example.py", "apps/examples/kmeans.py"),
            ("data/mllib/sample_kmeans_data.txt", "apps/examples/sample_kmeans_data.txt"),
        ],
    );
}

fn example_job(cluster: &str, job: &str, app: &str, data: &str) -> String {
    format!(
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: {job}\nspec:\n  clusterRef: {cluster}\n  mainApplicationFile: ../apps/examples/{app}\n  files:\n    - {{src: ../apps/examples/{data}, dst: data/mllib/{data}}}\n  driver: {{cores: 1, memory: 512m}}\n  executor: {{instances: 2, cores: 1, memory: 512m}}\n"
    )
}

/// One cluster for the whole life of a digitalocean cluster (three droplets are the
/// costliest thing the tests make): its bring-up, a seed app and Spark's own examples with
/// two executors each (their `spark.read` of the shipped file runs in executors on other
/// droplets than the driver's), scaling up and down, and the deletion.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn droplets_become_a_swarm_that_runs_jobs_and_sparks_examples_scale_to_four_and_are_destroyed() {
    require_images();
    let standin = standin(Duration::from_secs(3)).await;
    let p = Project::new();
    copy_apps(&p);
    copy_examples(&p);
    let name = unique("do");
    p.drop_manifest("cluster.yaml", &do_cluster_yaml(&name, 3));
    let op = start(&p, &standin);

    ready_with(&p, "cluster.yaml", 3, &op, &standin);
    let listed = nodes(&p, "cluster.yaml");
    let roles: Vec<&str> = listed.iter().map(|n| n["role"].as_str().unwrap_or("")).collect();
    assert_eq!(roles, ["manager", "worker", "worker"], "{listed:?}");
    let names: Vec<String> = listed.iter().map(|n| n["name"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(names, (1..=3).map(|i| format!("sparkswarm-{name}-{i}")).collect::<Vec<_>>());
    // The addresses are the droplets' own, as the API lists them.
    let droplets = standin.droplets();
    assert_eq!(droplets.len(), 3);
    for n in &listed {
        assert!(
            standin.address_of(n["name"].as_str().unwrap_or("")).as_deref() == n["address"].as_str(),
            "{n} vs {droplets:?}"
        );
    }
    for c in ["SwarmReady", "NodesReady", "RegistryReady", "MasterReady"] {
        assert_eq!(condition(&p, "cluster.yaml", c).as_deref(), Some("True"), "{c}:\n{}", p.read("cluster.yaml"));
    }
    // Each droplet's own engine is in the swarm; the manager sees three ready nodes.
    let containers = standin.containers();
    assert_eq!(containers.len(), 3, "{containers:?}");
    for c in &containers {
        assert_eq!(docker_exec(c, &["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"]), "active", "{c}");
    }
    // The cluster's firewall: SSH from this machine only (the droplets see it at their
    // network's gateway); the swarm's ports, Spark's (master, web UI) and the registry's
    // only among the cluster's droplets.
    let firewalls = standin.firewalls();
    assert_eq!(firewalls.len(), 1, "{firewalls:?}");
    let fw = &firewalls[0];
    let tag = format!("sparkswarm-{name}");
    assert_eq!(fw["tags"], serde_json::json!([tag]));
    let gateway = standin.gateway_of(&format!("sparkswarm-{name}-1")).expect("the droplets' gateway");
    let rules = fw["inbound_rules"].as_array().expect("inbound rules");
    let from = |port: &str, protocol: &str| {
        rules.iter().find(|r| r["ports"] == port && r["protocol"] == protocol).map(|r| r["sources"].clone())
    };
    assert_eq!(from("22", "tcp").expect("ssh rule")["addresses"], serde_json::json!([format!("{gateway}/32")]));
    for (port, protocol) in [
        ("2377", "tcp"),
        ("7946", "tcp"),
        ("7946", "udp"),
        ("4789", "udp"),
        ("7077", "tcp"),
        ("8080", "tcp"),
        ("5000", "tcp"),
    ] {
        let sources = from(port, protocol).unwrap_or_else(|| panic!("no {protocol}/{port} rule: {rules:?}"));
        assert_eq!(sources["tags"], serde_json::json!([tag]), "{protocol}/{port}");
        assert!(
            sources.get("addresses").is_none_or(|a| a.as_array().is_none_or(|a| a.is_empty())),
            "{protocol}/{port} open to addresses"
        );
    }
    assert_eq!(standin.ssh_key_count(), 1, "the generated login key, registered");
    let wide = String::from_utf8_lossy(&p.cli(&["get", "sparkcluster", &name, "-o", "wide"]).stdout).to_string();
    let (header, row) = wide.split_once('\n').expect("a table");
    let cell = |col: &str| {
        let at = header.find(col).unwrap_or_else(|| panic!("no {col} column: {wide}"));
        row[at..].split_whitespace().next().unwrap_or("").to_string()
    };
    assert_eq!(
        (cell("PROVIDER").as_str(), cell("PHASE").as_str(), cell("NODES").as_str()),
        ("digitalocean", "Ready", "3/3"),
        "{wide}"
    );
    let described = p.cli(&["describe", "sparkcluster", &name]);
    let text = String::from_utf8_lossy(&described.stdout);
    assert!(text.contains(&format!("sparkswarm-{name}-1")) && text.contains("SwarmInitialised"), "{text}");
    // The image went to every droplet compressed: the droplets have `zstd`.
    let loads: Vec<&str> = text.lines().filter(|l| l.contains("ImageLoaded")).collect();
    assert_eq!(loads.len(), 3, "one ImageLoaded per droplet:\n{text}");
    assert!(loads.iter().all(|l| l.contains("MB compressed in")), "{loads:#?}");

    // The two workers are spread over the droplets: at least one runs apart from the driver.
    let with_workers = standin
        .containers()
        .iter()
        .filter(|c| !docker_exec(c, &["docker", "ps", "-q", "--filter", "label=sparkswarm.io/role=worker"]).is_empty())
        .count();
    assert!(with_workers >= 2, "the workers run on {with_workers} droplet(s)");

    // A seed app runs on it, with its metrics back in the job's file, and so do Spark's
    // examples, which print what they computed.
    let job = std::fs::read_to_string(repo_root().join("manifests/linear-regression.yaml"))
        .expect("seed manifest")
        .replace("clusterRef: demo", &format!("clusterRef: {name}"));
    p.drop_manifest("linear-regression.yaml", &job);
    p.drop_manifest("rf.yaml", &example_job(&name, "rf", "rf.py", "sample_libsvm_data.txt"));
    p.drop_manifest("kmeans.yaml", &example_job(&name, "kmeans", "kmeans.py", "sample_kmeans_data.txt"));
    for file in ["linear-regression.yaml", "rf.yaml", "kmeans.yaml"] {
        eventually(
            JOB,
            &format!("{file} Succeeded"),
            || (p.phase(file) == "Succeeded").then_some(()),
            || format!("{}\n{}\noperator log (tail):\n{}", p.read(file), p.read("cluster.yaml"), tail(&op.log(), 60)),
        );
    }
    let r2 = p.field("linear-regression.yaml", "/status/results/r2").and_then(|v| v.as_f64());
    assert!(r2.is_some_and(|r| r > 0.6), "r2 = {r2:?}");
    for (job, printed) in [("rf", "Test Error = "), ("kmeans", "Silhouette with squared euclidean distance = ")] {
        let logs = p.cli(&["logs", "sparkjob", job]);
        let log = String::from_utf8_lossy(&logs.stdout);
        assert!(log.contains(printed), "{job} did not evaluate its model:\n{log}");
    }

    // Scale to four: one more droplet, bootstrapped and joined; the others untouched.
    let ids_before: Vec<u64> = standin.droplets().iter().map(|d| d.id).collect();
    let text = p.read("cluster.yaml").replace("nodes: 3   #", "nodes: 4   #");
    std::fs::write(p.manifest("cluster.yaml"), text).expect("edit");
    ready_with(&p, "cluster.yaml", 4, &op, &standin);
    let after = standin.droplets();
    assert_eq!(after.len(), 4);
    assert!(
        ids_before.iter().all(|id| after.iter().any(|d| d.id == *id)),
        "scaling up replaced droplets: {ids_before:?} before, {:?} after\n{}\noperator log (tail):\n{}",
        after.iter().map(|d| (d.id, d.name.clone())).collect::<Vec<_>>(),
        p.read("cluster.yaml"),
        tail(&op.log(), 80)
    );

    // And back to three: node 4 is drained, leaves the swarm and is deleted; the swarm
    // forgets it and Spark keeps its workers.
    let text = p.read("cluster.yaml").replace("nodes: 4   #", "nodes: 3   #");
    std::fs::write(p.manifest("cluster.yaml"), text).expect("edit");
    ready_with(&p, "cluster.yaml", 3, &op, &standin);
    eventually(
        GONE,
        "node 4 deleted",
        || (standin.droplets().len() == 3 && standin.containers().len() == 3).then_some(()),
        || format!("{:?}", standin.containers()),
    );
    assert!(standin.droplets().iter().all(|d| d.name != format!("sparkswarm-{name}-4")));
    let manager = standin
        .containers()
        .into_iter()
        .find(|c| docker_exec(c, &["hostname"]) == format!("sparkswarm-{name}-1"))
        .expect("the manager's container");
    let swarm_nodes = docker_exec(&manager, &["docker", "node", "ls", "--format", "{{.Hostname}}"]);
    let mut swarm_nodes: Vec<&str> = swarm_nodes.lines().collect();
    swarm_nodes.sort();
    assert_eq!(
        swarm_nodes,
        (1..=3).map(|i| format!("sparkswarm-{name}-{i}")).collect::<Vec<_>>(),
        "the swarm's own node list"
    );
    let events = String::from_utf8_lossy(&p.cli(&["describe", "sparkcluster", &name]).stdout).to_string();
    assert!(events.contains("DropletDeleted") && events.contains("after leaving the swarm"), "{events}");

    // Delete: the job first, then the cluster; nothing of either is left.
    for job in ["linear-regression.yaml", "rf.yaml", "kmeans.yaml"] {
        std::fs::remove_file(p.manifest(job)).expect("rm job");
    }
    std::fs::remove_file(p.manifest("cluster.yaml")).expect("rm cluster");
    nothing_left(&standin, "the droplets, firewall and key destroyed");
    assert!(
        !p.state().join("digitalocean").join(&name).exists(),
        "the cluster's keys are removed from the state directory"
    );

    let log = op.log();
    assert!(!log.contains(standin.token()), "the token leaked into the operator's log");
    let v = standin.violations();
    assert!(v.is_empty(), "contract violations:\n{}", v.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_creation_then_restart_leaves_exactly_the_declared_droplets() {
    require_images();
    let standin = standin(Duration::from_secs(6)).await;
    let p = Project::new();
    let name = unique("dok");
    // This time the token comes from a file and the login key from the spec: nothing is
    // registered with DigitalOcean, the key goes to the droplets in user_data.
    std::fs::write(p.root().join("do-token"), format!("{}\n", standin.token())).expect("token file");
    let login = sparkswarm::runtime::digitalocean::provider::HostKey::generate().expect("a key");
    let key_file = p.root().join("login_ed25519");
    std::fs::write(&key_file, login.private_openssh()).expect("key file");
    std::fs::set_permissions(&key_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let yaml = do_cluster_yaml(&name, 2).replace("replicas: 2", "replicas: 1").replace(
        "tokenFrom: {env: DIGITALOCEAN_TOKEN}",
        "tokenFrom: {file: ../do-token}\n      sshKey: {privateKeyFile: ../login_ed25519}",
    );
    p.drop_manifest("cluster.yaml", &yaml);
    let mut op = start(&p, &standin);
    // Killed as soon as the first droplet exists: creation is under way, nothing booted.
    eventually(
        Duration::from_secs(60),
        "a droplet requested",
        || (!standin.droplets().is_empty()).then_some(()),
        || op.log(),
    );
    op.kill9();
    assert!(standin.droplets().len() <= 2);

    let op = start(&p, &standin);
    let mut most = 0;
    eventually(
        BOOT,
        "Ready on 2 droplets after the restart",
        || {
            most = most.max(standin.droplets().len());
            let n = nodes(&p, "cluster.yaml");
            (p.phase("cluster.yaml") == "Ready" && n.len() == 2 && n.iter().all(|x| x["state"] == "ready"))
                .then_some(())
        },
        || format!("{}\nhost errors {:?}\n{}", p.read("cluster.yaml"), standin.host_errors(), tail(&op.log(), 60)),
    );
    let droplets = standin.droplets();
    let mut names: Vec<String> = droplets.iter().map(|d| d.name.clone()).collect();
    names.sort();
    assert_eq!(
        names,
        [format!("sparkswarm-{name}-1"), format!("sparkswarm-{name}-2")],
        "exactly the declared droplets"
    );
    assert!(most <= 2, "at some point {most} droplets existed");
    assert_eq!(standin.ssh_key_count(), 0, "the spec's key is not registered");

    std::fs::remove_file(p.manifest("cluster.yaml")).expect("rm cluster");
    nothing_left(&standin, "the droplets destroyed");
    let v = standin.violations();
    assert!(v.is_empty(), "contract violations:\n{}", v.join("\n"));
}
