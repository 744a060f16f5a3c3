//! An attempt's files on the other nodes of a multi-node swarm: the data volume is one
//! directory per node, and the files were unpacked on the driver's node only.
//!
//! Per attempt with other nodes in the swarm: a source service on the driver's node serves
//! the attempt's directory as one tar stream over the cluster's overlay network, and a
//! one-shot `global-job` stager on every other node fetches it into that node's copy of
//! the volume, at the same path. Both services go when every stager has finished. The same
//! kind of `global-job` removes the directory on the other nodes when the attempt is
//! cleaned up. Nothing of it is kept anywhere but in the volume; the bytes travel once per
//! node, streamed (any size), all nodes in parallel.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    EndpointSpec, EndpointSpecModeEnum, NetworkAttachmentConfig, NodeSpecAvailabilityEnum, NodeState, ServiceSpec,
    ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec, TaskSpecContainerSpec, TaskSpecPlacement,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::Docker;

use super::cluster::tasks_of;
use super::data_volume;
use super::error::{is_not_found, SwarmError};
use super::labels;

const SOURCE_PORT: u16 = 8700;
/// Staging big inputs takes as long as the network needs; this only ends a stuck one.
const STAGE_TIMEOUT: Duration = Duration::from_secs(3600);
const CLEAN_TIMEOUT: Duration = Duration::from_secs(120);

/// Serves `argv[1]` as an uncompressed tar stream to every GET.
const SOURCE_PY: &str = r#"import http.server, sys, tarfile
root = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-tar")
        self.end_headers()
        with tarfile.open(fileobj=self.wfile, mode="w|") as t:
            t.add(root, arcname=".")
http.server.ThreadingHTTPServer(("", int(sys.argv[2])), H).serve_forever()
"#;

/// Fetches `argv[1]` into `argv[2]`; retried while the source's name does not resolve yet.
const STAGER_PY: &str = r#"import os, sys, tarfile, time, urllib.request
url, root = sys.argv[1], sys.argv[2]
deadline = time.time() + 300
while True:
    try:
        os.makedirs(root, exist_ok=True)
        with urllib.request.urlopen(url, timeout=60) as r, tarfile.open(fileobj=r, mode="r|") as t:
            t.extractall(root)
        break
    except OSError as e:
        if time.time() > deadline:
            raise
        print("waiting for the source:", e, file=sys.stderr)
        time.sleep(1)
"#;

/// The ready, active nodes other than `except`: where the files are missing.
pub async fn other_nodes(docker: &Docker, except: &str) -> Result<Vec<String>, SwarmError> {
    let nodes = docker
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .map_err(SwarmError::api("listing the swarm's nodes"))?;
    Ok(nodes
        .into_iter()
        .filter(|n| n.status.as_ref().and_then(|s| s.state) == Some(NodeState::READY))
        .filter(|n| {
            n.spec.as_ref().and_then(|s| s.availability).unwrap_or(NodeSpecAvailabilityEnum::ACTIVE)
                == NodeSpecAvailabilityEnum::ACTIVE
        })
        .filter_map(|n| n.id)
        .filter(|id| id != except)
        .collect())
}

/// What the stage and clean services have in common.
pub struct StageParams<'a> {
    pub cluster: &'a str,
    pub owner: &'a str,
    pub submission_id: &'a str,
    pub image: &'a str,
    /// The driver's node, which has the files.
    pub node_id: &'a str,
    pub labels: &'a HashMap<String, String>,
}

impl StageParams<'_> {
    fn base_name(&self) -> String {
        labels::driver_service(self.cluster, self.submission_id)
    }

    /// Suffixes of at most 4 characters keep the names within Docker's 63 (`MAX_SWARM_NAME`).
    fn service(&self, suffix: &str, args: Vec<String>, placement: String, mode: ServiceSpecMode) -> ServiceSpec {
        let mut l = self.labels.clone();
        l.insert(labels::ROLE.into(), "files".into());
        ServiceSpec {
            name: Some(format!("{}-{suffix}", self.base_name())),
            labels: Some(l.clone()),
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(self.image.to_string()),
                    labels: Some(l),
                    // Through the image's entrypoint, which executes anything that is not a role.
                    args: Some(args),
                    user: Some("0".into()),
                    mounts: Some(vec![data_volume::mount(self.cluster, self.owner)]),
                    ..Default::default()
                }),
                restart_policy: Some(TaskSpecRestartPolicy {
                    condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                    ..Default::default()
                }),
                placement: Some(TaskSpecPlacement { constraints: Some(vec![placement]), ..Default::default() }),
                networks: Some(vec![NetworkAttachmentConfig {
                    target: Some(labels::network(self.cluster)),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            mode: Some(mode),
            endpoint_spec: Some(EndpointSpec { mode: Some(EndpointSpecModeEnum::DNSRR), ..Default::default() }),
            ..Default::default()
        }
    }

    pub fn source_spec(&self) -> Result<ServiceSpec, SwarmError> {
        let root = data_volume::attempt_root(self.submission_id)?;
        let args = vec!["python3".into(), "-c".into(), SOURCE_PY.into(), root, SOURCE_PORT.to_string()];
        let mode =
            ServiceSpecMode { replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }), ..Default::default() };
        Ok(self.service("src", args, format!("node.id=={}", self.node_id), mode))
    }

    pub fn stager_spec(&self) -> Result<ServiceSpec, SwarmError> {
        let root = data_volume::attempt_root(self.submission_id)?;
        let url = format!("http://{}-src:{SOURCE_PORT}/", self.base_name());
        let args = vec!["python3".into(), "-c".into(), STAGER_PY.into(), url, root];
        Ok(self.service("stg", args, format!("node.id!={}", self.node_id), global_job()))
    }

    pub fn cleaner_spec(&self) -> Result<ServiceSpec, SwarmError> {
        let root = data_volume::attempt_root(self.submission_id)?;
        let args = vec!["rm".into(), "-rf".into(), "--".into(), root];
        Ok(self.service("cln", args, format!("node.id!={}", self.node_id), global_job()))
    }
}

fn global_job() -> ServiceSpecMode {
    ServiceSpecMode { global_job: Some(HashMap::new()), ..Default::default() }
}

/// Copies the attempt's files from the driver's node to every other node; returns once
/// each has them.
pub async fn stage(docker: &Docker, p: &StageParams<'_>, nodes: usize) -> Result<(), SwarmError> {
    let source = p.source_spec()?;
    let stager = p.stager_spec()?;
    let names: Vec<String> = [&source, &stager].iter().filter_map(|s| s.name.clone()).collect();
    let result = async {
        for spec in [source, stager.clone()] {
            create(docker, spec).await?;
        }
        wait_all_complete(docker, stager.name.as_deref().unwrap_or_default(), nodes, STAGE_TIMEOUT).await
    }
    .await;
    for n in &names {
        remove(docker, n).await;
    }
    result
}

/// Removes the attempt's directory on every node but the driver's.
pub async fn clean(docker: &Docker, p: &StageParams<'_>, nodes: usize) -> Result<(), SwarmError> {
    run_global_job(docker, p.cleaner_spec()?, nodes, CLEAN_TIMEOUT).await
}

/// Runs a one-shot `global-job` service until its task on each of `nodes` nodes completed,
/// then removes it.
pub(crate) async fn run_global_job(
    docker: &Docker,
    spec: ServiceSpec,
    nodes: usize,
    timeout: Duration,
) -> Result<(), SwarmError> {
    let name = spec.name.clone().unwrap_or_default();
    let result = async {
        create(docker, spec).await?;
        wait_all_complete(docker, &name, nodes, timeout).await
    }
    .await;
    remove(docker, &name).await;
    result
}

async fn create(docker: &Docker, spec: ServiceSpec) -> Result<(), SwarmError> {
    let name = spec.name.clone().unwrap_or_default();
    // Left over from an interrupted submission: start from a fresh one.
    remove(docker, &name).await;
    docker.create_service(spec, None).await.map_err(SwarmError::api(format!("creating the service {name}")))?;
    Ok(())
}

async fn remove(docker: &Docker, name: &str) {
    if let Err(e) = docker.delete_service(name).await {
        if !is_not_found(&e) {
            tracing::warn!(service = name, error = %e, "could not remove a files service");
        }
    }
}

/// Waits until `nodes` tasks of a global job completed; a failed one fails the wait.
async fn wait_all_complete(docker: &Docker, service: &str, nodes: usize, timeout: Duration) -> Result<(), SwarmError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let tasks = tasks_of(docker, service).await?;
        let mut complete = 0;
        for t in &tasks {
            let status = t.status.as_ref();
            match status.and_then(|s| s.state) {
                Some(TaskState::COMPLETE) => complete += 1,
                Some(TaskState::FAILED | TaskState::REJECTED) => {
                    let err = status.and_then(|s| s.err.clone()).unwrap_or_default();
                    return Err(SwarmError::InvalidSpec(format!("{service} failed on a node: {err}")));
                }
                _ => {}
            }
        }
        if complete >= nodes {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(SwarmError::InvalidSpec(format!(
                "{service}: {complete} of {nodes} nodes done after {timeout:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stager_runs_once_on_every_other_node_and_the_source_on_the_drivers() {
        let l = HashMap::from([(labels::SUBMISSION.to_string(), "sub-1".to_string())]);
        let p = StageParams {
            cluster: "demo",
            owner: "o",
            submission_id: "sub-1",
            image: "img",
            node_id: "n1",
            labels: &l,
        };
        let src = p.source_spec().expect("source");
        let stager = p.stager_spec().expect("stager");
        let constraint = |s: &ServiceSpec| {
            s.task_template.as_ref().and_then(|t| t.placement.as_ref()).and_then(|p| p.constraints.clone())
        };
        assert_eq!(constraint(&src), Some(vec!["node.id==n1".to_string()]));
        assert_eq!(constraint(&stager), Some(vec!["node.id!=n1".to_string()]));
        assert!(stager.mode.as_ref().is_some_and(|m| m.global_job.is_some()));
        let args = stager.task_template.and_then(|t| t.container_spec).and_then(|c| c.args).expect("args");
        assert_eq!(args[3], "http://sparkswarm-demo-job-sub1-src:8700/");
        assert_eq!(args[4], "/sparkswarm/jobs/sub-1");
        let clean = p.cleaner_spec().expect("cleaner");
        let args = clean.task_template.and_then(|t| t.container_spec).and_then(|c| c.args).expect("args");
        assert_eq!(args, vec!["rm", "-rf", "--", "/sparkswarm/jobs/sub-1"]);
    }
}
