//! The DigitalOcean stand-in with its container backend (`Config::hosts`): droplets are
//! containers on the local Docker engine, running sshd with the host key their `user_data`
//! carries and their own Docker engine, reached over SSH as the operator's bootstrap would.
//! Needs Docker and the image sparkswarm/test-droplet:1
//! (tests/do_standin/droplet/build-offline.sh); fails without them.

mod do_standin;

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use do_standin::{Config, HostsConfig, Standin};
use sparkswarm::runtime::digitalocean::provider::{cluster_tag, creation_request, DropletTemplate, HostKey};
use sparkswarm::runtime::digitalocean::types::*;
use sparkswarm::runtime::digitalocean::Client;

fn client_for(standin: &Standin) -> Client {
    standin.client(standin.token())
}

/// Polls `check` until it gives a value, or fails the test after `deadline`.
async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) if start.elapsed() >= deadline => panic!("{what}: not after {deadline:?}; last: {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// An SSH identity file (0600) holding the private half of `key`.
fn identity(dir: &Path, name: &str, key: &HostKey) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, key.private_openssh()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn known_hosts(dir: &Path, name: &str, line: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{line}\n")).unwrap();
    path
}

/// `ssh root@address command`, verifying the host key against `known_hosts` only.
async fn ssh(identity: &Path, known_hosts: &Path, address: &str, command: &str) -> std::process::Output {
    tokio::process::Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=5",
        ])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .arg("-i")
        .arg(identity)
        .arg(format!("root@{address}"))
        .arg(command)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("running ssh")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}; stdout: {}; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

fn docker(args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("docker").args(args).output().map_err(|e| format!("docker: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

fn assert_clean(standin: &Standin) {
    let v = standin.violations();
    assert!(v.is_empty(), "contract violations:\n{}", v.join("\n"));
    let e = standin.host_errors();
    assert!(e.is_empty(), "container backend errors:\n{}", e.join("\n"));
}

/// Two droplets created through the API are `new`, then `active` at their container's
/// address; SSH reaches them as root with the login key of `user_data` and with a registered
/// key (named by id, and by fingerprint), verifying the host key `user_data` installed (a
/// different key in known_hosts fails), and finds Docker there. Deleting by tag removes
/// the containers; dropping the stand-in removes its network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn droplets_are_hosts_reached_over_ssh_with_their_planned_host_key() {
    let boot_delay = Duration::from_secs(2);
    let standin = Standin::start(Config { boot_delay, hosts: Some(HostsConfig::default()), ..Config::default() }).await;
    let client = client_for(&standin);
    let dir = tempfile::tempdir().unwrap();

    // The operator's login key goes through user_data; another key is registered with the
    // account and named in the creation request.
    let login = HostKey::generate().unwrap();
    let registered = HostKey::generate().unwrap();
    let stranger = HostKey::generate().unwrap();
    let key = client
        .create_ssh_key(&CreateSshKey { name: "my-laptop".into(), public_key: registered.public_openssh.clone() })
        .await
        .unwrap();
    let template = DropletTemplate {
        region: "nyc3".into(),
        size: "s-2vcpu-4gb".into(),
        image: "debian-12-x64".into(),
        ssh_keys: vec![SshKeyRef::Id(key.id)],
        login_public_keys: vec![login.public_openssh.clone()],
    };
    let tag = cluster_tag("hosts");
    let host_keys = [HostKey::generate().unwrap(), HostKey::generate().unwrap()];
    let mut requests: Vec<CreateDroplets> = host_keys
        .iter()
        .enumerate()
        .map(|(i, hk)| creation_request("hosts", &format!("sparkswarm-hosts-{}", i + 1), &template, hk))
        .collect();
    requests[1].ssh_keys = vec![SshKeyRef::Fingerprint(key.fingerprint.clone())];

    let created_at = Instant::now();
    let created = futures::future::try_join_all(requests.iter().map(|r| client.create_droplets(r))).await.unwrap();
    let ids: Vec<u64> = created.iter().map(|(d, _)| d[0].id).collect();
    assert!(created.iter().all(|(d, _)| d[0].status == "new" && d[0].public_ipv4().is_none()), "{created:?}");
    let booting = client.list_droplets_by_tag(&tag).await.unwrap();
    assert_eq!(booting.len(), 2);
    assert!(
        booting.iter().all(|d| d.status == "new" && d.public_ipv4().is_none()),
        "active before boot_delay: {booting:?}"
    );

    let active = eventually("two active droplets with an address", Duration::from_secs(60), || async {
        let droplets = client.list_droplets_by_tag(&tag).await.map_err(|e| e.to_string())?;
        if droplets.len() == 2 && droplets.iter().all(|d| d.is_active() && d.public_ipv4().is_some()) {
            Ok(droplets)
        } else {
            Err(format!("{droplets:?}; errors: {:?}", standin.host_errors()))
        }
    })
    .await;
    let active_after = created_at.elapsed();
    assert!(active_after >= boot_delay, "active after {active_after:?}");

    // The address is the container's on the stand-in's network.
    let mut containers = standin.containers();
    containers.sort();
    assert_eq!(containers.len(), 2, "{containers:?}");
    for (i, id) in ids.iter().enumerate() {
        let droplet = active.iter().find(|d| d.id == *id).unwrap();
        let container = containers
            .iter()
            .find(|c| c.ends_with(&format!("-{id}")))
            .unwrap_or_else(|| panic!("no container for droplet {id}: {containers:?}"));
        let format = format!("{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}", standin.network());
        assert_eq!(
            docker(&["inspect", "--format", &format, container]).unwrap(),
            droplet.public_ipv4().unwrap().to_string()
        );
        assert_eq!(droplet.name, format!("sparkswarm-hosts-{}", i + 1));
    }
    assert_eq!(
        client.get_droplet(ids[0]).await.unwrap().public_ipv4(),
        active.iter().find(|d| d.id == ids[0]).unwrap().public_ipv4()
    );

    let login_file = identity(dir.path(), "login", &login);
    let registered_file = identity(dir.path(), "registered", &registered);
    let stranger_file = identity(dir.path(), "stranger", &stranger);
    let mut reachable_after = Duration::ZERO;
    for (i, id) in ids.iter().enumerate() {
        let droplet = active.iter().find(|d| d.id == *id).unwrap();
        let address = droplet.public_ipv4().unwrap().to_string();
        let kh = known_hosts(dir.path(), &format!("known_hosts-{i}"), &host_keys[i].known_hosts_line(&address, 22));
        eventually(&format!("ssh to {} at {address}", droplet.name), Duration::from_secs(30), || async {
            let out = ssh(&login_file, &kh, &address, "true").await;
            if out.status.success() {
                Ok(())
            } else {
                Err(text(&out))
            }
        })
        .await;
        if i == 0 {
            reachable_after = created_at.elapsed();
        }

        let out = ssh(&login_file, &kh, &address, "hostname; command -v dockerd; stat -c '%a %U %n' /root/.ssh /root/.ssh/authorized_keys /etc/ssh/ssh_host_ed25519_key").await;
        assert!(out.status.success(), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines,
            [
                droplet.name.as_str(),
                "/usr/sbin/dockerd",
                "700 root /root/.ssh",
                "600 root /root/.ssh/authorized_keys",
                "600 root /etc/ssh/ssh_host_ed25519_key"
            ],
            "{}",
            text(&out)
        );

        // The registered key, named by id (first droplet) or fingerprint (second).
        let out = ssh(&registered_file, &kh, &address, "true").await;
        assert!(out.status.success(), "the registered key: {}", text(&out));
        // A key nobody authorized is refused.
        let out = ssh(&stranger_file, &kh, &address, "true").await;
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
            "a stranger's key: {}",
            text(&out)
        );
        // The host presents the key of its user_data: another droplet's key does not verify.
        let other = known_hosts(
            dir.path(),
            &format!("known_hosts-other-{i}"),
            &host_keys[1 - i].known_hosts_line(&address, 22),
        );
        let out = ssh(&login_file, &other, &address, "true").await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("Host key verification failed"),
            "with another host key: {}",
            text(&out)
        );
    }
    eprintln!("droplets active {active_after:?} after creation (boot_delay {boot_delay:?}), the first one's sshd reached {reachable_after:?} after creation");

    // Name lookups fail at once (no resolver on an internal network) rather than after the
    // embedded DNS's timeouts, which would slow every image pull of the droplet's engine.
    let address = active[0].public_ipv4().unwrap().to_string();
    let i = ids.iter().position(|id| *id == active[0].id).unwrap();
    let kh = dir.path().join(format!("known_hosts-{i}"));
    let start = Instant::now();
    let out = ssh(&login_file, &kh, &address, "getent hosts registry-1.docker.io").await;
    assert_eq!(out.status.code(), Some(2), "the lookup: {}", text(&out));
    assert!(start.elapsed() < Duration::from_secs(5), "the failing lookup took {:?}", start.elapsed());

    assert!(client.delete_droplets_by_tag(&tag).await.unwrap());
    assert!(client.list_droplets_by_tag(&tag).await.unwrap().is_empty());
    eventually("the containers removed", Duration::from_secs(30), || async {
        let left = standin.containers();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{left:?}"))
        }
    })
    .await;
    assert_clean(&standin);

    let network = standin.network().to_string();
    assert!(docker(&["network", "inspect", &network]).is_ok());
    drop(standin);
    assert!(docker(&["network", "inspect", &network]).is_err(), "the network {network} outlived the stand-in");
}

/// A stand-in starting removes what a dead test process left; a droplet destroyed while it
/// boots never becomes active and its container goes; a stand-in dropped with a droplet
/// still running removes its container, the container's volume, and its network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftovers_and_droplets_destroyed_while_booting_are_removed() {
    // What a test process that died left behind: a container and a network with its pid.
    let dead_pid = {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    };
    let leftover = format!("sparkswarm-do-leftover-{}", std::process::id());
    let labels = ["--label", "io.sparkswarm.test=do-standin", "--label"];
    let owner = format!("io.sparkswarm.test.owner-pid={dead_pid}");
    let mut args = vec!["network", "create", "--internal"];
    args.extend(labels);
    args.extend([owner.as_str(), leftover.as_str()]);
    docker(&args).unwrap();
    let mut args = vec!["create", "--name", leftover.as_str(), "--network", leftover.as_str()];
    args.extend(labels);
    args.extend([owner.as_str(), "sparkswarm/test-droplet:1"]);
    docker(&args).unwrap();

    let standin = Standin::start(Config {
        boot_delay: Duration::from_secs(1),
        hosts: Some(HostsConfig::default()),
        ..Config::default()
    })
    .await;
    assert!(docker(&["container", "inspect", &leftover]).is_err(), "the dead process's container is still there");
    assert!(docker(&["network", "inspect", &leftover]).is_err(), "the dead process's network is still there");

    let client = client_for(&standin);
    let template = DropletTemplate {
        region: "nyc3".into(),
        size: "s-2vcpu-4gb".into(),
        image: "debian-12-x64".into(),
        ssh_keys: vec![],
        login_public_keys: vec![],
    };
    let tag = cluster_tag("leftovers");
    let mut ids = Vec::new();
    for name in ["sparkswarm-leftovers-1", "sparkswarm-leftovers-2"] {
        let (d, _) = client
            .create_droplets(&creation_request("leftovers", name, &template, &HostKey::generate().unwrap()))
            .await
            .unwrap();
        ids.push(d[0].id);
    }
    // The second goes before it booted.
    assert!(client.delete_droplet(ids[1]).await.unwrap());
    eventually("the first droplet active", Duration::from_secs(60), || async {
        let d = client.get_droplet(ids[0]).await.map_err(|e| e.to_string())?;
        if d.is_active() && d.public_ipv4().is_some() {
            Ok(())
        } else {
            Err(format!("{d:?}; errors: {:?}", standin.host_errors()))
        }
    })
    .await;
    assert_eq!(client.get_droplet(ids[1]).await.unwrap_err().reason(), "NotFound");
    let only = eventually("only the first droplet's container", Duration::from_secs(30), || async {
        let c = standin.containers();
        if c.len() == 1 && c[0].ends_with(&format!("-{}", ids[0])) {
            Ok(c[0].clone())
        } else {
            Err(format!("{c:?}"))
        }
    })
    .await;
    let droplets = client.list_droplets_by_tag(&tag).await.unwrap();
    assert_eq!(droplets.iter().map(|d| d.id).collect::<Vec<_>>(), [ids[0]]);
    // The droplet's engine keeps its data on an anonymous volume, which goes with it.
    let volume = docker(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{if eq .Destination \"/var/lib/docker\"}}{{.Name}}{{end}}{{end}}",
        &only,
    ])
    .unwrap();
    assert!(!volume.is_empty());
    assert_clean(&standin);

    let network = standin.network().to_string();
    drop(standin);
    assert!(docker(&["container", "inspect", &only]).is_err(), "{only} outlived the stand-in");
    assert!(docker(&["volume", "inspect", &volume]).is_err(), "the volume {volume} outlived the stand-in");
    assert!(docker(&["network", "inspect", &network]).is_err(), "the network {network} outlived the stand-in");
}

/// The operator's bootstrap on a droplet, through its own SSH layer: the host key is the
/// one planned for the droplet (a mismatch is refused), Docker comes up with the cluster's
/// registry trusted, and a failing command reports its step, exit status and stderr with
/// the swarm's join token blanked out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_commands_report_exit_status_and_stderr_and_verify_the_host_key() {
    use sparkswarm::runtime::digitalocean::bootstrap::{self, Node};
    use sparkswarm::runtime::digitalocean::keys::KeyStore;
    use sparkswarm::runtime::digitalocean::DoError;
    use sparkswarm::runtime::swarm::ssh::SshLogin;

    let standin = Standin::start(Config {
        boot_delay: Duration::from_millis(500),
        hosts: Some(HostsConfig::default()),
        ..Config::default()
    })
    .await;
    let client = client_for(&standin);
    let state = tempfile::tempdir().unwrap();
    let keys = KeyStore::new(state.path(), "boot");
    let (login_key, login_path) = keys.login_key().unwrap();
    let template = DropletTemplate {
        region: "fra1".into(),
        size: "s-2vcpu-4gb".into(),
        image: "debian-12-x64".into(),
        ssh_keys: vec![],
        login_public_keys: vec![login_key.public_openssh.clone()],
    };
    let name = "sparkswarm-boot-1";
    let host_key = keys.host_key(name).unwrap();
    client.create_droplets(&creation_request("boot", name, &template, &host_key)).await.unwrap();
    let droplet = eventually("the droplet active", Duration::from_secs(60), || async {
        let list = client.list_droplets_by_tag(&cluster_tag("boot")).await.map_err(|e| e.to_string())?;
        list.into_iter()
            .find(|d| d.is_active() && d.public_ipv4().is_some())
            .ok_or_else(|| format!("{:?}", standin.host_errors()))
    })
    .await;
    let address = droplet.public_ipv4().unwrap().to_string();
    let login = SshLogin {
        key: Some(login_path.clone()),
        known_hosts: keys.write_known_hosts(&[(address.clone(), 22, name.into())]).unwrap(),
    };

    // Another droplet's key in known_hosts: refused before anything runs.
    let other = HostKey::generate().unwrap();
    let wrong = SshLogin {
        key: Some(login_path),
        known_hosts: known_hosts(state.path(), "wrong_hosts", &other.known_hosts_line(&address, 22)),
    };
    match Node::connect(name, &address, &wrong).await {
        Err(DoError::HostKey(m)) => assert!(m.contains(name), "{m}"),
        Err(e) => panic!("expected a host key refusal, got {e}"),
        Ok(_) => panic!("connected to a host whose key is not the planned one"),
    }

    let node = Node::connect(name, &address, &login).await.expect("ssh to the droplet");
    let version = node
        .run("installing and starting Docker", &bootstrap::prepare_docker("10.9.8.7:5000"), None)
        .await
        .expect("docker up");
    assert!(version.stdout.trim().starts_with("20.10"), "{version:?}");
    let daemon = node.run("reading daemon.json", "cat /etc/docker/daemon.json", None).await.unwrap();
    assert_eq!(daemon.stdout.trim(), r#"{"insecure-registries": ["10.9.8.7:5000"]}"#);
    // Idempotent: a second run changes nothing and succeeds.
    node.run("installing and starting Docker", &bootstrap::prepare_docker("10.9.8.7:5000"), None).await.expect("again");

    let token = "SWMTKN-1-0000000000000000000000000000000000000000000000000-notatoken";
    let failed = node.run("docker swarm join", &bootstrap::join_worker(token, &address), Some(token)).await;
    match failed {
        Err(e @ DoError::BootstrapFailed { .. }) => {
            let text = e.to_string();
            assert_eq!(e.reason(), "BootstrapFailed");
            assert!(
                text.contains(name) && text.contains("docker swarm join") && text.contains("exit status 1"),
                "{text}"
            );
            assert!(!text.contains(token), "the join token leaked: {text}");
        }
        other => panic!("expected CommandFailed, got {other:?}"),
    }
    match node.run("a step", "echo progress; echo 'it broke' >&2; exit 3", None).await {
        Err(DoError::BootstrapFailed { step, status, stderr, .. }) => {
            assert_eq!((step.as_str(), status.as_str(), stderr.as_str()), ("a step", "exit status 3", "it broke"));
        }
        other => panic!("expected CommandFailed, got {other:?}"),
    }
    client.delete_droplets_by_tag(&cluster_tag("boot")).await.unwrap();
    eventually("the container removed", Duration::from_secs(60), || async {
        if standin.containers().is_empty() {
            Ok(())
        } else {
            Err(format!("{:?}", standin.containers()))
        }
    })
    .await;
    assert!(standin.violations().is_empty(), "{:?}", standin.violations());
}
