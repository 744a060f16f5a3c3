//! The files a cluster's spec names (the token file, the login key, the TLS files), checked
//! as the operator checks them at reconcile: resolved against the manifest, inside the
//! allowed roots, regular files. `validate` runs the same checks, so that it fails where
//! the operator would.

use std::path::Path;

use crate::api::cluster::{Provider, SecretRef, SparkClusterSpec};

use super::document::Document;
use super::paths::{resolve_file, Roots};
use super::validate::FieldError;

/// Every path field of a cluster's provider, by JSON pointer.
pub fn cluster_path_fields(spec: &SparkClusterSpec) -> Vec<(String, &Path)> {
    let mut out = Vec::new();
    match &spec.provider {
        Provider::Local(_) => {}
        Provider::Swarm(s) => {
            if let Some(tls) = &s.tls {
                let base = "/spec/provider/swarm/tls";
                out.push((format!("{base}/caFile"), tls.ca_file.as_path()));
                out.push((format!("{base}/certFile"), tls.cert_file.as_path()));
                out.push((format!("{base}/keyFile"), tls.key_file.as_path()));
            }
        }
        Provider::Digitalocean(d) => {
            let base = "/spec/provider/digitalocean";
            if let SecretRef::File(f) = &d.token_from {
                out.push((format!("{base}/tokenFrom/file"), f.as_path()));
            }
            if let Some(key) = &d.ssh_key {
                out.push((format!("{base}/sshKey/privateKeyFile"), key.private_key_file.as_path()));
            }
        }
    }
    out
}

/// The path errors of a cluster's spec, each with its field and line.
pub fn check_cluster_paths(roots: &Roots, manifest: &Path, doc: &Document, spec: &SparkClusterSpec) -> Vec<FieldError> {
    cluster_path_fields(spec)
        .into_iter()
        .filter_map(|(pointer, rel)| {
            let e = resolve_file(manifest, &rel.to_string_lossy(), roots).err()?;
            Some(FieldError {
                path: manifest.to_path_buf(),
                line: doc.line_of(&pointer),
                field: pointer.trim_start_matches('/').replace('/', "."),
                message: e.to_string(),
                reason: "PathNotAllowed".into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::validate::{validate, Resource};

    #[test]
    fn escapes_and_directories_are_named_with_field_and_line() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(tmp.path()).expect("canon").join("proj");
        std::fs::create_dir_all(root.join("manifests")).expect("mkdir");
        std::fs::create_dir_all(root.join("keys/dir")).expect("mkdir");
        std::fs::write(root.join("keys/token"), "t\n").expect("write");
        let manifest = root.join("manifests/c.yaml");
        let roots = Roots::for_manifests(&root.join("manifests"), &[]).expect("roots");
        let check = |provider: &str| {
            let text = format!(
                "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: c\nspec:\n  provider:\n{provider}"
            );
            let file = crate::manifest::document::parse(&manifest, &text).expect("parses");
            let Ok(Resource::Cluster(c)) = validate(&manifest, &file.docs[0]) else { panic!("invalid: {text}") };
            check_cluster_paths(&roots, &manifest, &file.docs[0], &c.spec)
        };
        let ok = check("    digitalocean:\n      tokenFrom: {file: ../keys/token}\n      region: nyc3\n      size: s\n      image: i\n      nodes: 1\n");
        assert!(ok.is_empty(), "{ok:?}");
        let errs = check("    digitalocean:\n      tokenFrom: {file: /etc/passwd}\n      region: nyc3\n      size: s\n      image: i\n      nodes: 1\n      sshKey: {privateKeyFile: ../keys/dir}\n");
        let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            got,
            [
                (8, "spec.provider.digitalocean.tokenFrom.file"),
                (13, "spec.provider.digitalocean.sshKey.privateKeyFile")
            ],
            "{errs:?}"
        );
        assert!(errs[0].message.contains("outside the allowed roots"), "{}", errs[0].message);
        assert!(errs[1].message.contains("is a directory, not a file"), "{}", errs[1].message);
        let errs = check("    swarm:\n      endpoint: tcp://h:2376\n      tls: {caFile: ../../ca.pem, certFile: ../keys/token, keyFile: ../keys/missing}\n");
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["spec.provider.swarm.tls.caFile", "spec.provider.swarm.tls.keyFile"], "{errs:?}");
    }
}
