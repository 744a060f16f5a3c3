//! What can go wrong talking to a Docker engine. The variant names are the event and
//! condition reasons.

#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    /// The endpoint string cannot be used.
    #[error("invalid endpoint {endpoint:?}: {message}")]
    InvalidEndpoint { endpoint: String, message: String },
    /// The SSH connection or authentication failed.
    #[error("ssh: {0}")]
    SshFailed(String),
    /// The manager's host key is not in known_hosts, or differs from it.
    #[error("ssh: {0}")]
    SshHostKeyNotTrusted(String),
    /// No answer from the engine (socket missing, connection refused, TLS failure).
    #[error("the Docker engine at {endpoint} is unreachable: {message}")]
    EngineUnreachable { endpoint: String, message: String },
    /// The engine answers but is not a swarm manager (and `init` is false).
    #[error("the Docker engine at {endpoint} is not a swarm manager (swarm state {state}); set provider.swarm.init: true or run `docker swarm init`")]
    NotSwarmManager { endpoint: String, state: String },
    #[error("docker swarm init failed: {0}")]
    SwarmInitFailed(String),
    /// The Spark (or registry) image is not on the engine and cannot be built here.
    #[error("{0}")]
    ImageMissing(String),
    #[error("building the image failed: {0}")]
    ImageBuildFailed(String),
    #[error("pushing to the cluster's registry failed: {0}")]
    RegistryPushFailed(String),
    /// A Docker API call failed.
    #[error("{what}: {source}")]
    DockerApi {
        what: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("{0}")]
    InvalidSpec(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing the state directory failed.
    #[error("{0}")]
    StateDir(String),
    /// The cluster of a job is not known to this runtime (its file never reached it).
    #[error("no swarm cluster named {0:?} is known to this operator")]
    UnknownCluster(String),
}

impl SwarmError {
    pub fn reason(&self) -> &'static str {
        match self {
            SwarmError::InvalidEndpoint { .. } => "InvalidEndpoint",
            SwarmError::SshFailed(_) => "SshFailed",
            SwarmError::SshHostKeyNotTrusted(_) => "SshHostKeyNotTrusted",
            SwarmError::EngineUnreachable { .. } => "EngineUnreachable",
            SwarmError::NotSwarmManager { .. } => "NotSwarmManager",
            SwarmError::SwarmInitFailed(_) => "SwarmInitFailed",
            SwarmError::ImageMissing(_) => "ImageMissing",
            SwarmError::ImageBuildFailed(_) => "ImageBuildFailed",
            SwarmError::RegistryPushFailed(_) => "RegistryPushFailed",
            SwarmError::DockerApi { .. } => "DockerApiError",
            SwarmError::InvalidSpec(_) => "InvalidSpec",
            SwarmError::Io { .. } => "IoError",
            SwarmError::UnknownCluster(_) => "UnknownCluster",
            SwarmError::StateDir(_) => "StateError",
        }
    }

    pub fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> SwarmError {
        let what = what.into();
        move |source| SwarmError::DockerApi { what, source }
    }

    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SwarmError {
        let what = what.into();
        move |source| SwarmError::Io { what, source }
    }
}

/// A 404 from the engine: the object is not there (which deletion and lookups expect).
pub fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// A 409: already exists / in use.
pub fn is_conflict(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 409, .. })
}
