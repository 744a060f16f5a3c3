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
