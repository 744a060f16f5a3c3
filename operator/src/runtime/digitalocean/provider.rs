//! The pure part of the provider: which droplets to create or delete, and the host key and
//! cloud-init `user_data` each droplet is created with. No I/O here, so that every decision
//! is unit-tested and the reconciler above only executes plans.
//!
//! Restart safety rests on two facts. The truth is what DigitalOcean lists under the
//! cluster's tag, never a local record; and droplets are created with the tag in the same
//! request (`POST /v2/droplets` with `names` and `tags`), so no droplet ever exists untagged.
//! An operator killed after the POST finds the droplets by tag and plans nothing more for
//! those names; one killed before finds none and creates them. Names are deterministic
//! (`sparkswarm-<cluster>-<n>`), so a duplicate that slips in (two operators, a lost answer
//! followed by a retry) is recognised and deleted.

// Public keys and comments are plain text, but a comment may hold `#` or `: `, which a
// plain scalar would misread: always double-quote them.
use crate::manifest::render::double_quoted;
use std::collections::BTreeMap;
use std::fmt;

use super::error::DoError;
use super::types::{CreateDroplets, CreateFirewall, Droplet, FirewallTargets, InboundRule, OutboundRule, SshKeyRef};

/// The tag that marks every droplet, firewall and key of a cluster.
pub fn cluster_tag(cluster: &str) -> String {
    format!("sparkswarm-{cluster}")
}

/// The name of node `index` (1-based; node 1 is the swarm manager).
pub fn droplet_name(cluster: &str, index: u32) -> String {
    format!("sparkswarm-{cluster}-{index}")
}

/// The node index a droplet name stands for, if it is one of this cluster's names.
pub fn node_index(cluster: &str, name: &str) -> Option<u32> {
    let rest = name.strip_prefix(&format!("sparkswarm-{cluster}-"))?;
    // `01` or `+1` are not names this operator gives; treat them as foreign.
    if rest.starts_with('0') || rest.starts_with('+') {
        return None;
    }
    rest.parse().ok().filter(|i| *i >= 1)
}

/// The name under which the operator registers a login key it generated for a cluster;
/// deletion removes keys by this name, and never a key it did not register.
pub fn ssh_key_name(cluster: &str) -> String {
    format!("sparkswarm-{cluster}")
}

/// What [`destroy`] removed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Destroyed {
    pub droplets: usize,
    pub firewalls: usize,
    pub ssh_keys: usize,
}

impl Destroyed {
    pub fn is_empty(&self) -> bool {
        *self == Destroyed::default()
    }
}

/// Removes everything of a cluster: its droplets (by tag), the firewalls on its tag, and the
/// login keys registered under its name. Idempotent, so a deletion interrupted by a restart
/// is simply run again; what is already gone counts as done.
pub async fn destroy(client: &super::Client, cluster: &str) -> Result<Destroyed, DoError> {
    let tag = cluster_tag(cluster);
    let mut done = Destroyed::default();
    let droplets = client.list_droplets_by_tag(&tag).await?;
    if !droplets.is_empty() && client.delete_droplets_by_tag(&tag).await? {
        done.droplets = droplets.len();
    }
    for fw in client.list_firewalls().await? {
        // Only a firewall that is this cluster's alone: named after it and on its tag.
        if fw.name == tag && fw.tags.contains(&tag) && client.delete_firewall(&fw.id).await? {
            done.firewalls += 1;
        }
    }
    let key_name = ssh_key_name(cluster);
    for key in client.list_ssh_keys().await? {
        if key.name == key_name && client.delete_ssh_key(&key.id.to_string()).await? {
            done.ssh_keys += 1;
        }
    }
    Ok(done)
}

/// Polls the droplets of `tag` until `count` of them are active with a public IPv4, or the
/// deadline passes. The poll interval grows from `first_poll` to 8 times that, so a slow
/// boot costs few requests.
pub async fn wait_active(
    client: &super::Client,
    tag: &str,
    count: usize,
    timeout: std::time::Duration,
    first_poll: std::time::Duration,
) -> Result<Vec<Droplet>, DoError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut poll = first_poll;
    loop {
        let droplets = client.list_droplets_by_tag(tag).await?;
        let ready = droplets.iter().filter(|d| d.is_active() && d.public_ipv4().is_some()).count();
        if droplets.len() == count && ready == count {
            return Ok(droplets);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(DoError::Timeout(format!(
                "{ready} of {count} droplets tagged {tag} active with an address after {}s ({} listed)",
                timeout.as_secs(),
                droplets.len()
            )));
        }
        tokio::time::sleep(poll.min(deadline - now)).await;
        poll = (poll * 2).min(first_poll * 8);
    }
}

/// What to do so that exactly `desired` nodes exist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DropletPlan {
    /// Names to create, in one request.
    pub create: Vec<String>,
    /// Droplet ids to delete: nodes beyond `desired` (highest index first, so a scale-down
    /// drains workers before the manager is ever considered), duplicates of a name, droplets
    /// under the tag with a name this operator never gives, archived ones.
    pub delete: Vec<u64>,
    /// The droplet kept for each node index, `desired` of them once the plan is carried out.
    pub keep: BTreeMap<u32, u64>,
}

impl DropletPlan {
    pub fn is_noop(&self) -> bool {
        self.create.is_empty() && self.delete.is_empty()
    }
}

/// Decides from the droplets listed by the cluster's tag. For several droplets with the same
/// name the oldest (lowest id: DigitalOcean ids grow) is kept, so that repeated planning is
/// stable and the one most likely to be bootstrapped already survives.
pub fn plan_droplets(cluster: &str, desired: u32, observed: &[Droplet]) -> DropletPlan {
    let tag = cluster_tag(cluster);
    let mut plan = DropletPlan::default();
    let mut by_index: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let mut sorted: Vec<&Droplet> = observed.iter().filter(|d| d.tags.contains(&tag)).collect();
    sorted.sort_by_key(|d| d.id);
    for d in sorted {
        match node_index(cluster, &d.name) {
            // An archived droplet is not coming back; its name is free again.
            Some(_) if d.status == "archive" => plan.delete.push(d.id),
            Some(i) => by_index.entry(i).or_default().push(d.id),
            None => plan.delete.push(d.id),
        }
    }
    let mut beyond = Vec::new();
    for (index, ids) in &by_index {
        if *index <= desired {
            plan.keep.insert(*index, ids[0]);
            plan.delete.extend(&ids[1..]);
        } else {
            beyond.push((*index, ids.clone()));
        }
    }
    beyond.sort_by_key(|b| std::cmp::Reverse(b.0));
    for (_, ids) in beyond {
        plan.delete.extend(ids);
    }
    plan.create = (1..=desired).filter(|i| !plan.keep.contains_key(i)).map(|i| droplet_name(cluster, i)).collect();
    plan
}

/// Droplets this machine holds no host key for cannot be verified (the state directory was
/// lost or copied from elsewhere): rather than trust whatever key they present, the plan
/// deletes them and creates them again under the same name, with a new key. Returns the
/// names replaced.
pub fn replace_unverifiable(cluster: &str, plan: &mut DropletPlan, has_host_key: impl Fn(&str) -> bool) -> Vec<String> {
    let mut replaced = Vec::new();
    for (index, id) in plan.keep.clone() {
        let name = droplet_name(cluster, index);
        if !has_host_key(&name) {
            plan.keep.remove(&index);
            plan.delete.push(id);
            plan.create.push(name.clone());
            replaced.push(name);
        }
    }
    plan.create.sort_by_key(|n| node_index(cluster, n));
    replaced
}

/// What every droplet of a cluster is created with.
#[derive(Debug, Clone, PartialEq)]
pub struct DropletTemplate {
    pub region: String,
    pub size: String,
    pub image: String,
    /// Registered keys (id or fingerprint) DigitalOcean puts into root's authorized_keys.
    pub ssh_keys: Vec<SshKeyRef>,
    /// Login public keys written by cloud-init too (e.g. when none is registered).
    pub login_public_keys: Vec<String>,
}

/// The creation request of one droplet. One request per droplet, sent concurrently, rather
/// than one request with several `names`: `user_data` is per request, and each droplet gets
/// its own host key, so that no droplet holds the private key another one presents. Still
/// parallel, at one API call per node (the rate limit is 250 a minute).
pub fn creation_request(cluster: &str, name: &str, template: &DropletTemplate, host_key: &HostKey) -> CreateDroplets {
    CreateDroplets {
        names: vec![name.to_string()],
        region: template.region.clone(),
        size: template.size.clone(),
        image: template.image.clone(),
        ssh_keys: template.ssh_keys.clone(),
        tags: vec![cluster_tag(cluster)],
        user_data: Some(render_user_data(host_key, &template.login_public_keys)),
        monitoring: None,
    }
}

/// The ports of a cluster that its firewall concerns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterPorts {
    /// The Spark master's RPC port (7077).
    pub master: u16,
    /// The Spark master's web UI (8080).
    pub web_ui: u16,
    /// The cluster's registry on the manager, which every node pulls the Spark image from.
    pub registry: u16,
}

/// The cluster's cloud firewall, applied to its tag (so that droplets added later are
/// covered without touching the firewall):
/// - SSH only from the operator's address: everything else the operator does (Docker API,
///   Spark master, UI, registry) goes through SSH tunnels;
/// - the swarm's ports only among the cluster's droplets: 2377/tcp (management), 7946/tcp+udp
///   (gossip), 4789/udp (the VXLAN overlay, which carries Spark's own traffic between
///   containers: executors, block managers, drivers on ephemeral ports);
/// - Spark's published ports (master, web UI) and the registry only among the droplets;
/// - the Spark web UI from `ui_sources` too (CIDRs); none by default;
/// - ICMP among the droplets (path MTU discovery for the overlay);
/// - outbound open: packages, images and DNS.
pub fn firewall_request(
    cluster: &str,
    operator_address: std::net::IpAddr,
    ports: ClusterPorts,
    ui_sources: &[String],
) -> CreateFirewall {
    let tag = cluster_tag(cluster);
    let among = FirewallTargets { tags: vec![tag.clone()], ..FirewallTargets::default() };
    let operator = match operator_address {
        std::net::IpAddr::V4(a) => format!("{a}/32"),
        std::net::IpAddr::V6(a) => format!("{a}/128"),
    };
    let rule = |protocol: &str, ports: &str, sources: FirewallTargets| InboundRule {
        protocol: protocol.into(),
        ports: ports.into(),
        sources,
    };
    let mut inbound = vec![
        rule("tcp", "22", FirewallTargets { addresses: vec![operator], ..FirewallTargets::default() }),
        rule("tcp", "2377", among.clone()),
        rule("tcp", "7946", among.clone()),
        rule("udp", "7946", among.clone()),
        rule("udp", "4789", among.clone()),
        rule("tcp", &ports.master.to_string(), among.clone()),
        rule("tcp", &ports.registry.to_string(), among.clone()),
    ];
    let ui = if ui_sources.is_empty() {
        among.clone()
    } else {
        FirewallTargets { addresses: ui_sources.to_vec(), ..among.clone() }
    };
    inbound.push(rule("tcp", &ports.web_ui.to_string(), ui));
    // DigitalOcean's way of saying "all ports" (and the only value ICMP rules take).
    inbound.push(rule("icmp", "0", among));
    let anywhere = FirewallTargets { addresses: vec!["0.0.0.0/0".into(), "::/0".into()], ..FirewallTargets::default() };
    let outbound = ["tcp", "udp", "icmp"]
        .iter()
        .map(|p| OutboundRule { protocol: (*p).into(), ports: "0".into(), destinations: anywhere.clone() })
        .collect();
    CreateFirewall { name: tag.clone(), tags: vec![tag], inbound_rules: inbound, outbound_rules: outbound }
}

/// A droplet's SSH host key, generated by the operator and installed through `user_data`,
/// so that the first connection already verifies it. The private half is only ever in the
/// `user_data` rendered for that droplet; `Debug` does not show it.
#[derive(Clone)]
pub struct HostKey {
    private_openssh: String,
    /// `ssh-ed25519 AAAA...` (no comment), for a known_hosts line.
    pub public_openssh: String,
    /// `SHA256:...`, as `ssh-keygen -l` and the events show it.
    pub fingerprint: String,
}

impl fmt::Debug for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostKey")
            .field("public_openssh", &self.public_openssh)
            .field("fingerprint", &self.fingerprint)
            .field("private_openssh", &"<redacted>")
            .finish()
    }
}

impl HostKey {
    pub fn generate() -> Result<HostKey, DoError> {
        use russh::keys::{Algorithm, HashAlg, PrivateKey};
        let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
            .map_err(|e| DoError::HostKey(format!("generating an ed25519 host key: {e}")))?;
        HostKey::from_private(&key).map(|mut k| {
            k.fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
            k
        })
    }

    /// Reads a host key back from its OpenSSH private form (kept in the state directory
    /// between the creation of a droplet and its first connection).
    pub fn from_openssh(private_openssh: &str) -> Result<HostKey, DoError> {
        let key = russh::keys::PrivateKey::from_openssh(private_openssh)
            .map_err(|e| DoError::HostKey(format!("reading a host key: {e}")))?;
        let mut k = HostKey::from_private(&key)?;
        k.fingerprint = key.fingerprint(russh::keys::HashAlg::Sha256).to_string();
        Ok(k)
    }

    fn from_private(key: &russh::keys::PrivateKey) -> Result<HostKey, DoError> {
        let private_openssh = key
            .to_openssh(russh::keys::ssh_key::LineEnding::LF)
            .map_err(|e| DoError::HostKey(format!("encoding a host key: {e}")))?
            .to_string();
        let mut public = key.public_key().clone();
        public.set_comment("");
        let public_openssh =
            public.to_openssh().map_err(|e| DoError::HostKey(format!("encoding a host key: {e}")))?.trim().to_string();
        Ok(HostKey { private_openssh, public_openssh, fingerprint: String::new() })
    }

    pub fn private_openssh(&self) -> &str {
        &self.private_openssh
    }

    /// The known_hosts line for a droplet's address.
    pub fn known_hosts_line(&self, address: &str, port: u16) -> String {
        if port == 22 {
            format!("{address} {}", self.public_openssh)
        } else {
            format!("[{address}]:{port} {}", self.public_openssh)
        }
    }
}

/// The cloud-config a droplet is created with: cloud-init's `ssh_keys` module installs the
/// given ed25519 host key before sshd first starts, deletes any other host key and generates
/// none, so the only key sshd can present is the one the operator knows. The login key is
/// authorized for root (DigitalOcean images log in as root).
///
/// The user_data holds the droplet's private host key: it is readable on the droplet
/// through the metadata service, which is where that key lives anyway, and DigitalOcean's API
/// does not return it in droplet listings.
pub fn render_user_data(host_key: &HostKey, login_public_keys: &[String]) -> String {
    let mut out = String::from("#cloud-config\n");
    out.push_str("ssh_deletekeys: true\n");
    out.push_str("ssh_genkeytypes: []\n");
    out.push_str("ssh_keys:\n");
    out.push_str("  ed25519_private: |\n");
    for line in host_key.private_openssh.lines() {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!("  ed25519_public: {}\n", double_quoted(&host_key.public_openssh)));
    if !login_public_keys.is_empty() {
        out.push_str("ssh_authorized_keys:\n");
        for k in login_public_keys {
            out.push_str(&format!("  - {}\n", double_quoted(k.trim())));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::digitalocean::types::Networks;

    fn droplet(id: u64, name: &str, tag: &str, status: &str) -> Droplet {
        Droplet {
            id,
            name: name.into(),
            status: status.into(),
            tags: vec![tag.into()],
            networks: Networks::default(),
            created_at: String::new(),
            size_slug: String::new(),
        }
    }

    #[test]
    fn from_nothing_every_node_is_created_in_one_plan() {
        let plan = plan_droplets("demo", 3, &[]);
        assert_eq!(plan.create, ["sparkswarm-demo-1", "sparkswarm-demo-2", "sparkswarm-demo-3"]);
        assert!(plan.delete.is_empty() && plan.keep.is_empty());
    }

    #[test]
    fn a_restart_mid_creation_creates_only_what_is_missing() {
        // The operator died after the droplets of a first request existed (tagged, since the
        // tag is part of the request), with node 3 still to come.
        let seen = [
            droplet(11, "sparkswarm-demo-1", "sparkswarm-demo", "new"),
            droplet(12, "sparkswarm-demo-2", "sparkswarm-demo", "active"),
        ];
        let plan = plan_droplets("demo", 3, &seen);
        assert_eq!(plan.create, ["sparkswarm-demo-3"]);
        assert!(plan.delete.is_empty());
        assert_eq!(plan.keep, BTreeMap::from([(1, 11), (2, 12)]));
        // Planning again on the complete set is a no-op: level-triggered, idempotent.
        let all = [seen[0].clone(), seen[1].clone(), droplet(13, "sparkswarm-demo-3", "sparkswarm-demo", "new")];
        assert!(plan_droplets("demo", 3, &all).is_noop());
    }

    #[test]
    fn duplicates_foreign_names_and_archived_droplets_are_deleted() {
        let seen = [
            droplet(21, "sparkswarm-demo-1", "sparkswarm-demo", "active"),
            droplet(25, "sparkswarm-demo-1", "sparkswarm-demo", "new"),
            droplet(22, "sparkswarm-demo-2", "sparkswarm-demo", "archive"),
            droplet(23, "handmade", "sparkswarm-demo", "active"),
            droplet(24, "sparkswarm-demo-01", "sparkswarm-demo", "active"),
            // Not ours: another cluster's tag (a listing by tag would not even return it).
            droplet(26, "sparkswarm-demo-2", "sparkswarm-other", "active"),
        ];
        let mut plan = plan_droplets("demo", 2, &seen);
        plan.delete.sort();
        assert_eq!(plan.delete, [22, 23, 24, 25]);
        assert_eq!(plan.keep, BTreeMap::from([(1, 21)]));
        assert_eq!(plan.create, ["sparkswarm-demo-2"]);
    }

    #[test]
    fn scaling_down_deletes_the_highest_nodes_first_and_never_the_manager() {
        let seen: Vec<Droplet> = (1..=5)
            .map(|i| droplet(30 + u64::from(i), &droplet_name("demo", i), "sparkswarm-demo", "active"))
            .collect();
        let plan = plan_droplets("demo", 2, &seen);
        assert_eq!(plan.delete, [35, 34, 33]);
        assert!(plan.create.is_empty());
        let up = plan_droplets("demo", 7, &seen);
        assert_eq!(up.create, ["sparkswarm-demo-6", "sparkswarm-demo-7"]);
        let none = plan_droplets("demo", 0, &seen);
        assert_eq!(none.delete.len(), 5);
    }

    #[test]
    fn a_droplet_without_a_stored_host_key_is_replaced_not_trusted() {
        let seen: Vec<Droplet> = (1..=3)
            .map(|i| droplet(40 + u64::from(i), &droplet_name("demo", i), "sparkswarm-demo", "active"))
            .collect();
        let mut plan = plan_droplets("demo", 3, &seen);
        assert!(plan.is_noop());
        let replaced = replace_unverifiable("demo", &mut plan, |n| n != "sparkswarm-demo-2");
        assert_eq!(replaced, ["sparkswarm-demo-2"]);
        assert_eq!(plan.delete, [42]);
        assert_eq!(plan.create, ["sparkswarm-demo-2"]);
        assert_eq!(plan.keep, BTreeMap::from([(1, 41), (3, 43)]));
        // With every key at hand, nothing changes.
        let mut again = plan_droplets("demo", 3, &seen);
        assert!(replace_unverifiable("demo", &mut again, |_| true).is_empty() && again.is_noop());
    }

    #[test]
    fn names() {
        assert_eq!(node_index("demo", "sparkswarm-demo-12"), Some(12));
        assert_eq!(node_index("demo", "sparkswarm-demo-0"), None);
        assert_eq!(node_index("demo", "sparkswarm-demo-x"), None);
        assert_eq!(node_index("demo", "sparkswarm-demox-1"), None);
        assert_eq!(node_index("demo", &droplet_name("demo", 7)), Some(7));
    }

    #[test]
    fn each_creation_request_carries_the_tag_and_its_own_host_key() {
        let template = DropletTemplate {
            region: "nyc3".into(),
            size: "s-2vcpu-4gb".into(),
            image: "debian-12-x64".into(),
            ssh_keys: vec![SshKeyRef::Id(7)],
            login_public_keys: vec![],
        };
        let (k1, k2) = (HostKey::generate().unwrap(), HostKey::generate().unwrap());
        let r1 = creation_request("demo", "sparkswarm-demo-1", &template, &k1);
        let r2 = creation_request("demo", "sparkswarm-demo-2", &template, &k2);
        assert_eq!(r1.tags, ["sparkswarm-demo"]);
        assert_eq!(r1.names, ["sparkswarm-demo-1"]);
        let (u1, u2) = (r1.user_data.unwrap(), r2.user_data.unwrap());
        assert!(u1.contains(&k1.public_openssh) && !u1.contains(&k2.public_openssh));
        assert!(u2.contains(&k2.public_openssh) && !u2.contains(&k1.public_openssh));
    }

    #[test]
    fn the_firewall_opens_ssh_to_the_operator_and_the_swarm_only_among_the_cluster() {
        let ports = ClusterPorts { master: 7077, web_ui: 8080, registry: 5000 };
        let fw = firewall_request("demo", "198.51.100.7".parse().unwrap(), ports, &[]);
        assert_eq!(fw.name, "sparkswarm-demo");
        assert_eq!(fw.tags, ["sparkswarm-demo"]);
        let ssh = fw.inbound_rules.iter().find(|r| r.ports == "22").unwrap();
        assert_eq!(ssh.sources.addresses, ["198.51.100.7/32"]);
        assert!(ssh.sources.tags.is_empty());
        for (protocol, port) in [
            ("tcp", "2377"),
            ("tcp", "7946"),
            ("udp", "7946"),
            ("udp", "4789"),
            ("tcp", "7077"),
            ("tcp", "5000"),
            ("tcp", "8080"),
        ] {
            let r = fw.inbound_rules.iter().find(|r| r.protocol == protocol && r.ports == port).unwrap();
            assert_eq!(r.sources.tags, ["sparkswarm-demo"]);
            assert!(r.sources.addresses.is_empty(), "{protocol}/{port} is open to addresses");
        }
        // Nothing but SSH is reachable from an address; the UI is closed unless opened.
        assert!(fw.inbound_rules.iter().filter(|r| !r.sources.addresses.is_empty()).all(|r| r.ports == "22"));

        let open = firewall_request("demo", "2001:db8::7".parse().unwrap(), ports, &["203.0.113.0/24".into()]);
        assert_eq!(open.inbound_rules[0].sources.addresses, ["2001:db8::7/128"]);
        let ui = open.inbound_rules.iter().find(|r| r.ports == "8080").unwrap();
        assert_eq!(ui.sources.addresses, ["203.0.113.0/24"]);
        assert_eq!(ui.sources.tags, ["sparkswarm-demo"], "the droplets keep reaching it");
    }

    #[test]
    fn the_host_key_is_known_before_the_first_connection() {
        let key = HostKey::generate().unwrap();
        assert!(key.public_openssh.starts_with("ssh-ed25519 AAAA"), "{}", key.public_openssh);
        assert!(key.fingerprint.starts_with("SHA256:"), "{}", key.fingerprint);
        assert!(!format!("{key:?}").contains("PRIVATE KEY"));
        // It survives a round trip through the state directory.
        let again = HostKey::from_openssh(key.private_openssh()).unwrap();
        assert_eq!(again.public_openssh, key.public_openssh);
        assert_eq!(again.fingerprint, key.fingerprint);
        assert_eq!(key.known_hosts_line("203.0.113.5", 22), format!("203.0.113.5 {}", key.public_openssh));
        assert_eq!(key.known_hosts_line("127.0.0.1", 2222), format!("[127.0.0.1]:2222 {}", key.public_openssh));
        assert_ne!(HostKey::generate().unwrap().public_openssh, key.public_openssh, "each droplet its own key");
    }

    #[test]
    fn user_data_is_cloud_config_that_installs_exactly_that_key() {
        let key = HostKey::generate().unwrap();
        let login =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl op: #1".to_string();
        let text = render_user_data(&key, std::slice::from_ref(&login));
        assert!(text.starts_with("#cloud-config\n"));
        let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(doc["ssh_deletekeys"], true);
        assert_eq!(doc["ssh_genkeytypes"], serde_json::json!([]));
        assert_eq!(doc["ssh_keys"]["ed25519_public"], key.public_openssh.as_str());
        assert_eq!(doc["ssh_keys"]["ed25519_private"].as_str().unwrap(), key.private_openssh());
        assert_eq!(doc["ssh_authorized_keys"][0], login.as_str());
        // What cloud-init writes is a key that parses back to the same public key.
        let parsed = HostKey::from_openssh(doc["ssh_keys"]["ed25519_private"].as_str().unwrap()).unwrap();
        assert_eq!(parsed.public_openssh, key.public_openssh);
    }
}
