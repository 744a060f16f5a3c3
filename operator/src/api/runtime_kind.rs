//! The kind of runtime a cluster or an attempt lives on: a typed value, persisted with each
//! attempt and each cluster's record, never a string compared by value.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, strum::Display, strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RuntimeKind {
    #[default]
    Local,
    Swarm,
    Digitalocean,
}
