//! A cluster's Docker volumes on every node of the swarm. Docker creates a named volume (the
//! data volume, a spec's named `volumes`) on each node where a task first mounts it, and the
//! manager's volume API sees only the manager's own: the others are removed by a one-shot
//! `global-job` on every node, which asks its node's engine, through the node's Docker
//! socket, to remove the volumes labelled for the cluster and this operator, retrying while
//! the last containers there still stop.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    Mount, MountType, ServiceSpec, ServiceSpecMode, TaskSpec, TaskSpecContainerSpec, TaskSpecPlacement,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use bollard::Docker;

use super::error::SwarmError;
use super::labels;

/// The node's engine, as every Docker install has it.
const DOCKER_SOCKET: &str = "/var/run/docker.sock";
/// How long the job on a node retries removing a volume still in use.
const IN_USE_SECS: u64 = 60;
/// The wait for every node's job to end.
const TIMEOUT: Duration = Duration::from_secs(IN_USE_SECS + 60);

/// Lists the volumes matching the filters in `argv[1]` (Docker's JSON form) on this node's
/// engine and removes them; retried for `argv[2]` seconds while one is in use (409).
const REAPER_PY: &str = r#"import http.client, json, socket, sys, time, urllib.parse
class Engine(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sys.argv[3])
def call(method, path):
    c = Engine("localhost", timeout=30)
    c.request(method, path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body
query = "/volumes?filters=" + urllib.parse.quote(sys.argv[1])
deadline = time.time() + float(sys.argv[2])
while True:
    status, body = call("GET", query)
    if status != 200:
        sys.exit("listing volumes: %d %s" % (status, body[:300]))
    names = [v["Name"] for v in json.loads(body).get("Volumes") or []]
    if not names:
        break
    for n in names:
        status, body = call("DELETE", "/volumes/" + urllib.parse.quote(n, safe=""))
        if status not in (204, 404, 409):
            sys.exit("removing %s: %d %s" % (n, status, body[:300]))
    if time.time() > deadline:
        sys.exit("still in use after %ss: %s" % (sys.argv[2], ", ".join(names)))
    time.sleep(0.5)
"#;

/// The nodes whose volumes the manager's own API cannot remove: every ready node but the
/// manager itself. None when there is none (a single-node swarm needs no job).
pub fn nodes_to_reap(others: &[String]) -> Option<usize> {
    (!others.is_empty()).then_some(others.len())
}

/// The one-shot job, once on every node that matches the placement `constraint`.
pub fn spec(cluster: &str, owner: &str, image: &str, constraint: &str) -> ServiceSpec {
    let filter = labels::filter(&[(labels::CLUSTER, cluster), (labels::OWNER, owner)]);
    let filter_json = serde_json::to_string(&filter).unwrap_or_default();
    let l = labels::base(cluster, owner, "reaper");
    ServiceSpec {
        name: Some(format!("sparkswarm-{cluster}-reap")),
        labels: Some(l.clone()),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.to_string()),
                labels: Some(l),
                // Through the image's entrypoint, which executes anything that is not a role.
                args: Some(vec![
                    "python3".into(),
                    "-c".into(),
                    REAPER_PY.into(),
                    filter_json,
                    IN_USE_SECS.to_string(),
                    DOCKER_SOCKET.into(),
                ]),
                user: Some("0".into()),
                mounts: Some(vec![Mount {
                    target: Some(DOCKER_SOCKET.into()),
                    source: Some(DOCKER_SOCKET.into()),
                    typ: Some(MountType::BIND),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            placement: Some(TaskSpecPlacement {
                constraints: Some(vec![constraint.to_string()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode { global_job: Some(HashMap::new()), ..Default::default() }),
        ..Default::default()
    }
}

/// Removes the cluster's volumes on every node other than the manager's; returns once each
/// node's job ended.
pub async fn reap_other_nodes(docker: &Docker, cluster: &str, owner: &str, image: &str) -> Result<(), SwarmError> {
    let info = docker.info().await.map_err(SwarmError::api("inspecting the engine"))?;
    let Some(manager) = info.swarm.and_then(|s| s.node_id).filter(|id| !id.is_empty()) else { return Ok(()) };
    let others = super::stage::other_nodes(docker, &manager).await?;
    let Some(nodes) = nodes_to_reap(&others) else { return Ok(()) };
    reap(docker, spec(cluster, owner, image, &format!("node.id!={manager}")), nodes).await
}

/// Runs the job `spec` until it ended on each of `nodes` nodes.
pub async fn reap(docker: &Docker, spec: ServiceSpec, nodes: usize) -> Result<(), SwarmError> {
    super::stage::run_global_job(docker, spec, nodes, TIMEOUT).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_on_every_other_node_removes_the_clusters_volumes_through_its_engine() {
        assert_eq!(nodes_to_reap(&[]), None, "a single-node swarm: the manager's API removes them");
        assert_eq!(nodes_to_reap(&["n2".into(), "n3".into()]), Some(2));
        let s = spec("demo", "o1", "img", "node.id!=n1");
        assert!(s.mode.as_ref().is_some_and(|m| m.global_job.is_some()), "once per node");
        let task = s.task_template.expect("task");
        assert_eq!(task.placement.and_then(|p| p.constraints), Some(vec!["node.id!=n1".to_string()]));
        assert_eq!(
            task.restart_policy.and_then(|r| r.condition),
            Some(TaskSpecRestartPolicyConditionEnum::NONE),
            "one shot"
        );
        let c = task.container_spec.expect("container");
        let mounts = c.mounts.expect("mounts");
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].source.as_deref(), Some(DOCKER_SOCKET));
        assert_eq!(mounts[0].typ, Some(MountType::BIND));
        let args = c.args.expect("args");
        let filter: HashMap<String, Vec<String>> = serde_json::from_str(&args[3]).expect("filters as JSON");
        let mut want = vec![format!("{}=demo", labels::CLUSTER), format!("{}=o1", labels::OWNER)];
        want.sort();
        let mut got = filter["label"].clone();
        got.sort();
        assert_eq!(got, want, "only the cluster's volumes, only this operator's");
        assert_eq!(args[5], DOCKER_SOCKET);
    }
}
