//! The request and response bodies the provider uses, as in the contract
//! (`shared/contracts/digitalocean/openapi.yaml`). Responses are read leniently (fields the
//! provider does not need are not modelled, optional ones default) so that DigitalOcean adding
//! fields never breaks the operator; requests carry exactly the contract's field names.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Account {
    pub uuid: String,
    pub email: String,
    pub droplet_limit: i64,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub status_message: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SshKey {
    pub id: u64,
    pub fingerprint: String,
    pub public_key: String,
    pub name: String,
}

/// `POST /v2/account/keys`
#[derive(Debug, Clone, Serialize)]
pub struct CreateSshKey {
    pub name: String,
    pub public_key: String,
}

/// An SSH key as droplet creation refers to it: by id or by fingerprint.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum SshKeyRef {
    Id(u64),
    Fingerprint(String),
}

/// `POST /v2/droplets` in its "Multiple Droplet Request" form: several droplets in one call,
/// which is what makes creation parallel on DigitalOcean's side.
#[derive(Debug, Clone, Serialize)]
pub struct CreateDroplets {
    pub names: Vec<String>,
    pub region: String,
    pub size: String,
    pub image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh_keys: Vec<SshKeyRef>,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Droplet {
    pub id: u64,
    pub name: String,
    /// `new`, `active`, `off` or `archive`.
    pub status: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub networks: Networks,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub size_slug: String,
}

impl Droplet {
    /// The first public IPv4 address, once DigitalOcean assigned one.
    pub fn public_ipv4(&self) -> Option<std::net::Ipv4Addr> {
        self.networks.v4.iter().filter(|n| n.kind.as_deref() == Some("public")).find_map(|n| n.ip_address.parse().ok())
    }

    /// The first private IPv4 (the VPC address droplets reach each other at), if any.
    pub fn private_ipv4(&self) -> Option<std::net::Ipv4Addr> {
        self.networks.v4.iter().filter(|n| n.kind.as_deref() == Some("private")).find_map(|n| n.ip_address.parse().ok())
    }

    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Networks {
    #[serde(default)]
    pub v4: Vec<NetworkV4>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct NetworkV4 {
    pub ip_address: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// The `links` of a response: pagination, and for droplet creation the actions to follow.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Links {
    #[serde(default)]
    pub pages: Option<Pages>,
    #[serde(default)]
    pub actions: Vec<ActionLink>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Pages {
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub last: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ActionLink {
    pub id: u64,
    #[serde(default)]
    pub rel: String,
    #[serde(default)]
    pub href: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Action {
    pub id: u64,
    /// `in-progress`, `completed` or `errored`.
    pub status: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub resource_id: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FirewallTargets {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub droplet_ids: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InboundRule {
    /// `tcp`, `udp` or `icmp`.
    pub protocol: String,
    /// A port, a range `8000-9000`, or `0`/`all` for every port.
    pub ports: String,
    pub sources: FirewallTargets,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutboundRule {
    pub protocol: String,
    pub ports: String,
    pub destinations: FirewallTargets,
}

/// `POST /v2/firewalls`
#[derive(Debug, Clone, Serialize)]
pub struct CreateFirewall {
    pub name: String,
    pub tags: Vec<String>,
    pub inbound_rules: Vec<InboundRule>,
    pub outbound_rules: Vec<OutboundRule>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Firewall {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub droplet_ids: Vec<u64>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub inbound_rules: Vec<InboundRule>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub outbound_rules: Vec<OutboundRule>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Tag {
    pub name: String,
}

/// The contract marks several arrays `nullable`: read `null` as empty.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}
