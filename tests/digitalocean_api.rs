//! The DigitalOcean API client against the stand-in (`tests/do_standin`), which checks both
//! sides against the contract. Fast: no Docker, no Spark.

mod do_standin;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use do_standin::{contract::Contract, Config, Standin};
use sparkswarm::runtime::digitalocean::provider::ClusterPorts;
use sparkswarm::runtime::digitalocean::types::*;
use sparkswarm::runtime::digitalocean::{Client, ClientOptions, Token};

const PORTS: ClusterPorts = ClusterPorts { master: 7077, web_ui: 8080, registry: 5000 };

fn client_for(standin: &Standin, token: &str) -> Client {
    standin.client(token)
}

fn assert_no_violations(standin: &Standin) {
    let v = standin.violations();
    assert!(v.is_empty(), "contract violations:\n{}", v.join("\n"));
}

/// Polls the droplets of `tag` until `n` are active with a public IPv4, or the deadline.
async fn wait_active(client: &Client, tag: &str, n: usize, deadline: Duration) -> Vec<Droplet> {
    let start = Instant::now();
    loop {
        let droplets = client.list_droplets_by_tag(tag).await.unwrap();
        if droplets.len() == n && droplets.iter().all(|d| d.is_active() && d.public_ipv4().is_some()) {
            return droplets;
        }
        assert!(start.elapsed() < deadline, "droplets of {tag} not active after {deadline:?}: {droplets:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn droplets_created_together_waited_listed_across_pages_and_deleted_by_tag() {
    let standin = Standin::start(Config {
        boot_delay: Duration::from_millis(600),
        max_per_page: 2,
        throttle_every: Some(9),
        fail_every: Some(4),
        ..Config::default()
    })
    .await;
    let client = client_for(&standin, standin.token());

    let account = client.account().await.unwrap();
    assert_eq!(account.status, "active");
    client.create_tag("sparkswarm-demo").await.unwrap();

    let request = CreateDroplets {
        names: (1..=3).map(|i| format!("sparkswarm-demo-{i}")).collect(),
        region: "nyc3".into(),
        size: "s-2vcpu-4gb".into(),
        image: "debian-12-x64".into(),
        ssh_keys: vec![],
        tags: vec!["sparkswarm-demo".into()],
        user_data: Some("#cloud-config\n".into()),
        monitoring: None,
    };
    let (created, actions) = client.create_droplets(&request).await.unwrap();
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|d| d.status == "new" && d.tags == vec!["sparkswarm-demo".to_string()]));
    assert_eq!(actions.len(), 3);
    // Another cluster's droplets, which listing and deleting by tag must not touch.
    let other = CreateDroplets {
        names: vec!["other-1".into(), "other-2".into()],
        tags: vec!["sparkswarm-other".into()],
        ..request.clone()
    };
    client.create_droplets(&other).await.unwrap();

    let active = wait_active(&client, "sparkswarm-demo", 3, Duration::from_secs(20)).await;
    let mut names: Vec<_> = active.iter().map(|d| d.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["sparkswarm-demo-1", "sparkswarm-demo-2", "sparkswarm-demo-3"]);
    let one = client.get_droplet(active[0].id).await.unwrap();
    assert_eq!(one.public_ipv4(), active[0].public_ipv4());
    for a in &actions {
        assert_eq!(client.get_action(a.id).await.unwrap().status, "completed");
    }

    // Three droplets at two a page: the list was assembled from two pages.
    let seen = standin.seen();
    assert!(
        seen.iter()
            .any(|s| s.operation.as_deref() == Some("droplets_list") && s.query.contains("page=2") && s.status == 200),
        "no second page fetched"
    );
    // Faults were injected and absorbed by the retries.
    assert!(seen.iter().any(|s| s.status == 429), "no 429 was injected");
    assert!(seen.iter().any(|s| s.status == 500), "no 500 was injected");

    assert!(client.delete_droplets_by_tag("sparkswarm-demo").await.unwrap());
    assert!(client.list_droplets_by_tag("sparkswarm-demo").await.unwrap().is_empty());
    assert_eq!(client.list_droplets_by_tag("sparkswarm-other").await.unwrap().len(), 2);
    assert_eq!(standin.droplets().len(), 2);
    assert_no_violations(&standin);
}

#[tokio::test]
async fn api_errors_surface_message_and_request_id() {
    let standin = Standin::start(Config::default()).await;
    let client = client_for(&standin, standin.token());

    let e = client.get_droplet(42).await.unwrap_err();
    assert_eq!(e.reason(), "NotFound");
    let failure = e.api_failure().unwrap();
    assert_eq!(failure.id, "not_found");
    let rid = failure.request_id.clone().unwrap();
    let text = e.to_string();
    assert!(text.contains("could not be found") && text.contains(&rid), "{text}");

    let wrong = client_for(&standin, "dop_v1_wrong_token_do_not_print");
    let e = wrong.account().await.unwrap_err();
    assert_eq!(e.reason(), "Unauthorized");
    let text = format!("{e} {e:?}");
    assert!(text.contains("Unable to authenticate you"), "{text}");
    assert!(!text.contains("do_not_print") && !text.contains(standin.token()), "{text}");
    assert_no_violations(&standin);
}

#[tokio::test]
async fn ssh_keys_and_firewalls_have_a_full_lifecycle() {
    let standin = Standin::start(Config { max_per_page: 2, fail_every: Some(3), ..Config::default() }).await;
    let client = client_for(&standin, standin.token());

    let mut keys = Vec::new();
    for i in 0..3 {
        let key = client
            .create_ssh_key(&CreateSshKey {
                name: format!("sparkswarm-demo-{i}"),
                public_key: format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{i:0>43} sparkswarm"),
            })
            .await
            .unwrap();
        keys.push(key);
    }
    assert_eq!(client.list_ssh_keys().await.unwrap().len(), 3);
    let dup = client
        .create_ssh_key(&CreateSshKey { name: "again".into(), public_key: keys[0].public_key.clone() })
        .await
        .unwrap_err();
    assert_eq!(dup.reason(), "ApiError");
    assert!(dup.to_string().contains("already in use"), "{dup}");
    assert!(client.delete_ssh_key(&keys[0].fingerprint).await.unwrap());
    assert!(client.delete_ssh_key(&keys[1].id.to_string()).await.unwrap());
    assert!(!client.delete_ssh_key(&keys[1].id.to_string()).await.unwrap(), "a second delete finds it gone");
    assert_eq!(client.list_ssh_keys().await.unwrap().len(), 1);

    let tag = "sparkswarm-demo".to_string();
    let among = FirewallTargets { tags: vec![tag.clone()], ..Default::default() };
    let request = CreateFirewall {
        name: "sparkswarm-demo".into(),
        tags: vec![tag.clone()],
        inbound_rules: vec![
            InboundRule {
                protocol: "tcp".into(),
                ports: "22".into(),
                sources: FirewallTargets { addresses: vec!["198.51.100.7/32".into()], ..Default::default() },
            },
            InboundRule { protocol: "tcp".into(), ports: "2377".into(), sources: among.clone() },
            InboundRule { protocol: "udp".into(), ports: "4789".into(), sources: among.clone() },
        ],
        outbound_rules: vec![OutboundRule {
            protocol: "tcp".into(),
            ports: "0".into(),
            destinations: FirewallTargets { addresses: vec!["0.0.0.0/0".into(), "::/0".into()], ..Default::default() },
        }],
    };
    // DigitalOcean's port syntax is checked beyond the schema: "all" is not a port.
    let mut bad = request.clone();
    bad.outbound_rules[0].ports = "all".into();
    let e = client.create_firewall(&bad).await.unwrap_err();
    assert!(e.to_string().contains("invalid ports"), "{e}");
    let fw = client.create_firewall(&request).await.unwrap();
    assert_eq!(fw.tags, vec![tag.clone()]);
    assert_eq!(fw.inbound_rules, request.inbound_rules);
    let listed = client.list_firewalls().await.unwrap();
    assert_eq!(listed.len(), 1);
    let planned = sparkswarm::runtime::digitalocean::provider::firewall_request(
        "other",
        "198.51.100.7".parse().unwrap(),
        PORTS,
        &["203.0.113.0/24".into()],
    );
    let planned = client.create_firewall(&planned).await.unwrap();
    assert_eq!(client.list_firewalls().await.unwrap().len(), 2);
    assert!(client.delete_firewall(&planned.id).await.unwrap());
    assert!(client.delete_firewall(&fw.id).await.unwrap());
    assert!(client.list_firewalls().await.unwrap().is_empty());
    assert_eq!(standin.firewall_count(), 0);
    assert_no_violations(&standin);
}

/// `ratelimit-remaining: 0` makes the client wait for `ratelimit-reset` instead of running
/// into 429s: with 4 requests a second, 10 requests see no 429 at all.
#[tokio::test]
async fn an_exhausted_rate_limit_is_waited_out() {
    let standin = Standin::start(Config { ratelimit_limit: 4, ratelimit_window_secs: 1, ..Config::default() }).await;
    let client = client_for(&standin, standin.token());
    for _ in 0..10 {
        client.account().await.unwrap();
    }
    let statuses: Vec<u16> = standin.seen().iter().map(|s| s.status).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses.len(), 10);
    assert_no_violations(&standin);
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything at TRACE (reqwest's and hyper's too) goes to a buffer while the client works
/// through retries and errors; the token appears nowhere in it, nor in any error.
#[tokio::test]
async fn the_token_never_appears_in_logs_or_errors() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let standin = Standin::start(Config {
        throttle_every: Some(3),
        fail_every: Some(2),
        retry_after_secs: 1,
        ..Config::default()
    })
    .await;
    let token = standin.token().to_string();
    let client = client_for(&standin, &token);
    let mut shown = format!("{client:?}");
    client.account().await.unwrap();
    client.list_droplets_by_tag("sparkswarm-demo").await.unwrap();
    let mut errors = vec![
        client.get_droplet(7).await.unwrap_err(),
        client_for(&standin, "dop_v1_another_secret_value").account().await.unwrap_err(),
    ];
    // Deleting what is not there is success (level-triggered); any other outcome is shown.
    if let Err(e) = client.delete_firewall("0b0c8e4f-0000-4000-8000-000000000000").await {
        errors.push(e);
    }
    for e in &errors {
        shown.push_str(&format!("{e} {e:?}\n"));
    }
    // An unreachable API: the transport error must not quote the token either.
    let dead = Client::new(
        Token::new(token.clone()).unwrap(),
        ClientOptions {
            base_url: Some("http://127.0.0.1:9".into()),
            max_attempts: 2,
            backoff_base: Duration::from_millis(10),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let e = dead.account().await.unwrap_err();
    assert_eq!(e.reason(), "Transport");
    shown.push_str(&format!("{e} {e:?}\n"));

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "the retries were not logged:\n{logs}");
    for secret in [token.as_str(), "another_secret_value"] {
        assert!(!logs.contains(secret), "the token is in the logs:\n{logs}");
        assert!(!shown.contains(secret), "the token is in an error or Debug output:\n{shown}");
    }
    // The stand-in did receive it, so its absence above means something.
    assert!(standin.seen().iter().any(|s| s.authorization.contains(&token)));
    assert_no_violations(&standin);
}

/// The checker is not vacuous: it rejects a request and a response that break the contract.
#[test]
fn the_contract_checker_catches_violations() {
    let contract = Contract::load(&do_standin::contract::contract_path()).unwrap();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("authorization", "Bearer x".parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());

    // Droplet creation without size and image, an undeclared query parameter, no token.
    let v = contract.check_request("POST", "/v2/droplets", "", &headers, br#"{"names":["a"]}"#).unwrap_err();
    assert!(v.iter().any(|e| e.contains("request body")), "{v:?}");
    assert!(contract.check_request("GET", "/v2/droplets", "colour=blue", &headers, b"").is_err());
    assert!(contract.check_request("GET", "/v2/droplets", "per_page=500", &headers, b"").is_err());
    assert!(contract.check_request("DELETE", "/v2/droplets", "", &headers, b"").is_err(), "tag_name is required");
    assert!(contract.check_request("GET", "/v2/droplets/abc", "", &headers, b"").is_err(), "droplet_id is an integer");
    assert!(contract.check_request("GET", "/v2/nothing", "", &headers, b"").is_err());
    let anonymous = axum::http::HeaderMap::new();
    assert!(contract.check_request("GET", "/v2/account", "", &anonymous, b"").is_err());
    // Requests are strict: a misspelt field, a read-only field, an unknown nested field.
    assert!(contract.check_request("POST", "/v2/tags", "", &headers, br#"{"name":"a"}"#).is_ok());
    assert!(contract.check_request("POST", "/v2/tags", "", &headers, br#"{"name":"a","nmae":"b"}"#).is_err());
    let key = br#"{"name":"k","public_key":"ssh-ed25519 AAAA","id":3}"#;
    assert!(contract.check_request("POST", "/v2/account/keys", "", &headers, key).is_err(), "id is readOnly");
    let droplets = br#"{"names":["a","b"],"size":"s","image":"debian-12-x64","tags":["t"],"user_data":"x"}"#;
    assert!(contract.check_request("POST", "/v2/droplets", "", &headers, droplets).is_ok());
    let droplets = br#"{"names":["a","b"],"size":"s","image":"debian-12-x64","user_date":"x"}"#;
    assert!(contract.check_request("POST", "/v2/droplets", "", &headers, droplets).is_err());
    let fw = br#"{"name":"fw","inbound_rules":[{"protocol":"tcp","ports":"22","sources":{"addresses":["1.2.3.4"]}}]}"#;
    let r = contract.check_request("POST", "/v2/firewalls", "", &headers, fw);
    assert!(r.is_ok(), "{:?}", r.err());
    let fw = br#"{"name":"fw","inbound_rules":[{"protocol":"tcp","ports":"22","source":{"addresses":["1.2.3.4"]}}]}"#;
    assert!(contract.check_request("POST", "/v2/firewalls", "", &headers, fw).is_err());
    let mut plain = headers.clone();
    plain.insert("content-type", "text/plain".parse().unwrap());
    assert!(contract.check_request("POST", "/v2/tags", "", &plain, br#"{"name":"a"}"#).is_err());
    // And a valid one passes, with the literal route preferred over the template.
    let m = contract.check_request("GET", "/v2/droplets", "tag_name=x&per_page=2&page=1", &headers, b"").unwrap();
    assert_eq!(m.operation, "droplets_list");
    let m = contract.check_request("GET", "/v2/droplets/autoscale", "", &headers, b"").unwrap();
    assert_eq!(m.operation, "autoscalepools_list");

    // A droplet missing most required fields, and a null where the contract has no
    // `nullable`; while a nullable field may be null.
    let mut rh = axum::http::HeaderMap::new();
    rh.insert("content-type", "application/json".parse().unwrap());
    for h in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        rh.insert(h, "1".parse().unwrap());
    }
    let v = contract.check_response("droplets_get", 200, &rh, br#"{"droplet":{"id":1,"name":"x"}}"#);
    assert!(!v.is_empty());
    let account = br#"{"account":{"droplet_limit":1,"floating_ip_limit":1,"email":"e","uuid":"u","email_verified":true,"status":"active","status_message":""}}"#;
    assert!(contract.check_response("account_get", 200, &rh, account).is_empty());
    let account = br#"{"account":{"droplet_limit":1,"floating_ip_limit":1,"email":"e","uuid":"u","email_verified":true,"status":"active","status_message":"","colour":"blue"}}"#;
    assert!(
        !contract.check_response("account_get", 200, &rh, account).is_empty(),
        "a field the contract does not describe"
    );
    let v = contract.check_response(
        "actions_get",
        200,
        &rh,
        br#"{"action":{"id":1,"completed_at":null,"region_slug":null}}"#,
    );
    assert!(v.is_empty(), "{v:?}");
    let v = contract.check_response("actions_get", 200, &rh, br#"{"action":{"id":1,"status":null}}"#);
    assert!(!v.is_empty());
    // A 204 with a body, a status the operation does not list is still covered by default
    // (the error schema), and a missing ratelimit header is caught.
    assert!(!contract.check_response("droplets_destroy_byTag", 204, &rh, b"{}").is_empty());
    assert!(contract.check_response("droplets_get", 503, &rh, br#"{"id":"unavailable","message":"m"}"#).is_empty());
    let mut bare = rh.clone();
    bare.remove("ratelimit-reset");
    assert!(!contract.check_response("account_get", 401, &bare, br#"{"id":"unauthorized","message":"m"}"#).is_empty());
}

/// The provider's plan executed against the API: an operator that dies mid-creation and a
/// restarted one end with exactly the declared droplets (the truth is in the tag), each with
/// its own host key in its user_data; then scale up, down, and destroy by tag.
#[tokio::test]
async fn planned_creation_survives_a_restart_and_scales_by_tag() {
    use sparkswarm::runtime::digitalocean::provider::*;
    let standin = Standin::start(Config {
        boot_delay: Duration::from_millis(400),
        max_per_page: 2,
        fail_every: Some(5),
        throttle_every: Some(11),
        ..Config::default()
    })
    .await;
    let template = DropletTemplate {
        region: "nyc3".into(),
        size: "s-2vcpu-4gb".into(),
        image: "debian-12-x64".into(),
        ssh_keys: vec![],
        login_public_keys: vec![
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl operator".into(),
        ],
    };
    let tag = cluster_tag("demo");
    async fn create(client: &Client, names: &[String], template: &DropletTemplate) {
        let requests: Vec<_> =
            names.iter().map(|n| creation_request("demo", n, template, &HostKey::generate().unwrap())).collect();
        futures::future::try_join_all(requests.iter().map(|r| client.create_droplets(r))).await.unwrap();
    }

    // The first operator plans three, sends two of the requests, and dies.
    let first = client_for(&standin, standin.token());
    let plan = plan_droplets("demo", 3, &first.list_droplets_by_tag(&tag).await.unwrap());
    assert_eq!(plan.create.len(), 3);
    create(&first, &plan.create[..2], &template).await;
    drop(first);

    // The restarted operator sees the two (still booting) and creates only the third.
    let client = client_for(&standin, standin.token());
    let plan = plan_droplets("demo", 3, &client.list_droplets_by_tag(&tag).await.unwrap());
    assert_eq!(plan.create, ["sparkswarm-demo-3"]);
    assert!(plan.delete.is_empty());
    create(&client, &plan.create, &template).await;
    assert!(plan_droplets("demo", 3, &client.list_droplets_by_tag(&tag).await.unwrap()).is_noop());
    let active = sparkswarm::runtime::digitalocean::provider::wait_active(
        &client,
        &tag,
        3,
        Duration::from_secs(20),
        Duration::from_millis(50),
    )
    .await
    .unwrap();
    assert_eq!(standin.droplets().len(), 3);
    let user_data: std::collections::BTreeSet<String> =
        standin.droplets().iter().map(|d| d.user_data.clone().unwrap()).collect();
    assert_eq!(user_data.len(), 3, "each droplet has its own host key");

    let e = sparkswarm::runtime::digitalocean::provider::wait_active(
        &client,
        &tag,
        5,
        Duration::from_millis(300),
        Duration::from_millis(50),
    )
    .await
    .unwrap_err();
    assert_eq!(e.reason(), "Timeout", "{e}");

    // Scale to 4, then down to 2: the highest nodes go.
    let plan = plan_droplets("demo", 4, &active);
    assert_eq!(plan.create, ["sparkswarm-demo-4"]);
    create(&client, &plan.create, &template).await;
    let four = crate::wait_active(&client, &tag, 4, Duration::from_secs(20)).await;
    let plan = plan_droplets("demo", 2, &four);
    assert_eq!(plan.delete.len(), 2);
    for id in &plan.delete {
        assert!(client.delete_droplet(*id).await.unwrap());
    }
    let mut left: Vec<String> = client.list_droplets_by_tag(&tag).await.unwrap().into_iter().map(|d| d.name).collect();
    left.sort();
    assert_eq!(left, ["sparkswarm-demo-1", "sparkswarm-demo-2"]);

    // Deletion: droplets by tag, the cluster's firewall and its registered key; another
    // cluster's firewall and a key the operator did not register stay.
    client.create_firewall(&firewall_request("demo", "198.51.100.7".parse().unwrap(), PORTS, &[])).await.unwrap();
    client.create_firewall(&firewall_request("other", "198.51.100.7".parse().unwrap(), PORTS, &[])).await.unwrap();
    let key = |n: u8| format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{n:0>43}");
    client.create_ssh_key(&CreateSshKey { name: ssh_key_name("demo"), public_key: key(1) }).await.unwrap();
    client.create_ssh_key(&CreateSshKey { name: "my-laptop".into(), public_key: key(2) }).await.unwrap();
    let gone = destroy(&client, "demo").await.unwrap();
    assert_eq!(gone, Destroyed { droplets: 2, firewalls: 1, ssh_keys: 1 });
    assert!(client.list_droplets_by_tag(&tag).await.unwrap().is_empty());
    assert!(standin.droplets().is_empty());
    assert_eq!(standin.firewall_count(), 1);
    assert_eq!(standin.ssh_key_count(), 1);
    assert!(destroy(&client, "demo").await.unwrap().is_empty(), "a second run finds nothing left");
    assert_no_violations(&standin);
}

/// The TLS stack is in place (a crypto provider, certificate verification): an https URL to
/// a server that does not speak TLS fails as a transport error, not a panic nor plain HTTP.
#[tokio::test]
async fn https_is_spoken_and_failures_are_transport_errors() {
    let standin = Standin::start(Config::default()).await;
    let url = standin.url.replace("http://", "https://");
    let opts = ClientOptions {
        base_url: Some(url),
        max_attempts: 2,
        backoff_base: Duration::from_millis(10),
        ..ClientOptions::default()
    };
    let client = Client::new(Token::new(standin.token()).unwrap(), opts).unwrap();
    let e = client.account().await.unwrap_err();
    assert_eq!(e.reason(), "Transport", "{e}");
    assert!(!e.to_string().contains(standin.token()));
    // The stand-in saw no HTTP request at all: the client did not fall back to plain text.
    assert!(standin.seen().is_empty());
}
