//! A cluster's `volumes` as service mounts, the same in the master, the workers and every
//! driver. A `hostPath` is a bind mount of that directory on the node the task runs on; a
//! named volume is created by Docker on each node where a task first mounts it, with the
//! spec's driver and options passed through exactly as given.
//!
//! A named volume's Docker name carries a hash of its driver and options: Docker never
//! changes an existing volume's options, so changed options get a new volume rather than
//! silently keeping the old ones. The labels let the cluster's deletion find every copy.

use std::collections::HashMap;

use bollard::models::{Mount, MountType, MountVolumeOptions, MountVolumeOptionsDriverConfig};
use sha2::Digest;

use super::labels;
use crate::runtime::volumes::{VolumePlan, VolumeSource};

/// The Docker volume a named volume of the cluster becomes.
pub fn docker_name(cluster: &str, v: &VolumePlan) -> String {
    let mut h = sha2::Sha256::new();
    if let VolumeSource::Named { driver, options } = &v.source {
        h.update(driver.as_bytes());
        for (k, val) in options {
            h.update([0]);
            h.update(k.as_bytes());
            h.update([0]);
            h.update(val.as_bytes());
        }
    }
    format!("sparkswarm-{cluster}-vol-{}-{}", v.name, hex::encode(&h.finalize()[..4]))
}

/// The mounts of the cluster's volumes, in the spec's order.
pub fn mounts(cluster: &str, owner: &str, volumes: &[VolumePlan]) -> Vec<Mount> {
    volumes
        .iter()
        .map(|v| match &v.source {
            VolumeSource::Host(path) => Mount {
                target: Some(v.mount_path.clone()),
                source: Some(path.to_string_lossy().into_owned()),
                typ: Some(MountType::BIND),
                ..Default::default()
            },
            VolumeSource::Named { driver, options } => Mount {
                target: Some(v.mount_path.clone()),
                source: Some(docker_name(cluster, v)),
                typ: Some(MountType::VOLUME),
                volume_options: Some(MountVolumeOptions {
                    labels: Some(labels::base(cluster, owner, "volume")),
                    driver_config: Some(MountVolumeOptionsDriverConfig {
                        name: Some(driver.clone()),
                        options: Some(options.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>()),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;

    pub(crate) fn nfs() -> VolumePlan {
        VolumePlan {
            name: "lake".into(),
            mount_path: "/lake".into(),
            source: VolumeSource::Named {
                driver: "local".into(),
                options: BTreeMap::from([
                    ("type".into(), "nfs".into()),
                    ("o".into(), "addr=10.0.0.5,rw".into()),
                    ("device".into(), ":/export".into()),
                ]),
            },
        }
    }

    #[test]
    fn named_volumes_pass_driver_and_options_through_and_change_name_with_them() {
        let m = &mounts("demo", "o1", &[nfs()])[0];
        assert_eq!(m.typ, Some(MountType::VOLUME));
        assert_eq!(m.target.as_deref(), Some("/lake"));
        let opts = m.volume_options.as_ref().expect("volume options");
        let driver = opts.driver_config.as_ref().expect("driver config");
        assert_eq!(driver.name.as_deref(), Some("local"));
        let want: HashMap<String, String> = HashMap::from([
            ("type".into(), "nfs".into()),
            ("o".into(), "addr=10.0.0.5,rw".into()),
            ("device".into(), ":/export".into()),
        ]);
        assert_eq!(driver.options.as_ref(), Some(&want));
        assert_eq!(opts.labels.as_ref().and_then(|l| l.get(labels::CLUSTER)).map(String::as_str), Some("demo"));
        let name = m.source.clone().unwrap_or_default();
        assert!(name.starts_with("sparkswarm-demo-vol-lake-"), "{name}");
        let mut changed = nfs();
        if let VolumeSource::Named { options, .. } = &mut changed.source {
            options.insert("o".into(), "addr=10.0.0.6,rw".into());
        }
        assert_ne!(docker_name("demo", &changed), name);
        assert_eq!(docker_name("demo", &nfs()), name);
    }

    #[test]
    fn host_paths_are_bind_mounts() {
        let v =
            VolumePlan { name: "data".into(), mount_path: "/data".into(), source: VolumeSource::Host("/p/d".into()) };
        let m = &mounts("demo", "o1", &[v])[0];
        assert_eq!(m.typ, Some(MountType::BIND));
        assert_eq!((m.source.as_deref(), m.target.as_deref()), (Some("/p/d"), Some("/data")));
        assert!(m.volume_options.is_none());
    }
}
