//! The files a cluster's spec names (the token file, the login key, the TLS files, and
//! the volumes' directories through `spec_volumes`), checked
//! as the operator checks them at reconcile: resolved against the manifest, inside the
//! allowed roots, regular files. `validate` runs the same checks, so that it fails where
//! the operator would.

use std::path::{Path, PathBuf};

use crate::api::cluster::{Provider, SecretRef, SparkClusterSpec};

use super::document::Document;
use super::paths::{resolve_file, Roots};
use super::validate::FieldError;

/// Every path field of a cluster's provider, by JSON pointer, for `f` to read or replace.
fn each_path_field(spec: &mut SparkClusterSpec, mut f: impl FnMut(&str, &mut PathBuf)) {
    match &mut spec.provider {
        Provider::Local(_) => {}
        Provider::Swarm(s) => {
            if let Some(tls) = &mut s.tls {
                let base = "/spec/provider/swarm/tls";
                f(&format!("{base}/caFile"), &mut tls.ca_file);
                f(&format!("{base}/certFile"), &mut tls.cert_file);
                f(&format!("{base}/keyFile"), &mut tls.key_file);
            }
        }
        Provider::Digitalocean(d) => {
            let base = "/spec/provider/digitalocean";
            if let SecretRef::File(file) = &mut d.token_from {
                f(&format!("{base}/tokenFrom/file"), file);
            }
            if let Some(key) = &mut d.ssh_key {
                f(&format!("{base}/sshKey/privateKeyFile"), &mut key.private_key_file);
            }
        }
    }
}

/// The spec with every path field resolved against the manifest (absolute, inside the
/// roots, a regular file), or the errors, each with its field and line.
pub fn resolve_cluster_paths(
    roots: &Roots,
    manifest: &Path,
    doc: &Document,
    spec: &SparkClusterSpec,
) -> Result<SparkClusterSpec, Vec<FieldError>> {
    let mut resolved = spec.clone();
    let mut errors = Vec::new();
    each_path_field(&mut resolved, |pointer, path| match resolve_file(manifest, &path.to_string_lossy(), roots) {
        Ok(p) => *path = p,
        Err(e) => errors.push(FieldError {
            path: manifest.to_path_buf(),
            line: doc.line_of(pointer),
            field: pointer.trim_start_matches('/').replace('/', "."),
            message: e.to_string(),
            reason: "PathNotAllowed".into(),
        }),
    });
    errors.extend(super::spec_volumes::resolve_volumes(roots, manifest, doc, &mut resolved));
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(errors)
    }
}

/// The path errors of a cluster's spec, each with its field and line.
pub fn check_cluster_paths(roots: &Roots, manifest: &Path, doc: &Document, spec: &SparkClusterSpec) -> Vec<FieldError> {
    resolve_cluster_paths(roots, manifest, doc, spec).err().unwrap_or_default()
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
