//! Build: the request a cluster runtime gets, from the validated spec. Every path of the
//! spec (TLS files, the token file, the login key) is resolved against the manifest and
//! confined to the allowed roots here, once, whichever runtime the cluster is on.

use std::path::Path;

use crate::api::cluster::{Provider, SecretRef, SparkCluster, SshKeySpec, TlsSpec};
use crate::manifest::document::Document;
use crate::manifest::paths::{resolve, Roots};
use crate::manifest::validate::FieldError;
use crate::runtime::{ClusterPlan, ClusterRequest};

pub fn request(
    roots: &Roots,
    manifest: &Path,
    doc: &Document,
    name: &str,
    cluster: &SparkCluster,
    new_generation: bool,
) -> Result<ClusterRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut confine = |pointer: &str, p: &Path| match resolve(manifest, &p.to_string_lossy(), roots) {
        Ok(resolved) => resolved,
        Err(e) => {
            errors.push(FieldError {
                path: manifest.to_path_buf(),
                line: doc.line_of(pointer),
                field: pointer.trim_start_matches('/').replace('/', "."),
                message: e.to_string(),
                reason: "PathNotAllowed".into(),
            });
            p.to_path_buf()
        }
    };
    let mut spec = cluster.spec.clone();
    match &mut spec.provider {
        Provider::Local(_) => {}
        Provider::Swarm(sw) => {
            if let Some(tls) = &sw.tls {
                let base = "/spec/provider/swarm/tls";
                sw.tls = Some(TlsSpec {
                    ca_file: confine(&format!("{base}/caFile"), &tls.ca_file),
                    cert_file: confine(&format!("{base}/certFile"), &tls.cert_file),
                    key_file: confine(&format!("{base}/keyFile"), &tls.key_file),
                });
            }
        }
        Provider::Digitalocean(d) => {
            if let SecretRef::File(f) = &d.token_from {
                d.token_from = SecretRef::File(confine("/spec/provider/digitalocean/tokenFrom/file", f));
            }
            if let Some(key) = &d.ssh_key {
                let path = confine("/spec/provider/digitalocean/sshKey/privateKeyFile", &key.private_key_file);
                d.ssh_key = Some(SshKeySpec { private_key_file: path });
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ClusterRequest {
        plan: ClusterPlan::of(name, &cluster.spec),
        spec,
        base_dir: manifest.parent().unwrap_or(Path::new(".")).to_path_buf(),
        new_generation,
    })
}
