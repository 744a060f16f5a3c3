//! From `provider.swarm.endpoint` to a bollard client.
//!
//! - `unix:///path` (the default): the local engine's socket. When the spec keeps the
//!   default and `DOCKER_HOST` is set, `DOCKER_HOST` wins, as with the docker CLI.
//! - `tcp://host:port`: plain HTTP without `tls`, HTTPS with client certificates with it.
//! - `ssh://user@host[:port]`: through an SSH tunnel to the remote docker.sock (see `ssh`);
//!   [`connect_unix`] is then called with the tunnel's local socket.
//!
//! The client speaks the engine's API version (negotiated): bollard's default is newer
//! than many engines in the field (Debian 12's 20.10 speaks 1.41).

use std::path::PathBuf;

use bollard::{Docker, API_DEFAULT_VERSION};

use super::error::SwarmError;
use crate::api::cluster::TlsSpec;

/// The default of the API's `endpoint` field.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";
/// Seconds a single API request may take (pushing and building stream for longer: those
/// run with their own timeouts).
const REQUEST_TIMEOUT_SECS: u64 = 120;

#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp { host: String, port: u16, tls: Option<TlsSpec> },
    Ssh { user: Option<String>, host: String, port: u16 },
}

impl Endpoint {
    /// Where published ports of the manager are reached from this machine.
    pub fn published_host(&self) -> String {
        match self {
            Endpoint::Unix(_) => "127.0.0.1".into(),
            Endpoint::Tcp { host, .. } | Endpoint::Ssh { host, .. } => host.clone(),
        }
    }

    /// The address `swarm init` advertises: loopback for a local engine (a one-node swarm
    /// that needs no network), else the address we reach the engine at.
    pub fn advertise_addr(&self) -> String {
        self.published_host()
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Endpoint::Unix(_))
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
            Endpoint::Tcp { host, port, tls } => {
                write!(f, "tcp://{host}:{port}{}", if tls.is_some() { " (TLS)" } else { "" })
            }
            Endpoint::Ssh { user: Some(u), host, port } => write!(f, "ssh://{u}@{host}:{port}"),
            Endpoint::Ssh { user: None, host, port } => write!(f, "ssh://{host}:{port}"),
        }
    }
}

/// The endpoint to use for a spec value, honouring `DOCKER_HOST` for the default.
pub fn effective(spec_endpoint: &str) -> String {
    if spec_endpoint == DEFAULT_ENDPOINT {
        if let Ok(host) = std::env::var("DOCKER_HOST") {
            if !host.trim().is_empty() {
                return host.trim().to_string();
            }
        }
    }
    spec_endpoint.to_string()
}

fn invalid(endpoint: &str, message: impl Into<String>) -> SwarmError {
    SwarmError::InvalidEndpoint { endpoint: endpoint.to_string(), message: message.into() }
}

fn host_port(endpoint: &str, rest: &str, default_port: u16) -> Result<(String, u16), SwarmError> {
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') {
        return Err(invalid(endpoint, "expected host[:port]"));
    }
    // [v6]:port, host:port, host
    if let Some(v6) = rest.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| invalid(endpoint, "unclosed [ in the host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| invalid(endpoint, format!("invalid port {p:?}")))?,
            None if after.is_empty() => default_port,
            None => return Err(invalid(endpoint, "unexpected text after the host")),
        };
        return Ok((h.to_string(), port));
    }
    match rest.rsplit_once(':') {
        Some((h, p)) => {
            let port: u16 = p.parse().map_err(|_| invalid(endpoint, format!("invalid port {p:?}")))?;
            if h.is_empty() || port == 0 {
                return Err(invalid(endpoint, "expected host:port"));
            }
            Ok((h.to_string(), port))
        }
        None => Ok((rest.to_string(), default_port)),
    }
}

pub fn parse(endpoint: &str, tls: Option<&TlsSpec>) -> Result<Endpoint, SwarmError> {
    if let Some(path) = endpoint.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(invalid(endpoint, "a unix socket path must be absolute"));
        }
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    if let Some(rest) = endpoint.strip_prefix("tcp://") {
        let default_port = if tls.is_some() { 2376 } else { 2375 };
        let (host, port) = host_port(endpoint, rest, default_port)?;
        return Ok(Endpoint::Tcp { host, port, tls: tls.cloned() });
    }
    if let Some(rest) = endpoint.strip_prefix("ssh://") {
        let (user, hostport) = match rest.split_once('@') {
            Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
            Some(_) => return Err(invalid(endpoint, "empty user name")),
            None => (None, rest),
        };
        let (host, port) = host_port(endpoint, hostport, 22)?;
        return Ok(Endpoint::Ssh { user, host, port });
    }
    Err(invalid(endpoint, "expected unix://, tcp:// or ssh://"))
}

/// A client for the endpoint, speaking the engine's API version. Fails when the engine
/// does not answer.
pub async fn connect(ep: &Endpoint) -> Result<Docker, SwarmError> {
    let display = ep.to_string();
    let unreachable = |message: String| SwarmError::EngineUnreachable { endpoint: display.clone(), message };
    let docker = match ep {
        Endpoint::Unix(path) => {
            if !path.exists() {
                return Err(unreachable(format!("{} does not exist", path.display())));
            }
            Docker::connect_with_unix(&path.to_string_lossy(), REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
        Endpoint::Tcp { host, port, tls: None } => {
            Docker::connect_with_http(&format!("tcp://{host}:{port}"), REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
        Endpoint::Tcp { host, port, tls: Some(t) } => Docker::connect_with_ssl(
            &format!("tcp://{host}:{port}"),
            &t.key_file,
            &t.cert_file,
            &t.ca_file,
            REQUEST_TIMEOUT_SECS,
            API_DEFAULT_VERSION,
        ),
        Endpoint::Ssh { .. } => {
            return Err(SwarmError::SshFailed(format!(
                "{display}: connect through SwarmRuntime::client, which opens the tunnel"
            )))
        }
    }
    .map_err(|e| unreachable(e.to_string()))?;
    docker.negotiate_version().await.map_err(|e| unreachable(e.to_string()))
}

/// A client for a local socket (an SSH tunnel's), reported as the endpoint it stands for.
pub async fn connect_unix(socket: &std::path::Path, shown_as: &Endpoint) -> Result<Docker, SwarmError> {
    let unreachable = |message: String| SwarmError::EngineUnreachable { endpoint: shown_as.to_string(), message };
    let docker = Docker::connect_with_unix(&socket.to_string_lossy(), REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        .map_err(|e| unreachable(e.to_string()))?;
    docker.negotiate_version().await.map_err(|e| unreachable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            parse("unix:///var/run/docker.sock", None).ok(),
            Some(Endpoint::Unix("/var/run/docker.sock".into()))
        );
        assert!(parse("unix://relative.sock", None).is_err());
        assert_eq!(
            parse("tcp://10.0.0.1:2376", None).ok(),
            Some(Endpoint::Tcp { host: "10.0.0.1".into(), port: 2376, tls: None })
        );
        let tls = TlsSpec { ca_file: "ca".into(), cert_file: "c".into(), key_file: "k".into() };
        assert_eq!(
            parse("tcp://docker.example", Some(&tls)).ok(),
            Some(Endpoint::Tcp { host: "docker.example".into(), port: 2376, tls: Some(tls) })
        );
        assert_eq!(
            parse("ssh://me@host:2222", None).ok(),
            Some(Endpoint::Ssh { user: Some("me".into()), host: "host".into(), port: 2222 })
        );
        assert_eq!(parse("ssh://[::1]", None).ok(), Some(Endpoint::Ssh { user: None, host: "::1".into(), port: 22 }));
        assert!(parse("tcp://host:notaport", None).is_err());
        assert!(parse("tcp://host:0", None).is_err());
        assert!(parse("http://host", None).is_err());
        assert!(parse("ssh://@host", None).is_err());
    }

    #[test]
    fn published_ports_are_reached_on_the_manager() {
        assert_eq!(parse(DEFAULT_ENDPOINT, None).map(|e| e.published_host()).ok().as_deref(), Some("127.0.0.1"));
        assert_eq!(parse("tcp://m1:2375", None).map(|e| e.published_host()).ok().as_deref(), Some("m1"));
    }
}
