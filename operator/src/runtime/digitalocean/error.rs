//! Errors of the digitalocean runtime. Variant names are the event/condition reasons. No
//! variant ever holds the API token: the token lives only in [`super::Token`] and in the
//! Authorization header, which no error formats.

use std::fmt;

/// What DigitalOcean said when it refused a request: its error body `{id, message,
/// request_id}` plus the operation and the HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure {
    /// The contract's operationId, e.g. `droplets_create`.
    pub operation: &'static str,
    pub status: u16,
    pub id: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl ApiFailure {
    pub(crate) fn scrubbed(self, secret: &str) -> ApiFailure {
        ApiFailure {
            id: scrub(&self.id, secret),
            message: scrub(&self.message, secret),
            request_id: self.request_id.map(|r| scrub(&r, secret)),
            ..self
        }
    }
}

/// Shortest piece of the token worth hiding when a text was cut in the middle of it.
const MIN_SECRET_PIECE: usize = 4;

/// `text` without `secret`: every whole occurrence, and a piece of it at the end where the
/// text was cut short (an excerpt of a body).
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    if secret.len() < MIN_SECRET_PIECE {
        return text.to_string();
    }
    let mut out = text.replace(secret, "<redacted>");
    for cut in (MIN_SECRET_PIECE..secret.len()).rev() {
        let Some(piece) = secret.get(..cut) else { continue };
        if out.ends_with(piece) {
            out.truncate(out.len() - piece.len());
            out.push_str("<redacted>");
            break;
        }
    }
    out
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered {} {}: {}", self.operation, self.status, self.id, self.message)?;
        if let Some(rid) = &self.request_id {
            write!(f, " (request_id {rid})")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
pub enum DoError {
    #[error("DigitalOcean token: {0}")]
    TokenMissing(String),
    #[error("DigitalOcean token: {0}")]
    TokenInvalid(String),
    #[error("DigitalOcean API URL: {0}")]
    InvalidApiUrl(String),
    #[error("TLS setup: {0}")]
    TlsSetup(String),
    /// The request did not get an HTTP answer (connection, timeout), after the retries
    /// allowed for it.
    #[error("{operation}: {message}")]
    Transport { operation: &'static str, message: String },
    /// 401: the token is wrong or revoked.
    #[error("{0}")]
    Unauthorized(ApiFailure),
    #[error("{0}")]
    NotFound(ApiFailure),
    /// 429 after every retry allowed.
    #[error("{0}")]
    RateLimited(ApiFailure),
    /// 5xx after every retry allowed (or at once for requests that are unsafe to repeat).
    #[error("{0}")]
    ServerError(ApiFailure),
    /// Any other refusal (400, 403, 422, ...).
    #[error("{0}")]
    ApiError(ApiFailure),
    /// A 2xx whose body is not what the contract promises.
    #[error("{operation}: unexpected response: {message}")]
    UnexpectedResponse { operation: &'static str, message: String },
    /// A pagination link pointing away from the API's origin: following it would send the
    /// token to another host.
    #[error("{operation}: refusing to follow a page link to another origin ({link})")]
    ForeignPageLink { operation: &'static str, link: String },
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    HostKey(String),
    /// The key files under the state directory.
    #[error("{0}")]
    KeyStore(String),
    /// An SSH connection to a droplet failed (not a host key mismatch: that is `HostKey`).
    #[error("ssh: {0}")]
    SshFailed(String),
    /// A bootstrap command on a droplet exited non-zero.
    #[error("{node}: {step} failed with {status}: {stderr}")]
    BootstrapFailed { node: String, step: String, status: String, stderr: String },
    /// The Spark image could not be saved on this machine or loaded into a droplet.
    #[error("{0}")]
    ImageLoadFailed(String),
    /// The login key named by the spec cannot be used.
    #[error("{0}")]
    LoginKeyInvalid(String),
    /// Talking to the droplets' swarm (through the manager's engine) failed.
    #[error(transparent)]
    SwarmFailed(Box<crate::runtime::swarm::SwarmError>),
    /// The droplets are not what the cluster needs (no manager, no address).
    #[error("{0}")]
    NodesInvalid(String),
}

impl DoError {
    /// The CamelCase reason used for events and conditions: the variant name.
    pub fn reason(&self) -> &'static str {
        self.into()
    }

    /// Errors that another pass will not fix: the user has to change something.
    pub fn needs_user(&self) -> bool {
        matches!(
            self,
            DoError::TokenMissing(_)
                | DoError::TokenInvalid(_)
                | DoError::Unauthorized(_)
                | DoError::InvalidApiUrl(_)
                | DoError::LoginKeyInvalid(_)
        )
    }

    pub(crate) fn swarm(e: crate::runtime::swarm::SwarmError) -> DoError {
        DoError::SwarmFailed(Box::new(e))
    }

    /// The API's own failure, when DigitalOcean answered with an error.
    pub fn api_failure(&self) -> Option<&ApiFailure> {
        match self {
            DoError::Unauthorized(f)
            | DoError::NotFound(f)
            | DoError::RateLimited(f)
            | DoError::ServerError(f)
            | DoError::ApiError(f) => Some(f),
            _ => None,
        }
    }

    /// Prefixes the message of a token error with where the token came from.
    pub(crate) fn context(self, what: &str) -> DoError {
        match self {
            DoError::TokenMissing(m) => DoError::TokenMissing(format!("{what}: {m}")),
            DoError::TokenInvalid(m) => DoError::TokenInvalid(format!("{what}: {m}")),
            other => other,
        }
    }

    /// The error with every occurrence of `secret` (the API token) replaced: an API or a
    /// proxy may echo the Authorization header in an error body, and serde quotes values
    /// it cannot decode. Everything that comes back from the network passes through here.
    pub(crate) fn scrubbed(self, secret: &str) -> DoError {
        let s = |text: String| scrub(&text, secret);
        match self {
            DoError::TokenMissing(m) => DoError::TokenMissing(s(m)),
            DoError::TokenInvalid(m) => DoError::TokenInvalid(s(m)),
            DoError::InvalidApiUrl(m) => DoError::InvalidApiUrl(s(m)),
            DoError::TlsSetup(m) => DoError::TlsSetup(s(m)),
            DoError::Transport { operation, message } => DoError::Transport { operation, message: s(message) },
            DoError::Unauthorized(f) => DoError::Unauthorized(f.scrubbed(secret)),
            DoError::NotFound(f) => DoError::NotFound(f.scrubbed(secret)),
            DoError::RateLimited(f) => DoError::RateLimited(f.scrubbed(secret)),
            DoError::ServerError(f) => DoError::ServerError(f.scrubbed(secret)),
            DoError::ApiError(f) => DoError::ApiError(f.scrubbed(secret)),
            DoError::UnexpectedResponse { operation, message } => {
                DoError::UnexpectedResponse { operation, message: s(message) }
            }
            DoError::ForeignPageLink { operation, link } => DoError::ForeignPageLink { operation, link: s(link) },
            DoError::Timeout(m) => DoError::Timeout(s(m)),
            DoError::HostKey(m) => DoError::HostKey(s(m)),
            DoError::KeyStore(m) => DoError::KeyStore(s(m)),
            DoError::SshFailed(m) => DoError::SshFailed(s(m)),
            DoError::BootstrapFailed { node, step, status, stderr } => {
                DoError::BootstrapFailed { node: s(node), step: s(step), status: s(status), stderr: s(stderr) }
            }
            DoError::LoginKeyInvalid(m) => DoError::LoginKeyInvalid(s(m)),
            DoError::ImageLoadFailed(m) => DoError::ImageLoadFailed(s(m)),
            // Errors of the droplets' own engine never carry what the API answered.
            DoError::SwarmFailed(e) => DoError::SwarmFailed(e),
            DoError::NodesInvalid(m) => DoError::NodesInvalid(s(m)),
        }
    }

    pub(crate) fn from_status(failure: ApiFailure) -> DoError {
        match failure.status {
            401 => DoError::Unauthorized(failure),
            404 => DoError::NotFound(failure),
            429 => DoError::RateLimited(failure),
            500..=599 => DoError::ServerError(failure),
            _ => DoError::ApiError(failure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_scrubbed_whole_and_cut() {
        let t = "dop_v1_0123456789abcdef";
        assert_eq!(scrub(&format!("echo: Bearer {t} and {t}"), t), "echo: Bearer <redacted> and <redacted>");
        assert_eq!(scrub("excerpt ends with dop_v1_0123", t), "excerpt ends with <redacted>");
        assert_eq!(scrub("nothing here", t), "nothing here");
        let e = DoError::from_status(ApiFailure {
            operation: "account_get",
            status: 401,
            id: format!("unauthorized {t}"),
            message: format!("header was Authorization: Bearer {t}"),
            request_id: Some(t.to_string()),
        })
        .scrubbed(t);
        assert!(!format!("{e} {e:?}").contains("0123456789"), "{e}");
        let e = DoError::UnexpectedResponse { operation: "x", message: format!("invalid type: string \"{t}\"") };
        assert!(!e.scrubbed(t).to_string().contains(t));
    }
}
