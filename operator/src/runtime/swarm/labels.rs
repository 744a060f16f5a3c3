//! Names and labels of what the swarm runtime creates. Docker object names are derived
//! from the cluster name (a DNS-1123 label, so they stay valid), labels say whose they are.

use std::collections::HashMap;
use std::path::Path;

use sha2::Digest;

pub const CLUSTER: &str = "sparkswarm.io/cluster";
pub const OWNER: &str = "sparkswarm.io/owner";
/// master | worker | registry | driver | files | data
pub const ROLE: &str = "sparkswarm.io/role";
pub const JOB: &str = "sparkswarm.io/job";
pub const SUBMISSION: &str = "sparkswarm.io/submission";
/// The hash of the spec a service was created from: a different one means update.
pub const SPEC_HASH: &str = "sparkswarm.io/spec-hash";
/// The plan (JSON) a cluster's services were applied from, to detect spec changes.
pub const PLAN: &str = "sparkswarm.io/plan";

/// A short stable hash of the absolute state directory.
pub fn owner_of(state_dir: &Path) -> String {
    let digest = sha2::Sha256::digest(state_dir.to_string_lossy().as_bytes());
    hex::encode(&digest[..6])
}

pub fn network(cluster: &str) -> String {
    format!("sparkswarm-{cluster}")
}

pub fn master_service(cluster: &str) -> String {
    format!("sparkswarm-{cluster}-master")
}

pub fn worker_service(cluster: &str) -> String {
    format!("sparkswarm-{cluster}-worker")
}

pub fn registry_service(cluster: &str) -> String {
    format!("sparkswarm-{cluster}-registry")
}

pub fn registry_volume(cluster: &str) -> String {
    format!("sparkswarm-{cluster}-registry")
}

/// Job objects are named by submission (unique), shortened to keep names under 63 chars.
pub fn driver_service(cluster: &str, submission: &str) -> String {
    let short: String = submission.chars().filter(char::is_ascii_alphanumeric).take(12).collect();
    format!("sparkswarm-{cluster}-job-{short}")
}

pub fn base(cluster: &str, owner: &str, role: &str) -> HashMap<String, String> {
    HashMap::from([
        (CLUSTER.to_string(), cluster.to_string()),
        (OWNER.to_string(), owner.to_string()),
        (ROLE.to_string(), role.to_string()),
    ])
}

/// A label filter for list calls: `{"label": ["k=v", ...]}`.
pub fn filter(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), pairs.iter().map(|(k, v)| format!("{k}={v}")).collect())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_short_and_valid() {
        let cluster = "a".repeat(30);
        let name = driver_service(&cluster, "0f8e2c3a-1234-4bcd-9def-001122334455");
        assert_eq!(name, format!("sparkswarm-{cluster}-job-0f8e2c3a1234"));
        assert_eq!(owner_of(Path::new("/a")).len(), 12);
        assert_ne!(owner_of(Path::new("/a")), owner_of(Path::new("/b")));
    }
}
