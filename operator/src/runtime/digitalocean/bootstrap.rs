//! Turning droplets into swarm nodes over SSH: the commands (pure, rendered here and
//! unit-tested) and running them with their exit status and stderr kept for the events.
//!
//! Every script is idempotent: the reconciler runs it again after any failure or restart,
//! and what is already done is skipped by the script itself (docker present, swarm active).

use crate::runtime::swarm::ssh::{self, ExecOutput, Session, SshLogin};

use super::error::DoError;

/// SSH's port on a droplet.
pub const SSH_PORT: u16 = 22;
/// DigitalOcean's images log in as root.
pub const SSH_USER: &str = "root";
/// How long a fresh droplet may take to accept SSH after DigitalOcean reports it active.
const CONNECT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Makes Docker run on a droplet: installed from Debian's packages when missing, told to
/// trust the cluster's registry on the manager (plain HTTP between the droplets, which the
/// cluster's firewall keeps to the cluster), and started with systemd, or directly where
/// there is no systemd. Prints nothing on success but the engine's version.
pub fn prepare_docker(registry: &str) -> String {
    let daemon_json = format!("{{\"insecure-registries\": [\"{registry}\"]}}");
    format!(
        r#"set -eu
if ! command -v dockerd >/dev/null 2>&1; then
  # First boot: cloud-init may still be installing packages; wait for it and for dpkg's lock.
  if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1 || true; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends docker.io >/dev/null
fi
mkdir -p /etc/docker
want='{daemon_json}'
changed=0
if [ "$(cat /etc/docker/daemon.json 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" > /etc/docker/daemon.json
  changed=1
fi
if [ -d /run/systemd/system ]; then
  if [ $changed = 1 ]; then systemctl restart docker; else systemctl enable --now docker >/dev/null 2>&1; fi
else
  if [ $changed = 1 ] && [ -f /var/run/docker.pid ]; then
    kill "$(cat /var/run/docker.pid)" 2>/dev/null || true
    for _ in $(seq 1 100); do [ -f /var/run/docker.pid ] || break; sleep 0.1; done
  fi
  if ! docker info >/dev/null 2>&1; then
    setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
  fi
fi
for _ in $(seq 1 600); do
  docker info >/dev/null 2>&1 && break
  sleep 0.1
done
docker version --format '{{{{.Server.Version}}}}'
"#
    )
}

/// `swarm init` on the manager unless it is one already, advertising `address`; prints the
/// worker join token.
pub fn init_manager(address: &str) -> String {
    format!(
        r#"set -eu
if [ "$(docker info --format '{{{{.Swarm.LocalNodeState}}}}')" != active ]; then
  docker swarm init --advertise-addr {address} --listen-addr 0.0.0.0:2377 >/dev/null
fi
docker swarm join-token -q worker
"#
    )
}

/// `swarm join` unless the node is in a swarm already. The token is a secret of the swarm:
/// it travels only inside the SSH channel and is blanked out of any error (see [`Node::run`]).
pub fn join_worker(token: &str, manager: &str) -> String {
    format!(
        r#"set -eu
if [ "$(docker info --format '{{{{.Swarm.LocalNodeState}}}}')" != active ]; then
  docker swarm join --token {token} {manager}:2377 >/dev/null
fi
"#
    )
}

/// Leaves the swarm (a node being removed); nothing when it is not in one.
pub const LEAVE: &str = "docker swarm leave --force >/dev/null 2>&1 || true";

/// The address this machine connects from, as the droplet sees it (for the firewall's SSH
/// rule): the first word of `$SSH_CLIENT`.
pub const CLIENT_ADDRESS: &str = "echo \"${SSH_CLIENT%% *}\"";

/// One SSH session to a droplet, verified against the cluster's known_hosts.
pub struct Node {
    pub name: String,
    pub address: String,
    session: Session,
}

impl Node {
    /// Connects, retrying for a while: a droplet reported active may still be starting
    /// sshd. A host key mismatch is never retried.
    pub async fn connect(name: &str, address: &str, login: &SshLogin) -> Result<Node, DoError> {
        let deadline = tokio::time::Instant::now() + CONNECT_PATIENCE;
        loop {
            match ssh::connect(SSH_USER, address, SSH_PORT, login).await {
                Ok(session) => return Ok(Node { name: name.to_string(), address: address.to_string(), session }),
                Err(crate::runtime::swarm::SwarmError::SshHostKeyNotTrusted(m)) => {
                    return Err(DoError::HostKey(format!("{name}: {m}")))
                }
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(DoError::SshFailed(format!("{name}: {e}")))
                }
                Err(e) => {
                    tracing::debug!(droplet = name, error = %e, "ssh not reachable yet");
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// Runs a script; a non-zero exit becomes [`DoError::BootstrapFailed`] with the step's
    /// name, the status and the end of stderr. `secret` (e.g. a join token) is blanked out
    /// of whatever is reported.
    pub async fn run(&self, step: &str, script: &str, secret: Option<&str>) -> Result<ExecOutput, DoError> {
        let out = ssh::exec(&self.session, script)
            .await
            .map_err(|e| DoError::SshFailed(format!("{}: {step}: {e}", self.name)))?;
        self.checked(step, out, secret)
    }

    /// Runs a script with `input` as its stdin (e.g. an image archive for `docker load`);
    /// failures as for [`Node::run`].
    pub async fn run_with_input<R>(&self, step: &str, script: &str, input: R) -> Result<ExecOutput, DoError>
    where
        R: tokio::io::AsyncRead + Unpin,
    {
        let out = ssh::exec_with_input(&self.session, script, input)
            .await
            .map_err(|e| DoError::SshFailed(format!("{}: {step}: {e}", self.name)))?;
        self.checked(step, out, None)
    }

    fn checked(&self, step: &str, out: ExecOutput, secret: Option<&str>) -> Result<ExecOutput, DoError> {
        if out.success() {
            return Ok(out);
        }
        let mut tail = out.tail(6);
        if let Some(s) = secret.filter(|s| !s.is_empty()) {
            tail = tail.replace(s, "<redacted>");
        }
        Err(DoError::BootstrapFailed {
            node: self.name.clone(),
            step: step.to_string(),
            status: out.status.map_or_else(|| "no exit status (killed)".to_string(), |s| format!("exit status {s}")),
            stderr: tail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docker_script_trusts_exactly_the_cluster_registry() {
        let s = prepare_docker("10.0.0.2:5000");
        assert!(s.contains(r#"want='{"insecure-registries": ["10.0.0.2:5000"]}'"#), "{s}");
        assert!(s.contains("install -y -qq --no-install-recommends docker.io"));
        // Go templates survive the format! escaping.
        assert!(s.contains("{{.Server.Version}}"), "{s}");
    }

    #[test]
    fn swarm_scripts_are_idempotent_and_address_the_manager() {
        let init = init_manager("203.0.113.7");
        assert!(init.contains("!= active"));
        assert!(init.contains("--advertise-addr 203.0.113.7"));
        assert!(init.contains("{{.Swarm.LocalNodeState}}"));
        let join = join_worker("SWMTKN-1-abc", "203.0.113.7");
        assert!(join.contains("!= active"));
        assert!(join.contains("--token SWMTKN-1-abc 203.0.113.7:2377"));
    }
}
