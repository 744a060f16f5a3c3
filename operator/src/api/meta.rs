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
    /// Who owns this object: a schedule's runs name their SparkSchedule. Written by the
    /// operator into the runs it creates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
}

/// As Kubernetes' `metadata.ownerReferences[]`, without the uid a file-based store has not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnerReference {
    pub api_version: super::kind::ApiVersion,
    pub kind: String,
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(min = 1, max = 63))]
    pub name: String,
    #[serde(default)]
    pub controller: bool,
}

impl ObjectMeta {
    /// The name of the SparkSchedule this object is a run of.
    pub fn schedule_owner(&self) -> Option<&str> {
        self.owner_references.iter().find(|o| o.kind == "SparkSchedule").map(|o| o.name.as_str())
    }
}

/// The longest DNS-1123 label.
pub const MAX_NAME_LEN: usize = 63;

/// Whether `name` is a DNS-1123 label, as a `Result` naming the rule.
pub fn check_name(name: &str) -> Result<(), String> {
    if is_dns1123_label(name) {
        Ok(())
    } else {
        Err(format!(
            "invalid name {name:?}: a DNS-1123 label (at most {MAX_NAME_LEN} lowercase letters, digits and '-', starting and ending with a letter or digit)"
        ))
    }
}

/// Whether `name` is a DNS-1123 label: the rule of `metadata.name`, and the one thing that
/// makes a name safe to use as a single path component (no `/`, no `..`, no NUL).
pub fn is_dns1123_label(name: &str) -> bool {
    let b = name.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= MAX_NAME_LEN
        && b.first().is_some_and(inner)
        && b.last().is_some_and(inner)
        && b.iter().all(|c| inner(c) || *c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1123_labels() {
        for ok in ["a", "demo", "linear-regression", "a1-b2", "0", &"x".repeat(63)] {
            assert!(is_dns1123_label(ok), "{ok}");
        }
        for no in ["", "-a", "a-", "A", "a_b", "a.b", "..", "../x", "/tmp/x", "a\0", "é", &"x".repeat(64)] {
            assert!(!is_dns1123_label(no), "{no}");
        }
    }
}
