use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Like Kubernetes' ObjectMeta, minus what a file-based store cannot or need not hold:
/// generation and creation time live in the state directory, not in the user's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    /// A DNS-1123 label, unique per kind in the manifests directory.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(min = 1, max = 63))]
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The longest DNS-1123 label.
pub const MAX_NAME_LEN: usize = 63;

/// Whether `name` is a DNS-1123 label: what every object name must be, and what makes a
/// name safe to build paths, service names and process markers from.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid name {name:?}: a DNS-1123 label (at most {MAX_NAME_LEN} lowercase letters, digits and '-', starting and ending with a letter or digit)"
        ))
    }
}
