//! A cluster's `volumes` as the runtimes get them: part of the [`ClusterPlan`] (so that a
//! change re-applies the cluster), paths already resolved and confined, and the one place
//! that says how a volume is announced to a job (`SPARKSWARM_VOLUME_<NAME>`).
//!
//! [`ClusterPlan`]: super::ClusterPlan

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::api::cluster::VolumeSpec;

/// One volume of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumePlan {
    pub name: String,
    /// Where the master, the workers and the drivers see it (swarm, digitalocean).
    pub mount_path: String,
    pub source: VolumeSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VolumeSource {
    /// A directory of the host, canonical and inside the allowed roots.
    Host(PathBuf),
    /// A Docker named volume, its driver and options exactly as the spec gave them.
    Named { driver: String, options: BTreeMap<String, String> },
}

impl VolumePlan {
    /// The plan's volumes from a spec whose `hostPath`s were resolved (validation made sure
    /// each entry has exactly one source).
    pub fn of(specs: &[VolumeSpec]) -> Vec<VolumePlan> {
        specs
            .iter()
            .filter_map(|v| {
                let source = match (&v.host_path, &v.volume) {
                    (Some(p), _) => VolumeSource::Host(p.clone()),
                    (None, Some(n)) => VolumeSource::Named { driver: n.driver.clone(), options: n.driver_opts.clone() },
                    (None, None) => return None,
                };
                Some(VolumePlan { name: v.name.clone(), mount_path: v.mount_path.clone(), source })
            })
            .collect()
    }
}

/// The variable a volume is announced as: `data-2` → `SPARKSWARM_VOLUME_DATA_2`. Names are
/// DNS-1123 labels, which hold no `_`: distinct names give distinct variables.
pub fn env_name(volume: &str) -> String {
    format!("SPARKSWARM_VOLUME_{}", volume.to_ascii_uppercase().replace('-', "_"))
}

/// Where a job finds a volume: in place on the host (local) or at its mount path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    InPlace,
    Mounted,
}

/// What a job gets of the cluster's volumes, for the driver's environment and, as
/// `spark.executorEnv.*`, the executors'. Kept to this one function, so that a runtime's
/// submission adds one call.
pub fn announce(volumes: &[VolumePlan], seen: Seen) -> Announced {
    let env: Vec<(String, String)> = volumes
        .iter()
        .filter_map(|v| {
            let path = match (&v.source, seen) {
                (VolumeSource::Host(p), Seen::InPlace) => p.to_string_lossy().into_owned(),
                // Refused by validation on a runtime without mounts; never announced.
                (VolumeSource::Named { .. }, Seen::InPlace) => return None,
                (_, Seen::Mounted) => v.mount_path.clone(),
            };
            Some((env_name(&v.name), path))
        })
        .collect();
    let conf = env.iter().map(|(k, v)| (format!("spark.executorEnv.{k}"), v.clone())).collect();
    Announced { env, conf }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Announced {
    /// For the driver's environment.
    pub env: Vec<(String, String)>,
    /// For spark-submit's `--conf`, after the user's (a job cannot re-point them).
    pub conf: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::cluster::NamedVolumeSpec;

    fn specs() -> Vec<VolumeSpec> {
        vec![
            VolumeSpec {
                name: "data".into(),
                mount_path: "/data".into(),
                host_path: Some("/proj/data".into()),
                volume: None,
            },
            VolumeSpec {
                name: "my-lake".into(),
                mount_path: "/lake".into(),
                host_path: None,
                volume: Some(NamedVolumeSpec {
                    driver: "local".into(),
                    driver_opts: BTreeMap::from([("type".into(), "nfs".into())]),
                }),
            },
        ]
    }

    #[test]
    fn names_become_variables() {
        assert_eq!(env_name("data"), "SPARKSWARM_VOLUME_DATA");
        assert_eq!(env_name("my-lake-2"), "SPARKSWARM_VOLUME_MY_LAKE_2");
    }

    #[test]
    fn in_place_announces_host_paths_mounted_announces_mount_paths() {
        let plan = VolumePlan::of(&specs());
        let local = announce(&plan, Seen::InPlace);
        assert_eq!(local.env, [("SPARKSWARM_VOLUME_DATA".to_string(), "/proj/data".to_string())]);
        assert_eq!(local.conf, [("spark.executorEnv.SPARKSWARM_VOLUME_DATA".to_string(), "/proj/data".to_string())]);
        let swarm = announce(&plan, Seen::Mounted);
        let vars: Vec<(&str, &str)> = swarm.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(vars, [("SPARKSWARM_VOLUME_DATA", "/data"), ("SPARKSWARM_VOLUME_MY_LAKE", "/lake")]);
    }
}
