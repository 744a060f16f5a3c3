use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only `apiVersion` this operator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum ApiVersion {
    #[default]
    #[serde(rename = "sparkswarm.io/v1alpha1")]
    V1alpha1,
}

/// The kinds of resource, with the names and aliases the CLI accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    SparkCluster,
    SparkJob,
    SparkSchedule,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::SparkCluster, Kind::SparkJob, Kind::SparkSchedule];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SparkCluster => "SparkCluster",
            Kind::SparkJob => "SparkJob",
            Kind::SparkSchedule => "SparkSchedule",
        }
    }

    /// Lower-case singular, as in `sparkjob/NAME`.
    pub fn singular(self) -> &'static str {
        match self {
            Kind::SparkCluster => "sparkcluster",
            Kind::SparkJob => "sparkjob",
            Kind::SparkSchedule => "sparkschedule",
        }
    }

    /// Lower-case plural, as in `sparkjobs "NAME" not found`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::SparkCluster => "sparkclusters",
            Kind::SparkJob => "sparkjobs",
            Kind::SparkSchedule => "sparkschedules",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Kind::SparkCluster => "sc",
            Kind::SparkJob => "sj",
            Kind::SparkSchedule => "ss",
        }
    }

    pub fn from_kind_field(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the server doesn't have a resource type \"{0}\"")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;

    /// Accepts what kubectl accepts for a CRD: kind, singular, plural, short name, any case,
    /// optionally qualified with the group (`sparkjobs.sparkswarm.io`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        let bare = lower.strip_suffix(&format!(".{}", super::GROUP)).unwrap_or(&lower);
        Kind::ALL
            .into_iter()
            .find(|k| [k.singular(), k.plural(), k.short()].contains(&bare))
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_like_kubectl() {
        for s in ["sparkjobs", "sj", "SparkJob", "sparkjob", "sparkjobs.sparkswarm.io"] {
            assert_eq!(s.parse::<Kind>().ok(), Some(Kind::SparkJob), "{s}");
        }
        for s in ["sparkclusters", "sc", "SparkCluster"] {
            assert_eq!(s.parse::<Kind>().ok(), Some(Kind::SparkCluster), "{s}");
        }
        for s in ["sparkschedules", "ss", "SparkSchedule", "sparkschedule.sparkswarm.io"] {
            assert_eq!(s.parse::<Kind>().ok(), Some(Kind::SparkSchedule), "{s}");
        }
        assert!("pods".parse::<Kind>().is_err());
    }
}
