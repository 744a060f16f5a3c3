//! The swarm runtime against the real Docker engine of this machine, in Swarm mode: no
//! mocks. The engine must be reachable (these tests fail, never skip, when it is not); a
//! swarm is initialised for the test when the engine is not in one (and left afterwards),
//! and the images are built with `images/*/build-offline.sh` when missing.
//!
//! Everything a test creates carries its own cluster name and the owner label of its own
//! state directory; the guard removes what is left even when a test fails half-way.

mod common;
mod swarm_common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sparkswarm::api::cluster::{RegistrySpec, SwarmProvider};
use sparkswarm::api::quantity::Memory;
use sparkswarm::runtime::swarm::{ClusterTarget, SwarmRuntime};
use sparkswarm::runtime::{AttemptObservation, AttemptState, ClusterPlan, ClusterRuntime, JobRuntime, JobSubmission};
use swarm_common::{labelled, Engine, Sweeper};

const CLUSTER_UP: Duration = Duration::from_secs(240);
const JOB_DONE: Duration = Duration::from_secs(300);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn progress() -> Arc<dyn Fn(&str) + Send + Sync> {
    Arc::new(|line: &str| eprintln!("[swarm] {line}"))
}

async fn wait_ready(rt: &SwarmRuntime, name: &str, workers: u32) {
    let deadline = Instant::now() + CLUSTER_UP;
    loop {
        let seen = rt.observe_cluster(name).await.expect("observe");
        if seen.master_running && seen.workers_alive == workers && seen.workers_running == workers {
            return;
        }
        assert!(Instant::now() < deadline, "cluster {name} not ready with {workers} workers: {seen:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn wait_end(rt: &SwarmRuntime, dir: &Path) -> AttemptObservation {
    let deadline = Instant::now() + JOB_DONE;
    loop {
        let o = JobRuntime::observe(rt, dir).await.expect("observe").expect("an attempt");
        if !matches!(o.state, AttemptState::Running) {
            return o;
        }
        assert!(
            Instant::now() < deadline,
            "job in {} still running; log:\n{}",
            dir.display(),
            std::fs::read_to_string(dir.join("driver.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

const SIZE_APP: &str = r#"
import json, os, sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("size").getOrCreate()
path = sys.argv[1]
size = os.path.getsize(path)
lines = spark.sparkContext.parallelize(open(path).read().splitlines(), 4).count()
import helper
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"bytes": size, "lines": lines, "helper": helper.VALUE}, f)
os.makedirs(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "plots"), exist_ok=True)
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "plots", "p.txt"), "w") as f:
    f.write("plot")
spark.stop()
"#;

const FAIL_APP: &str = r#"
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("fails").getOrCreate()
spark.sparkContext.parallelize(range(10)).count()
raise ValueError("boom: the input has no rows")
"#;

fn submission(
    dir: &Path,
    cluster: &str,
    job: &str,
    main: PathBuf,
    args: Vec<String>,
    files: Vec<(PathBuf, String)>,
    py: Vec<PathBuf>,
) -> JobSubmission {
    JobSubmission {
        job: job.into(),
        cluster: cluster.into(),
        submission_id: uuid_like(),
        attempt: 1,
        master_url: format!("spark://sparkswarm-{cluster}-master:7077"),
        main_application_file: main,
        arguments: args,
        files,
        py_files: py,
        spark_conf: [("spark.sql.shuffle.partitions".to_string(), "4".to_string())].into_iter().collect(),
        env: vec![],
        secrets: vec![],
        deps: None,
        driver_cores: 1,
        driver_memory: Memory::new("512m"),
        executor_instances: 1,
        executor_cores: 1,
        executor_memory: Memory::new("512m"),
        attempt_dir: dir.to_path_buf(),
    }
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos:032x}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_runs_jobs_with_big_inputs_and_failures_and_leaves_nothing() {
    let _engine = Engine::require();
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    common::use_test_jvm_options();
    let rt = SwarmRuntime::new(state.clone(), progress());
    let _sweeper = Sweeper::owner(rt.owner());
    let name = format!("swrt{}", &uuid_like()[24..]);
    let web = free_port();
    let target = ClusterTarget::new(&name, &SwarmProvider::default(), None, &RegistrySpec::default());
    rt.configure(&target).expect("configure");
    let plan = ClusterPlan {
        name: name.clone(),
        workers: 2,
        worker_cores: 1,
        worker_memory: Memory::new("1g"),
        master_port: None,
        web_ui_port: Some(web),
        volumes: vec![],
    };
    let t = Instant::now();
    rt.apply(&plan).await.expect("apply");
    wait_ready(&rt, &name, 2).await;
    eprintln!("cluster ready in {:?}", t.elapsed());
    let seen = rt.observe_cluster(&name).await.expect("observe");
    assert_eq!(seen.applied.as_ref(), Some(&plan));
    assert_eq!(seen.spark_version.as_deref(), Some("4.0.1"));
    assert_eq!(ClusterRuntime::list(&rt).await.expect("list"), vec![name.clone()]);

    // A 50 MB input, a py-file and a nested destination.
    let apps = tmp.path().join("apps");
    std::fs::create_dir_all(&apps).expect("apps");
    std::fs::write(apps.join("main.py"), SIZE_APP).expect("app");
    std::fs::write(apps.join("helper.py"), "VALUE = 42\n").expect("helper");
    std::fs::write(apps.join("fail.py"), FAIL_APP).expect("app");
    let line = "0123456789,abcdefghij,0123456789,abcdefghij,0123456789,abcdefghi\n";
    let big = apps.join("big.csv");
    let n_lines = 50 * 1024 * 1024 / line.len() + 1;
    std::fs::write(&big, line.repeat(n_lines)).expect("big input");
    let size = std::fs::metadata(&big).expect("size").len();
    assert!(size >= 50 * 1024 * 1024);

    let dir = tmp.path().join("attempts/1");
    let sub = submission(
        &dir,
        &name,
        "size",
        apps.join("main.py"),
        vec!["data/in/big.csv".into()],
        vec![(big.clone(), "data/in/big.csv".into())],
        vec![apps.join("helper.py")],
    );
    let t = Instant::now();
    rt.submit(&sub).await.expect("submit");
    eprintln!("submitted (50 MB uploaded) in {:?}", t.elapsed());
    rt.submit(&sub).await.expect("a second submit is a no-op");
    let o = wait_end(&rt, &dir).await;
    eprintln!("job done in {:?}", t.elapsed());
    let log = std::fs::read_to_string(dir.join("driver.log")).unwrap_or_default();
    assert_eq!(o.state, AttemptState::Exited(0), "log:\n{log}");
    assert_eq!(o.results.get("bytes"), Some(&serde_json::json!(size)), "{:?}", o.results);
    assert_eq!(o.results.get("lines"), Some(&serde_json::json!(n_lines)));
    assert_eq!(o.results.get("helper"), Some(&serde_json::json!(42)));
    assert!(o.spark_application_id.as_deref().is_some_and(|a| a.starts_with("app-")), "{o:?}");
    assert_eq!(std::fs::read_to_string(dir.join("outputs/plots/p.txt")).ok().as_deref(), Some("plot"));
    let again = JobRuntime::observe(&rt, &dir).await.expect("observe").expect("some");
    assert_eq!(again.state, AttemptState::Exited(0), "the end is read from files once collected");

    let dir2 = tmp.path().join("attempts/2");
    let sub2 = submission(&dir2, &name, "fails", apps.join("fail.py"), vec![], vec![], vec![]);
    rt.submit(&sub2).await.expect("submit");
    let o = wait_end(&rt, &dir2).await;
    assert!(matches!(o.state, AttemptState::Exited(c) if c != 0), "{o:?}");
    assert_eq!(o.error_line.as_deref(), Some("ValueError: boom: the input has no rows"), "{o:?}");

    // A job killed while it runs.
    let dir3 = tmp.path().join("attempts/3");
    std::fs::write(
        apps.join("sleep.py"),
        "import time\nfrom pyspark.sql import SparkSession\nSparkSession.builder.getOrCreate()\ntime.sleep(600)\n",
    )
    .expect("app");
    let sub3 = submission(&dir3, &name, "sleeps", apps.join("sleep.py"), vec![], vec![], vec![]);
    rt.submit(&sub3).await.expect("submit");
    rt.kill(&dir3).await.expect("kill");
    let o = JobRuntime::observe(&rt, &dir3).await.expect("observe").expect("some");
    assert_eq!(o.state, AttemptState::Exited(143));

    rt.delete(&name).await.expect("delete");
    assert_eq!(labelled("sparkswarm.io/owner", rt.owner()), Vec::<String>::new(), "nothing labelled is left");
    assert!(ClusterRuntime::list(&rt).await.expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_registry_the_services_pull_the_image_from_it() {
    let _engine = Engine::require();
    let tmp = tempfile::tempdir().expect("tempdir");
    common::use_test_jvm_options();
    let rt = SwarmRuntime::new(tmp.path().join("state"), progress());
    let _sweeper = Sweeper::owner(rt.owner());
    let name = format!("swreg{}", &uuid_like()[24..]);
    let registry = RegistrySpec { enabled: true, port: free_port() };
    let target = ClusterTarget::new(&name, &SwarmProvider::default(), None, &registry);
    rt.configure(&target).expect("configure");
    let plan = ClusterPlan {
        name: name.clone(),
        workers: 1,
        worker_cores: 1,
        worker_memory: Memory::new("1g"),
        master_port: None,
        web_ui_port: Some(free_port()),
        volumes: vec![],
    };
    let t = Instant::now();
    rt.apply(&plan).await.expect("apply");
    eprintln!("registry started and the image pushed in {:?}", t.elapsed());
    wait_ready(&rt, &name, 1).await;
    let (_, detail) = rt.observe_detail(&name).await.expect("observe");
    assert!(detail.registry.as_ref().is_some_and(|r| r.running), "{detail:?}");
    let (_, image) = swarm_common::docker(&[
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        &format!("sparkswarm-{name}-worker"),
    ]);
    assert!(
        image.trim().starts_with(&format!("127.0.0.1:{}/sparkswarm/spark:4.0.1", registry.port)),
        "worker image {image}"
    );
    let (ok, catalog) = swarm_common::docker(&[
        "run",
        "--rm",
        "--network",
        "host",
        "--entrypoint",
        "python3",
        "sparkswarm/spark:4.0.1",
        "-c",
        &format!(
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{}/v2/_catalog').read().decode())",
            registry.port
        ),
    ]);
    assert!(ok && catalog.contains("sparkswarm/spark"), "the registry holds the image: {catalog}");

    let apps = tmp.path().join("apps");
    std::fs::create_dir_all(&apps).expect("apps");
    std::fs::write(apps.join("fail.py"), FAIL_APP).expect("app");
    let dir = tmp.path().join("attempts/1");
    rt.submit(&submission(&dir, &name, "fails", apps.join("fail.py"), vec![], vec![], vec![])).await.expect("submit");
    let o = wait_end(&rt, &dir).await;
    assert_eq!(
        o.error_line.as_deref(),
        Some("ValueError: boom: the input has no rows"),
        "the driver ran from the registry's image"
    );

    rt.delete(&name).await.expect("delete");
    assert_eq!(
        labelled("sparkswarm.io/owner", rt.owner()),
        Vec::<String>::new(),
        "nothing labelled is left (the registry volume neither)"
    );
}

/// An sshd of our own on a free loopback port, with throwaway host and user keys.
struct Sshd {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sshd {
    fn start() -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(sshd.exists(), "the ssh endpoint test needs an OpenSSH server (apt-get install openssh-server)");
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let keygen = |file: &str| {
            let ok = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(file))
                .status();
            assert!(ok.map(|s| s.success()).unwrap_or(false), "ssh-keygen");
        };
        keygen("host_key");
        keygen("user_key");
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).expect("authorized_keys");
        let port = free_port();
        let config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {0}/host_key\nAuthorizedKeysFile {0}/authorized_keys\nPidFile {0}/sshd.pid\nStrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nAllowStreamLocalForwarding yes\nUsePAM no\n",
            d.display()
        );
        std::fs::write(d.join("sshd_config"), config).expect("config");
        // Privilege separation needs this directory (normally made by the service unit).
        let _ = std::fs::create_dir_all("/run/sshd");
        let child = std::process::Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stderr(std::fs::File::create(d.join("sshd.log")).expect("log"))
            .spawn()
            .expect("start sshd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen: {}",
                std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Sshd { child, port, dir }
    }

    fn known_hosts_line(&self) -> String {
        let key = std::fs::read_to_string(self.dir.path().join("host_key.pub")).expect("host key");
        let mut parts = key.split_whitespace();
        format!("[127.0.0.1]:{} {} {}\n", self.port, parts.next().unwrap_or_default(), parts.next().unwrap_or_default())
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_endpoint_reaches_the_engine_through_a_verified_tunnel() {
    let _engine = Engine::require();
    let sshd = Sshd::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let known_hosts = tmp.path().join("known_hosts");
    std::fs::write(&known_hosts, "").expect("known_hosts");
    // Each test is its own process (nextest): the variables only concern this one.
    std::env::set_var("SPARKSWARM_SSH_KEY", sshd.dir.path().join("user_key"));
    std::env::set_var("SPARKSWARM_SSH_KNOWN_HOSTS", &known_hosts);
    common::use_test_jvm_options();
    let rt = SwarmRuntime::new(tmp.path().join("state"), progress());
    let _sweeper = Sweeper::owner(rt.owner());
    let name = format!("swssh{}", &uuid_like()[24..]);
    let provider = SwarmProvider { endpoint: format!("ssh://root@127.0.0.1:{}", sshd.port), init: false, tls: None };
    rt.configure(&ClusterTarget::new(&name, &provider, None, &RegistrySpec::default())).expect("configure");

    // An unknown host key is refused, with the reason.
    let err = rt.observe_detail(&name).await.expect_err("an unknown host key must be refused");
    assert_eq!(err.reason(), "SshHostKeyNotTrusted", "{err}");
    assert!(err.to_string().contains("is not in"), "{err}");

    // A different key for that host is refused too.
    let other = tempfile::tempdir().expect("tempdir");
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(other.path().join("k"))
        .status();
    assert!(ok.map(|s| s.success()).unwrap_or(false));
    let wrong = std::fs::read_to_string(other.path().join("k.pub")).expect("key");
    let mut w = wrong.split_whitespace();
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{} {} {}\n", sshd.port, w.next().unwrap_or_default(), w.next().unwrap_or_default()),
    )
    .expect("write");
    let err = rt.observe_detail(&name).await.expect_err("a changed host key must be refused");
    assert_eq!(err.reason(), "SshHostKeyNotTrusted", "{err}");

    // The right key: the engine answers through the tunnel, and a cluster comes up.
    std::fs::write(&known_hosts, sshd.known_hosts_line()).expect("write");
    let (_, detail) = rt.observe_detail(&name).await.expect("observe through ssh");
    assert!(detail.manager, "{detail:?}");
    let plan = ClusterPlan {
        name: name.clone(),
        workers: 1,
        worker_cores: 1,
        worker_memory: Memory::new("1g"),
        master_port: None,
        web_ui_port: Some(free_port()),
        volumes: vec![],
    };
    rt.apply(&plan).await.expect("apply through ssh");
    wait_ready(&rt, &name, 1).await;
    rt.delete(&name).await.expect("delete through ssh");
    assert_eq!(labelled("sparkswarm.io/owner", rt.owner()), Vec::<String>::new());
}

/// With no key named, the user's ssh-agent holds the key: the tunnel authenticates with it
/// (and `~/.ssh` holds none, so nothing else could have worked).
#[tokio::test]
async fn an_ssh_agent_key_opens_the_tunnel() {
    let _engine = Engine::require();
    let sshd = Sshd::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let socket = tmp.path().join("agent.sock");
    let agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent (openssh-client)");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _agent = Kill(agent);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not create {}", socket.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let added = std::process::Command::new("ssh-add")
        .arg(sshd.dir.path().join("user_key"))
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .expect("ssh-add");
    assert!(added.status.success(), "ssh-add: {}", String::from_utf8_lossy(&added.stderr));
    let known_hosts = tmp.path().join("known_hosts");
    std::fs::write(&known_hosts, sshd.known_hosts_line()).expect("known_hosts");
    // Each test is its own process (nextest): the variables only concern this one.
    std::env::remove_var("SPARKSWARM_SSH_KEY");
    std::env::set_var("HOME", tmp.path());
    std::env::set_var("SSH_AUTH_SOCK", &socket);
    std::env::set_var("SPARKSWARM_SSH_KNOWN_HOSTS", &known_hosts);
    common::use_test_jvm_options();
    let rt = SwarmRuntime::new(tmp.path().join("state"), progress());
    let name = format!("swagent{}", &uuid_like()[24..]);
    let provider = SwarmProvider { endpoint: format!("ssh://root@127.0.0.1:{}", sshd.port), init: false, tls: None };
    rt.configure(&ClusterTarget::new(&name, &provider, None, &RegistrySpec::default())).expect("configure");
    let (_, detail) = rt.observe_detail(&name).await.expect("observe through ssh with the agent's key");
    assert!(detail.manager, "{detail:?}");
    rt.delete(&name).await.expect("delete");
}

/// A mutual-TLS front for the engine's socket (socat), with a throwaway CA: the same
/// transport as a dockerd listening on tcp://...:2376 with --tlsverify.
struct TlsFront {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl TlsFront {
    fn start() -> TlsFront {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let sh = |script: &str| {
            let out = std::process::Command::new("sh").arg("-c").arg(script).current_dir(d).output().expect("sh");
            assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
        };
        sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca -keyout ca-key.pem -out ca.pem \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null");
        for (name, ext) in [
            ("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
            ("client", "extendedKeyUsage=clientAuth"),
        ] {
            std::fs::write(d.join(format!("{name}.ext")), format!("basicConstraints=CA:FALSE\n{ext}\n")).expect("ext");
            sh(&format!(
                "openssl req -newkey rsa:2048 -nodes -subj /CN={name} -keyout {name}-key.pem -out {name}.csr 2>/dev/null && \
                 openssl x509 -req -in {name}.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 1 -extfile {name}.ext -out {name}.pem 2>/dev/null"
            ));
        }
        // socat sets no session id context, which OpenSSL needs to resume a session whose
        // client was verified; rustls resumes from the second connection on. Without
        // tickets (and TLS 1.2, whose session cache is per forked child) every connection
        // is a full handshake, as a real dockerd would allow anyway.
        std::fs::write(
            d.join("openssl.cnf"),
            "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n[sys]\nOptions = -SessionTicket\n",
        )
        .expect("openssl.cnf");
        let port = free_port();
        let child = std::process::Command::new("socat")
            .env("OPENSSL_CONF", d.join("openssl.cnf"))
            .args(["-d", "-d"])
            .stderr(std::fs::File::create(d.join("socat.log")).expect("log"))
            .arg(format!(
                "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={0}/server.pem,key={0}/server-key.pem,cafile={0}/ca.pem,verify=1,openssl-max-proto-version=TLS1.2",
                d.display()
            ))
            .arg("UNIX-CONNECT:/var/run/docker.sock")
            .spawn()
            .expect("socat is needed for the TLS endpoint test (apt-get install socat)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "socat did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsFront { child, port, dir }
    }

    fn tls(&self, ca: &str) -> sparkswarm::api::cluster::TlsSpec {
        let d = self.dir.path();
        sparkswarm::api::cluster::TlsSpec {
            ca_file: d.join(ca),
            cert_file: d.join("client.pem"),
            key_file: d.join("client-key.pem"),
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_endpoint_with_tls_verifies_both_sides() {
    let _engine = Engine::require();
    let front = TlsFront::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    common::use_test_jvm_options();
    let rt = SwarmRuntime::new(tmp.path().join("state"), progress());
    let endpoint = format!("tcp://127.0.0.1:{}", front.port);

    // A server certificate from an unknown CA is refused.
    std::fs::copy(front.dir.path().join("client.pem"), front.dir.path().join("not-the-ca.pem")).expect("copy");
    let bad = SwarmProvider { endpoint: endpoint.clone(), init: false, tls: Some(front.tls("not-the-ca.pem")) };
    rt.configure(&ClusterTarget::new("tlsbad", &bad, None, &RegistrySpec::default())).expect("configure");
    let err = rt.observe_detail("tlsbad").await.expect_err("an unverified server must be refused");
    assert_eq!(err.reason(), "EngineUnreachable", "{err}");

    let good = SwarmProvider { endpoint, init: false, tls: Some(front.tls("ca.pem")) };
    rt.configure(&ClusterTarget::new("tlsgood", &good, None, &RegistrySpec::default())).expect("configure");
    let (seen, detail) = match rt.observe_detail("tlsgood").await {
        Ok(r) => r,
        Err(e) => panic!(
            "observe over TLS: {e:?}\nsocat:\n{}",
            std::fs::read_to_string(front.dir.path().join("socat.log")).unwrap_or_default()
        ),
    };
    assert!(detail.manager && detail.nodes_ready >= 1, "{detail:?}");
    assert!(!seen.exists);
}

/// The job that removes a cluster's volumes on the nodes the manager's API does not reach,
/// run here on this node (a single-node swarm has no other): it removes, through the
/// node's own engine, exactly the volumes labelled for the cluster and this owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_volume_reaper_removes_the_clusters_volumes_through_the_nodes_engine() {
    use sparkswarm::runtime::swarm::volume_reaper;
    let _engine = Engine::require();
    let owner = format!("reap{}", &uuid_like()[24..]);
    let _sweeper = Sweeper::owner(&owner);
    let cluster = format!("rp{}", &uuid_like()[26..]);
    let vol = |name: &str, labels: &[String]| {
        let mut args = vec!["volume".to_string(), "create".to_string()];
        for l in labels {
            args.extend(["--label".to_string(), l.clone()]);
        }
        args.push(name.to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out) = swarm_common::docker(&args);
        assert!(ok, "docker volume create: {out}");
    };
    let ours = [format!("sparkswarm.io/cluster={cluster}"), format!("sparkswarm.io/owner={owner}")];
    vol(&format!("sparkswarm-{cluster}-data"), &ours);
    vol(&format!("sparkswarm-{cluster}-vol-lake-0"), &ours);
    // Same cluster name, another operator's: not ours to remove.
    let theirs = format!("sparkswarm-{cluster}-other");
    vol(&theirs, &[format!("sparkswarm.io/cluster={cluster}"), "sparkswarm.io/owner=someone-else".into()]);
    let docker = bollard::Docker::connect_with_local_defaults().expect("the engine");
    let node = docker.info().await.expect("info").swarm.and_then(|s| s.node_id).expect("a swarm node");
    let image = "sparkswarm/spark:4.0.1";
    let t = Instant::now();
    let spec = volume_reaper::spec(&cluster, &owner, image, &format!("node.id=={node}"));
    volume_reaper::reap(&docker, spec, 1).await.expect("the job ran on the node");
    eprintln!("reaped in {:?}", t.elapsed());
    let volumes = |filter: String| swarm_common::docker(&["volume", "ls", "-q", "--filter", &filter]).1;
    assert_eq!(volumes(format!("label=sparkswarm.io/owner={owner}")).trim(), "", "the cluster's volumes are gone");
    assert_eq!(volumes(format!("name={theirs}")).trim(), theirs, "another owner's volume stays");
    swarm_common::docker(&["volume", "rm", &theirs]);
}
