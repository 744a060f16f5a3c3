//! `ssh://user@host[:port]` endpoints: an SSH session (russh) to the manager whose host key
//! must be in known_hosts (never trusted blindly), and a local unix socket in the state
//! directory that bollard talks to; each connection to it becomes a `direct-streamlocal`
//! channel to the remote `/var/run/docker.sock`.
//!
//! Keys: `SPARKSWARM_SSH_KEY`, else the ssh-agent's (`SSH_AUTH_SOCK`), else the first of
//! `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
//! Known hosts: `SPARKSWARM_SSH_KNOWN_HOSTS` or `~/.ssh/known_hosts`. A cluster whose
//! hosts the operator made itself (digitalocean) brings its own [`SshLogin`] instead: its
//! generated login key and the known_hosts of the host keys it generated.
//!
//! [`connect`] and [`exec`] are also what the digitalocean runtime bootstraps droplets with.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use russh::client;
use russh::keys::{check_known_hosts_path, load_secret_key, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use sha2::Digest;

use super::error::SwarmError;

pub const KEY_ENV: &str = "SPARKSWARM_SSH_KEY";
pub const KNOWN_HOSTS_ENV: &str = "SPARKSWARM_SSH_KNOWN_HOSTS";
const REMOTE_DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// Checks the server's key against known_hosts and remembers why it refused one.
pub struct Verifier {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    refusal: Arc<Mutex<Option<String>>>,
}

impl Verifier {
    fn refuse(&self, why: String) -> Result<bool, russh::Error> {
        *self.refusal.lock() = Some(why);
        Ok(false)
    }
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let key = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                return self.refuse(format!(
                    "{}:{} offered a host certificate; only known_hosts keys are accepted",
                    self.host, self.port
                ))
            }
        };
        match check_known_hosts_path(&self.host, self.port, key, &self.known_hosts) {
            Ok(true) => Ok(true),
            Ok(false) => self.refuse(format!(
                "the host key of {}:{} ({}) is not in {}; add it (e.g. `ssh-keyscan -p {} {} >> {}` after checking its fingerprint)",
                self.host,
                self.port,
                key.fingerprint(Default::default()),
                self.known_hosts.display(),
                self.port,
                self.host,
                self.known_hosts.display()
            )),
            Err(e) => self.refuse(format!("the host key of {}:{} does not match {}: {e}", self.host, self.port, self.known_hosts.display())),
        }
    }
}

/// A live tunnel: dropping it stops accepting and closes the session.
pub struct Tunnel {
    pub socket: PathBuf,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

fn key_file() -> Result<PathBuf, SwarmError> {
    if let Some(k) = std::env::var_os(KEY_ENV) {
        return Ok(PathBuf::from(k));
    }
    let ssh = home()
        .map(|h| h.join(".ssh"))
        .ok_or_else(|| SwarmError::SshFailed("no home directory to find ~/.ssh in".into()))?;
    ["id_ed25519", "id_ecdsa", "id_rsa"].iter().map(|n| ssh.join(n)).find(|p| p.is_file()).ok_or_else(|| {
        SwarmError::SshFailed(format!(
            "no private key in {} (id_ed25519, id_ecdsa, id_rsa); set {KEY_ENV}",
            ssh.display()
        ))
    })
}

fn known_hosts() -> Result<PathBuf, SwarmError> {
    if let Some(k) = std::env::var_os(KNOWN_HOSTS_ENV) {
        return Ok(PathBuf::from(k));
    }
    home()
        .map(|h| h.join(".ssh").join("known_hosts"))
        .ok_or_else(|| SwarmError::SshFailed("no home directory for known_hosts".into()))
}

/// The key to log in with and the known_hosts file that the host's key must be in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SshLogin {
    /// None: the keys of the ssh-agent at `SSH_AUTH_SOCK`, then `~/.ssh`'s.
    pub key: Option<PathBuf>,
    pub known_hosts: PathBuf,
}

impl SshLogin {
    /// The user's own: `SPARKSWARM_SSH_KEY`, else the ssh-agent when one runs (as ssh
    /// itself prefers it), else the first key in `~/.ssh`.
    pub fn from_environment() -> Result<SshLogin, SwarmError> {
        let known_hosts = known_hosts()?;
        let key = match std::env::var_os(KEY_ENV) {
            Some(k) => Some(PathBuf::from(k)),
            None if std::env::var_os(AGENT_ENV).is_some() => None,
            None => Some(key_file()?),
        };
        Ok(SshLogin { key, known_hosts })
    }
}

const AGENT_ENV: &str = "SSH_AUTH_SOCK";

/// Offers each key the agent holds; true when one was accepted.
async fn authenticate_with_agent(
    session: &mut Session,
    user: &str,
    hash: Option<russh::keys::HashAlg>,
) -> Result<bool, String> {
    let mut agent = russh::keys::agent::client::AgentClient::connect_env()
        .await
        .map_err(|e| format!("the ssh-agent at ${AGENT_ENV}: {e}"))?;
    let identities = agent.request_identities().await.map_err(|e| format!("listing the ssh-agent's keys: {e}"))?;
    for identity in identities {
        let russh::keys::agent::AgentIdentity::PublicKey { key, .. } = identity else { continue };
        match session.authenticate_publickey_with(user, key, hash, &mut agent).await {
            Ok(r) if r.success() => return Ok(true),
            Ok(_) => {}
            Err(e) => return Err(format!("signing with the ssh-agent: {e:?}")),
        }
    }
    Ok(false)
}

pub type Session = client::Handle<Verifier>;

/// An SSH session, authenticated, to a host whose key is in `login.known_hosts`.
pub async fn connect(user: &str, host: &str, port: u16, login: &SshLogin) -> Result<Session, SwarmError> {
    let endpoint = format!("ssh://{user}@{host}:{port}");
    let fail = |what: &str, e: &dyn std::fmt::Display| SwarmError::SshFailed(format!("{endpoint}: {what}: {e}"));
    let refusal = Arc::new(Mutex::new(None));
    let verifier =
        Verifier { host: host.to_string(), port, known_hosts: login.known_hosts.clone(), refusal: refusal.clone() };
    let config = Arc::new(client::Config { nodelay: true, ..Default::default() });
    let mut session = match client::connect(config, (host, port), verifier).await {
        Ok(s) => s,
        Err(e) => {
            let refused = refusal.lock().clone();
            return Err(match refused {
                Some(why) => SwarmError::SshHostKeyNotTrusted(why),
                None => fail("connecting", &e),
            });
        }
    };
    let hash = session.best_supported_rsa_hash().await.map_err(|e| fail("negotiating", &e))?.flatten();
    let key_path = match &login.key {
        Some(path) => path.clone(),
        None => {
            let agent = authenticate_with_agent(&mut session, user, hash).await;
            match (agent, key_file()) {
                (Ok(true), _) => return Ok(session),
                // The agent had no key the server accepts: ~/.ssh's, as ssh would.
                (_, Ok(path)) => path,
                (Ok(false), Err(_)) => {
                    return Err(SwarmError::SshFailed(format!(
                        "{endpoint}: the server accepted none of the ssh-agent's keys"
                    )))
                }
                (Err(e), Err(_)) => return Err(SwarmError::SshFailed(format!("{endpoint}: {e}"))),
            }
        }
    };
    let key = load_secret_key(&key_path, None).map_err(|e| fail(&format!("loading {}", key_path.display()), &e))?;
    let auth = session
        .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
        .map_err(|e| fail("authenticating", &e))?;
    if !auth.success() {
        return Err(SwarmError::SshFailed(format!("{endpoint}: the server refused the key {}", key_path.display())));
    }
    Ok(session)
}

/// What a remote command did.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    /// None when the server sent no exit status (the command was killed by a signal).
    pub status: Option<u32>,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// The last lines of stderr (or stdout when stderr is empty), for an event.
    pub fn tail(&self, lines: usize) -> String {
        let text = if self.stderr.trim().is_empty() { &self.stdout } else { &self.stderr };
        let all: Vec<&str> = text.trim_end().lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Runs `command` through the remote user's shell and collects its exit status and output.
pub async fn exec(session: &Session, command: &str) -> Result<ExecOutput, SwarmError> {
    let fail = |e: russh::Error| SwarmError::SshFailed(format!("running a command: {e}"));
    let mut channel = session.channel_open_session().await.map_err(fail)?;
    channel.exec(true, command).await.map_err(fail)?;
    let (mut stdout, mut stderr, mut status) = (Vec::new(), Vec::new(), None);
    while let Some(msg) = channel.wait().await {
        match msg {
            russh::ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
            russh::ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
            russh::ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            _ => {}
        }
    }
    Ok(ExecOutput {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Runs `command` with `input` streamed to its stdin (then end of file), collecting its
/// exit status and output while the input is still being sent (so that a command that
/// writes while it reads cannot stall the transfer).
pub async fn exec_with_input<R>(session: &Session, command: &str, input: R) -> Result<ExecOutput, SwarmError>
where
    R: tokio::io::AsyncRead + Unpin,
{
    let fail = |e: russh::Error| SwarmError::SshFailed(format!("running a command: {e}"));
    let channel = session.channel_open_session().await.map_err(fail)?;
    channel.exec(true, command).await.map_err(fail)?;
    let (mut read, write) = channel.split();
    let send = async {
        write.data(input).await?;
        write.eof().await
    };
    let collect = async {
        let (mut stdout, mut stderr, mut status) = (Vec::new(), Vec::new(), None);
        while let Some(msg) = read.wait().await {
            match msg {
                russh::ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
                russh::ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
                russh::ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                _ => {}
            }
        }
        ExecOutput {
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    };
    let (sent, out) = tokio::join!(send, collect);
    // A command that exits before reading all of its input closes the channel under the
    // sender: its status and stderr say why, which is what the caller reports.
    match sent {
        Err(e) if out.status.is_none() => Err(fail(e)),
        _ => Ok(out),
    }
}

/// Opens the session and the local socket `<dir>/<hash>.sock`.
pub async fn open(
    user: Option<&str>,
    host: &str,
    port: u16,
    login: Option<&SshLogin>,
    dir: &Path,
) -> Result<Tunnel, SwarmError> {
    let user = user.map(str::to_string).or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "root".to_string());
    let endpoint = format!("ssh://{user}@{host}:{port}");
    let login = match login {
        Some(l) => l.clone(),
        None => SshLogin::from_environment()?,
    };
    let session = connect(&user, host, port, &login).await?;

    std::fs::create_dir_all(dir).map_err(SwarmError::io(format!("creating {}", dir.display())))?;
    let digest = sha2::Sha256::digest(endpoint.as_bytes());
    let socket = dir.join(format!("{}.sock", hex::encode(&digest[..6])));
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket)
        .map_err(SwarmError::io(format!("listening on {}", socket.display())))?;
    let session = Arc::new(session);
    let accept = tokio::spawn(async move {
        loop {
            let Ok((mut local, _)) = listener.accept().await else { break };
            let session = session.clone();
            tokio::spawn(async move {
                match session.channel_open_direct_streamlocal(REMOTE_DOCKER_SOCKET).await {
                    Ok(channel) => {
                        let mut remote = channel.into_stream();
                        // Ends when either side closes; errors only mean the peer went away.
                        let _ = tokio::io::copy_bidirectional(&mut local, &mut remote).await;
                    }
                    Err(e) => tracing::warn!(error = %e, "ssh: could not open a channel to the remote docker.sock"),
                }
            });
        }
    });
    tracing::info!(%endpoint, socket = %socket.display(), "ssh tunnel to the remote Docker socket is up");
    Ok(Tunnel { socket, accept })
}
