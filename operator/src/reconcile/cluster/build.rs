//! Build: the request a cluster runtime gets, from the validated spec. Every path of the
//! spec (TLS files, the token file, the login key, the volumes' host paths) is resolved
//! against the manifest and confined to the allowed roots here, once, whichever runtime the
//! cluster is on; the plan is built from the resolved spec.

use std::path::Path;

use crate::api::cluster::SparkCluster;
use crate::manifest::document::Document;
use crate::manifest::paths::Roots;
use crate::manifest::spec_paths::resolve_cluster_paths;
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
    let spec = resolve_cluster_paths(roots, manifest, doc, &cluster.spec)?;
    Ok(ClusterRequest {
        plan: ClusterPlan::of(name, &spec),
        spec,
        base_dir: manifest.parent().unwrap_or(Path::new(".")).to_path_buf(),
        new_generation,
    })
}
