//! The cluster's data volume: where a job's app and `files` live, so that the driver and
//! every executor see them at one absolute path.
//!
//! One named volume per cluster (`sparkswarm-<cluster>-data`), mounted at [`DATA_ROOT`] in
//! the worker services (the executors are their children) and in every driver. An attempt
//! owns the directory `DATA_ROOT/<submission id>`; its working dir is `.../work`, so a
//! relative path the driver resolves (`file:/sparkswarm/jobs/<id>/work/data/x.txt`) names
//! the same bytes in a worker container on the same node: a local-driver named volume is
//! one directory per node. The directory is removed when the attempt is cleaned up, the
//! volume with the cluster.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, MountVolumeOptions};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, WaitContainerOptions};
use bollard::Docker;
use futures::StreamExt;

use super::error::{is_not_found, SwarmError};
use super::labels;

/// Where the data volume is mounted in workers and drivers.
pub const DATA_ROOT: &str = "/sparkswarm/jobs";
/// A cleanup that takes longer than this is left to the cluster's deletion.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(60);

pub fn name(cluster: &str) -> String {
    format!("sparkswarm-{cluster}-data")
}

/// The mount of the cluster's data volume; the labels are applied when Docker creates the
/// volume on a node (on first use there), so that the cluster's deletion finds every copy.
pub fn mount(cluster: &str, owner: &str) -> Mount {
    Mount {
        target: Some(DATA_ROOT.into()),
        source: Some(name(cluster)),
        typ: Some(MountType::VOLUME),
        volume_options: Some(MountVolumeOptions {
            labels: Some(labels::base(cluster, owner, "data")),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The attempt's directory in the volume. The submission id is ours (a UUID), checked
/// anyway: it becomes a path and a shell word.
pub fn attempt_root(submission_id: &str) -> Result<String, SwarmError> {
    let ok = !submission_id.is_empty()
        && submission_id.len() <= 64
        && !submission_id.starts_with(['.', '-'])
        && submission_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(SwarmError::InvalidSpec(format!("unusable submission id {submission_id:?}")));
    }
    Ok(format!("{DATA_ROOT}/{submission_id}"))
}

/// Removes an attempt's directory from the volume on the node of `docker`: a one-shot
/// container (there is no archive call that deletes).
pub async fn remove_attempt_dir(
    docker: &Docker,
    image: &str,
    cluster: &str,
    owner: &str,
    submission_id: &str,
    l: &HashMap<String, String>,
) -> Result<(), SwarmError> {
    let root = attempt_root(submission_id)?;
    let mut hl = l.clone();
    hl.insert(labels::ROLE.into(), "files".into());
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        // Through the image's entrypoint, which executes anything that is not a role.
        cmd: Some(vec!["rm".into(), "-rf".into(), "--".into(), root]),
        user: Some("0".into()),
        labels: Some(hl),
        network_disabled: Some(true),
        host_config: Some(HostConfig { mounts: Some(vec![mount(cluster, owner)]), ..Default::default() }),
        ..Default::default()
    };
    let name = format!("{}-clean", labels::driver_service(cluster, submission_id));
    remove_container(docker, &name).await;
    let opts = CreateContainerOptionsBuilder::default().name(&name).build();
    let id =
        docker.create_container(Some(opts), body).await.map_err(SwarmError::api("creating the cleanup container"))?.id;
    let run = async {
        docker.start_container(&id, None).await.map_err(SwarmError::api("starting the cleanup container"))?;
        let mut wait = docker.wait_container(&id, None::<WaitContainerOptions>);
        match tokio::time::timeout(CLEANUP_TIMEOUT, wait.next()).await {
            Ok(Some(Ok(r))) if r.status_code == 0 => Ok(()),
            Ok(Some(Ok(r))) => {
                Err(SwarmError::InvalidSpec(format!("removing {submission_id}: exit {}", r.status_code)))
            }
            Ok(Some(Err(e))) => Err(SwarmError::DockerApiError { what: "waiting for the cleanup".into(), source: e }),
            Ok(None) | Err(_) => Err(SwarmError::InvalidSpec(format!("removing {submission_id}: no end in sight"))),
        }
    }
    .await;
    remove_container(docker, &id).await;
    run
}

async fn remove_container(docker: &Docker, id: &str) {
    let opts = RemoveContainerOptionsBuilder::default().force(true).build();
    if let Err(e) = docker.remove_container(id, Some(opts)).await {
        if !is_not_found(&e) {
            tracing::warn!(container = id, error = %e, "could not remove a helper container");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_dirs_are_plain_names_under_the_root() {
        assert_eq!(
            attempt_root("0f8e2c3a-1234-4bcd-9def-001122334455").expect("uuid"),
            "/sparkswarm/jobs/0f8e2c3a-1234-4bcd-9def-001122334455"
        );
        for bad in ["", "..", "a/b", "-rf", "a b", ".hidden"] {
            assert!(attempt_root(bad).is_err(), "{bad:?}");
        }
        let m = mount("demo", "owner1");
        assert_eq!(m.source.as_deref(), Some("sparkswarm-demo-data"));
        assert_eq!(m.target.as_deref(), Some(DATA_ROOT));
    }
}
