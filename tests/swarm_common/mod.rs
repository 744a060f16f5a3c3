//! Shared by the swarm end-to-end tests: the engine in Swarm mode for the test (and as it
//! was afterwards), the images, and what is left labelled on the engine.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

pub fn docker(args: &[&str]) -> (bool, String) {
    match Command::new("docker").args(args).output() {
        Ok(o) => (
            o.status.success(),
            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        ),
        Err(e) => (false, format!("cannot run docker: {e}")),
    }
}

/// Makes the engine a swarm manager for the test and puts it back as it was.
pub struct Engine {
    initialised: bool,
    /// `swarm init` creates this bridge and `swarm leave` keeps it: removed when it was
    /// not there before.
    gwbridge_existed: bool,
}

impl Engine {
    pub fn require() -> Engine {
        Engine::prepare(true)
    }

    /// Like [`Engine::require`], but leaves `swarm init` to the operator (`init: true`):
    /// `initialised` then says whether the engine was in no swarm (and is left after).
    pub fn require_for_operator_init() -> Engine {
        Engine::prepare(false)
    }

    pub fn was_inactive(&self) -> bool {
        self.initialised
    }

    fn prepare(init: bool) -> Engine {
        let (ok, out) = docker(&["info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"]);
        assert!(ok, "the Docker engine is not reachable (docker info failed); these tests need it:\n{out}");
        let state = out.trim().to_string();
        let gwbridge_existed = docker(&["network", "inspect", "docker_gwbridge"]).0;
        let initialised = if state.starts_with("inactive") && !init {
            true
        } else if state.starts_with("inactive") {
            let (ok, out) = docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
            assert!(ok, "docker swarm init failed:\n{out}");
            true
        } else {
            assert!(
                state == "active true",
                "the engine is in a swarm but not a manager ({state}); run the tests on a manager"
            );
            false
        };
        for script in ["images/spark/build-offline.sh", "images/registry/build-offline.sh"] {
            let status = Command::new("bash").arg(repo_root().join(script)).status();
            assert!(status.map(|s| s.success()).unwrap_or(false), "{script} failed: the images are needed");
        }
        Engine { initialised, gwbridge_existed }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if self.initialised {
            let (ok, out) = docker(&["swarm", "leave", "--force"]);
            if !ok {
                eprintln!("could not leave the swarm this test initialised: {out}");
            }
            if !self.gwbridge_existed {
                docker(&["network", "rm", "docker_gwbridge"]);
            }
        }
    }
}

/// Everything with this label on the engine (services, containers, networks,
/// volumes), as `kind name` lines.
pub fn labelled(label: &str, value: &str) -> Vec<String> {
    let filter = format!("label={label}={value}");
    let mut found = Vec::new();
    for (kind, args) in [
        ("service", vec!["service", "ls", "-q", "--filter", &filter]),
        ("container", vec!["ps", "-aq", "--filter", &filter]),
        ("network", vec!["network", "ls", "-q", "--filter", &filter]),
        ("volume", vec!["volume", "ls", "-q", "--filter", &filter]),
        ("config", vec!["config", "ls", "-q", "--filter", &filter]),
    ] {
        let (_, out) = docker(&args);
        found.extend(out.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("{kind} {l}")));
    }
    found
}

/// Removes whatever a failed test left (by label).
pub struct Sweeper(String);

impl Sweeper {
    pub fn owner(owner: &str) -> Sweeper {
        Sweeper(format!("label=sparkswarm.io/owner={owner}"))
    }
    pub fn cluster(name: &str) -> Sweeper {
        Sweeper(format!("label=sparkswarm.io/cluster={name}"))
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        let filter = self.0.clone();
        let ids = |args: &[&str]| -> Vec<String> {
            docker(args).1.lines().map(str::to_string).filter(|l| !l.is_empty()).collect()
        };
        for id in ids(&["service", "ls", "-q", "--filter", &filter]) {
            docker(&["service", "rm", &id]);
        }
        for id in ids(&["ps", "-aq", "--filter", &filter]) {
            docker(&["rm", "-f", &id]);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let nets = ids(&["network", "ls", "-q", "--filter", &filter]);
            let vols = ids(&["volume", "ls", "-q", "--filter", &filter]);
            if nets.is_empty() && vols.is_empty() {
                break;
            }
            for n in nets {
                docker(&["network", "rm", &n]);
            }
            for v in vols {
                docker(&["volume", "rm", &v]);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}
