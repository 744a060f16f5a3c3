//! What can go wrong talking to a Docker engine. The variant names are the event and
//! condition reasons.

#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
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
    DockerApiError {
        what: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("{0}")]
    InvalidSpec(String),
    #[error("{what}: {source}")]
    IoError {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing the state directory failed.
    #[error("{0}")]
    StateError(String),
    /// The cluster of a job is not known to this runtime (its file never reached it).
    #[error("no swarm cluster named {0:?} is known to this operator")]
    UnknownCluster(String),
}

impl SwarmError {
    /// The CamelCase reason used for events and conditions: the variant name.
    pub fn reason(&self) -> &'static str {
        self.into()
    }

    /// Configuration problems need the user; the others may pass (an engine restarting).
    pub fn needs_user(&self) -> bool {
        matches!(
            self,
            SwarmError::NotSwarmManager { .. }
                | SwarmError::InvalidEndpoint { .. }
                | SwarmError::SshHostKeyNotTrusted(_)
                | SwarmError::ImageMissing(_)
                | SwarmError::ImageBuildFailed(_)
                | SwarmError::InvalidSpec(_)
                | SwarmError::SwarmInitFailed(_)
        )
    }

    /// Failures of the engine or the swarm itself also make `SwarmReady` False.
    pub fn condition_type(&self) -> Option<&'static str> {
        let swarm = matches!(
            self,
            SwarmError::NotSwarmManager { .. }
                | SwarmError::EngineUnreachable { .. }
                | SwarmError::InvalidEndpoint { .. }
                | SwarmError::SshFailed(_)
                | SwarmError::SshHostKeyNotTrusted(_)
                | SwarmError::SwarmInitFailed(_)
        );
        swarm.then_some("SwarmReady")
    }

    pub fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> SwarmError {
        let what = what.into();
        move |source| SwarmError::DockerApiError { what, source }
    }

    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SwarmError {
        let what = what.into();
        move |source| SwarmError::IoError { what, source }
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
