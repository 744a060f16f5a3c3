//! The swarm's own view of its nodes, for a runtime that adds and removes them (the
//! digitalocean one): who is a member, who is ready, and the token to join.

use bollard::models::{NodeSpecAvailabilityEnum, NodeState};

use super::error::SwarmError;
use super::{ClusterTarget, SwarmRuntime};

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub hostname: String,
    pub ready: bool,
    pub manager: bool,
    /// `active`, `pause` or `drain`.
    pub availability: String,
}

/// The nodes the manager knows, through the target's endpoint.
pub async fn members(rt: &SwarmRuntime, target: &ClusterTarget) -> Result<Vec<Member>, SwarmError> {
    let docker = rt.client(target).await?;
    let nodes = docker
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .map_err(SwarmError::api("listing the swarm's nodes"))?;
    Ok(nodes
        .into_iter()
        .map(|n| Member {
            hostname: n.description.and_then(|d| d.hostname).unwrap_or_default(),
            ready: n.status.and_then(|s| s.state) == Some(NodeState::READY),
            manager: n.manager_status.is_some(),
            availability: n.spec.and_then(|s| s.availability).unwrap_or(NodeSpecAvailabilityEnum::ACTIVE).to_string(),
        })
        .collect())
}

/// The token a worker joins with.
pub async fn worker_join_token(rt: &SwarmRuntime, target: &ClusterTarget) -> Result<String, SwarmError> {
    let docker = rt.client(target).await?;
    let swarm = docker.inspect_swarm().await.map_err(SwarmError::api("inspecting the swarm"))?;
    swarm
        .join_tokens
        .and_then(|t| t.worker)
        .ok_or_else(|| SwarmError::SwarmInitFailed("the manager reports no worker join token".into()))
}
