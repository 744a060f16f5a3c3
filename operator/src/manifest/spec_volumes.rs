//! A cluster's `volumes`, checked as the operator checks them at reconcile (and `validate`
//! alike): exactly one source each, unique names, mount paths that shadow neither each
//! other nor what the job and the image live in, a source the cluster's runtime can use,
//! and a `hostPath` that resolves to a directory inside the allowed roots.

use std::path::{Component, Path, PathBuf};

use crate::api::cluster::SparkClusterSpec;
use crate::runtime::Runtimes;

use super::document::Document;
use super::paths::{resolve_dir, Roots};
use super::validate::FieldError;

/// What a mount path must neither equal, lie under, nor contain: the jobs' data volume
/// (`/sparkswarm/jobs`, the job's working dir), the older per-attempt root, Spark and our
/// entrypoint in the image, and the system directories a container needs.
const RESERVED: [&str; 12] = [
    "/sparkswarm",
    "/job",
    "/opt/spark",
    "/opt/sparkswarm",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/usr",
    "/etc",
    "/proc",
    "/dev",
];

fn normal(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn overlap(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Resolves every `hostPath` of `spec` in place; the errors, each with its field and line.
pub fn resolve_volumes(roots: &Roots, manifest: &Path, doc: &Document, spec: &mut SparkClusterSpec) -> Vec<FieldError> {
    let support = Runtimes::volume_support(Runtimes::kind_of(&spec.provider));
    let mut errors = Vec::new();
    let mut err = |pointer: String, reason: &str, message: String| {
        errors.push(FieldError {
            path: manifest.to_path_buf(),
            line: doc.line_of(&pointer),
            field: pointer.trim_start_matches('/').replace('/', "."),
            message,
            reason: reason.into(),
        })
    };
    let mut mounts: Vec<(usize, PathBuf)> = Vec::new();
    for i in 0..spec.volumes.len() {
        let base = format!("/spec/volumes/{i}");
        let v = &spec.volumes[i];
        if spec.volumes[..i].iter().any(|o| o.name == v.name) {
            err(format!("{base}/name"), "InvalidVolume", format!("volume name {:?} is used twice", v.name));
        }
        match normal(&v.mount_path) {
            None => err(
                format!("{base}/mountPath"),
                "InvalidVolume",
                format!("mountPath {:?} must be an absolute path without `.` or `..`", v.mount_path),
            ),
            Some(mp) => {
                if let Some(r) = RESERVED.iter().find(|r| overlap(&mp, Path::new(r))) {
                    err(
                        format!("{base}/mountPath"),
                        "InvalidVolume",
                        format!(
                            "mountPath {:?} would shadow or sit inside {r}, which the job or the image needs",
                            v.mount_path
                        ),
                    );
                } else if let Some((j, _)) = mounts.iter().find(|(_, o)| overlap(&mp, o)) {
                    err(
                        format!("{base}/mountPath"),
                        "InvalidVolume",
                        format!("mountPath {:?} overlaps the mountPath of volume {j}", v.mount_path),
                    );
                }
                mounts.push((i, mp));
            }
        }
        match (&v.host_path, &v.volume) {
            (Some(_), Some(_)) | (None, None) => {
                err(base.clone(), "InvalidVolume", "a volume needs exactly one of hostPath and volume".into())
            }
            (None, Some(_)) if !support.named => err(
                format!("{base}/volume"),
                "VolumeNotSupported",
                "Docker named volumes need the swarm or digitalocean provider; on local, use hostPath (used in place)"
                    .into(),
            ),
            (Some(_), None) if !support.host_path => err(
                format!("{base}/hostPath"),
                "VolumeNotSupported",
                "the droplets do not see this machine's directories; use a named volume (volume: {driver, driverOpts})"
                    .into(),
            ),
            (Some(p), None) => match resolve_dir(manifest, &p.to_string_lossy(), roots) {
                Ok(resolved) => spec.volumes[i].host_path = Some(resolved),
                Err(e) => err(format!("{base}/hostPath"), "PathNotAllowed", e.to_string()),
            },
            (None, Some(_)) => {}
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::validate::{validate, Resource};

    fn check(root: &Path, provider: &str, volumes: &str) -> (Vec<FieldError>, SparkClusterSpec) {
        let manifest = root.join("manifests/c.yaml");
        let roots = Roots::for_manifests(&root.join("manifests"), &[]).expect("roots");
        let text = format!(
            "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: c\nspec:\n  provider: {provider}\n  volumes:\n{volumes}"
        );
        let file = crate::manifest::document::parse(&manifest, &text).expect("parses");
        let Ok(Resource::Cluster(mut c)) = validate(&manifest, &file.docs[0]) else { panic!("invalid: {text}") };
        (resolve_volumes(&roots, &manifest, &file.docs[0], &mut c.spec), c.spec)
    }

    fn project() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(tmp.path()).expect("canon").join("proj");
        std::fs::create_dir_all(root.join("manifests")).expect("mkdir");
        std::fs::create_dir_all(root.join("data")).expect("mkdir");
        std::fs::write(root.join("file"), "x").expect("write");
        (tmp, root)
    }

    #[test]
    fn host_paths_resolve_inside_the_roots() {
        let (_tmp, root) = project();
        let (errs, spec) = check(&root, "{swarm: {}}", "    - {name: data, mountPath: /data, hostPath: ../data}\n");
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(spec.volumes[0].host_path.as_deref(), Some(root.join("data").as_path()));
        let (errs, _) = check(
            &root,
            "{local: {}}",
            "    - {name: a, mountPath: /a, hostPath: ../..}\n    - {name: b, mountPath: /b, hostPath: ../file}\n    - {name: c, mountPath: /c, hostPath: ../missing}\n",
        );
        let got: Vec<(usize, &str, &str)> =
            errs.iter().map(|e| (e.line, e.field.as_str(), e.reason.as_str())).collect();
        assert_eq!(
            got,
            [
                (8, "spec.volumes.0.hostPath", "PathNotAllowed"),
                (9, "spec.volumes.1.hostPath", "PathNotAllowed"),
                (10, "spec.volumes.2.hostPath", "PathNotAllowed")
            ]
        );
        assert!(errs[0].message.contains("outside the allowed roots"), "{}", errs[0].message);
        assert!(errs[1].message.contains("not a directory"), "{}", errs[1].message);
        assert!(errs[2].message.contains("does not exist"), "{}", errs[2].message);
    }

    #[test]
    fn a_named_volume_on_local_and_a_host_path_on_droplets_are_refused() {
        let (_tmp, root) = project();
        let named =
            "    - name: lake\n      mountPath: /lake\n      volume: {driver: local, driverOpts: {type: nfs}}\n";
        let (errs, _) = check(&root, "{local: {}}", named);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!((errs[0].line, errs[0].field.as_str()), (10, "spec.volumes.0.volume"));
        assert_eq!(errs[0].reason, "VolumeNotSupported");
        let (errs, _) = check(&root, "{swarm: {}}", named);
        assert!(errs.is_empty(), "{errs:?}");
        let droplets = "{digitalocean: {tokenFrom: {env: T}}}";
        let (errs, _) = check(&root, droplets, "    - {name: data, mountPath: /data, hostPath: ../data}\n");
        assert_eq!(errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["spec.volumes.0.hostPath"]);
    }

    #[test]
    fn names_and_mount_paths_must_not_collide() {
        let (_tmp, root) = project();
        let (errs, _) = check(
            &root,
            "{swarm: {}}",
            "    - {name: d, mountPath: /data, hostPath: ../data}\n    - {name: d, mountPath: /data/x, hostPath: ../data}\n    - {name: e, mountPath: /sparkswarm/jobs/x, hostPath: ../data}\n    - {name: f, mountPath: /opt, hostPath: ../data}\n    - {name: g, mountPath: /a/../b, hostPath: ../data}\n    - {name: h, mountPath: /h}\n",
        );
        let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            got,
            [
                (9, "spec.volumes.1.name"),
                (9, "spec.volumes.1.mountPath"),
                (10, "spec.volumes.2.mountPath"),
                (11, "spec.volumes.3.mountPath"),
                (12, "spec.volumes.4.mountPath"),
                (13, "spec.volumes.5")
            ],
            "{errs:?}"
        );
        assert!(errs[1].message.contains("overlaps the mountPath of volume 0"), "{}", errs[1].message);
        assert!(errs[2].message.contains("/sparkswarm"), "{}", errs[2].message);
        assert!(errs[5].message.contains("exactly one of hostPath and volume"), "{}", errs[5].message);
    }
}
