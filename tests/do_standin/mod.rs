//! A stand-in for the DigitalOcean API v2, for tests: an axum server on 127.0.0.1 that keeps
//! droplets, SSH keys, firewalls, tags and actions in memory, checks every request it gets
//! against the contract and every response it sends (see `contract`), and records each
//! violation for the test to assert on. It simulates what the provider must cope with: boot
//! delay (`new` -> `active` with a public IPv4), small pages, `ratelimit-*` headers with a
//! real window, and 429/5xx injected deterministically by request count.
//!
//! With `Config::hosts`, droplets are real hosts: containers on the local Docker engine
//! running sshd with the host key and login keys of their `user_data` (see `hosts`).
#![allow(dead_code)]

pub mod contract;
pub mod hosts;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};

use contract::Contract;
use hosts::Hosts;
pub use hosts::HostsConfig;

/// The public IPv4 a droplet gets once active, from its id and name.
pub type AddressOf = Arc<dyn Fn(u64, &str) -> String + Send + Sync>;

/// How the stand-in behaves.
#[derive(Clone)]
pub struct Config {
    /// The only token it accepts.
    pub token: String,
    /// How long a droplet stays `new` before it is `active` with an address.
    pub boot_delay: Duration,
    /// The largest page it serves, whatever `per_page` asks: small, to force pagination.
    pub max_per_page: usize,
    /// Every n-th request (counting from 1) is answered 429 with `retry-after`.
    pub throttle_every: Option<u64>,
    /// Every n-th request that is safe to repeat (GET, DELETE) is answered 500. POSTs are
    /// spared: a client must not repeat them blindly (the provider re-plans from tags).
    pub fail_every: Option<u64>,
    /// `retry-after` of injected 429s, in seconds.
    pub retry_after_secs: u64,
    /// Requests per window; once spent, requests get 429 until the window resets.
    pub ratelimit_limit: u64,
    pub ratelimit_window_secs: u64,
    /// The public IPv4 of a droplet once active, from its id and name (without `hosts`).
    pub address_of: AddressOf,
    /// Droplets as real hosts: containers on the local Docker engine running sshd, whose
    /// address on the stand-in's network is their public IPv4 (see `hosts`). None: droplets
    /// are records only.
    pub hosts: Option<HostsConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: "dop_v1_standin_token_0123456789abcdef".into(),
            boot_delay: Duration::from_millis(300),
            max_per_page: 2,
            throttle_every: None,
            fail_every: None,
            retry_after_secs: 1,
            ratelimit_limit: 5000,
            ratelimit_window_secs: 3600,
            address_of: Arc::new(|id, _| format!("203.0.113.{}", id % 250 + 1)),
            hosts: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DropletRec {
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub region: String,
    pub size: String,
    pub image: String,
    pub user_data: Option<String>,
    pub ssh_keys: Vec<Value>,
    created: Instant,
    created_at: String,
}

#[derive(Default)]
struct World {
    next_id: u64,
    droplets: BTreeMap<u64, DropletRec>,
    keys: BTreeMap<u64, Value>,
    firewalls: BTreeMap<String, Value>,
    /// action id -> (droplet id, created)
    actions: BTreeMap<u64, (u64, Instant, String)>,
    tags: BTreeSet<String>,
    window: u64,
    spent: u64,
}

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub operation: Option<String>,
    pub query: String,
    pub status: u16,
    pub authorization: String,
}

struct Shared {
    config: Config,
    contract: Arc<Contract>,
    base: String,
    world: Mutex<World>,
    violations: Mutex<Vec<String>>,
    seen: Mutex<Vec<Seen>>,
    count: AtomicU64,
    safe_count: AtomicU64,
    hosts: Option<Arc<Hosts>>,
}

pub struct Standin {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(hosts) = &self.shared.hosts {
            hosts.close();
        }
    }
}

/// The contract, parsed once per test process (1.5 MB of YAML).
fn contract() -> Arc<Contract> {
    static CONTRACT: OnceLock<Arc<Contract>> = OnceLock::new();
    CONTRACT
        .get_or_init(|| {
            let path = contract::contract_path();
            Arc::new(
                Contract::load(&path)
                    .unwrap_or_else(|e| panic!("the DigitalOcean contract: {e} (set SPARKSWARM_DO_CONTRACT)")),
            )
        })
        .clone()
}

impl Standin {
    pub async fn start(config: Config) -> Standin {
        let contract = tokio::task::spawn_blocking(contract).await.unwrap();
        let hosts = match config.hosts.clone() {
            Some(h) => {
                let boot_delay = config.boot_delay;
                Some(Arc::new(
                    tokio::task::spawn_blocking(move || Hosts::start(h, boot_delay))
                        .await
                        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())),
                ))
            }
            None => None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let shared = Arc::new(Shared {
            config,
            contract,
            base: base.clone(),
            world: Mutex::new(World { next_id: 3_000_000, ..World::default() }),
            violations: Mutex::default(),
            seen: Mutex::default(),
            count: AtomicU64::new(0),
            safe_count: AtomicU64::new(0),
            hosts,
        });
        let app = axum::Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Standin { url: base, shared, task }
    }

    pub fn token(&self) -> &str {
        &self.shared.config.token
    }

    /// The project's own client pointed at the stand-in with `token`, backing off in
    /// milliseconds rather than seconds (the stand-in's faults are injected, not load).
    pub fn client(&self, token: &str) -> sparkswarm::runtime::digitalocean::Client {
        use sparkswarm::runtime::digitalocean::{Client, ClientOptions, Token};
        let opts = ClientOptions {
            base_url: Some(self.url.clone()),
            backoff_base: Duration::from_millis(20),
            backoff_max: Duration::from_millis(200),
            max_wait: Duration::from_secs(3),
            ..ClientOptions::default()
        };
        Client::new(Token::new(token).expect("a token"), opts).expect("a client")
    }

    /// Every contract violation seen so far, requests and responses alike.
    pub fn violations(&self) -> Vec<String> {
        self.shared.violations.lock().unwrap().clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn droplets(&self) -> Vec<DropletRec> {
        self.shared.world.lock().unwrap().droplets.values().cloned().collect()
    }

    pub fn ssh_key_count(&self) -> usize {
        self.shared.world.lock().unwrap().keys.len()
    }

    /// The firewalls as the API would show them.
    pub fn firewalls(&self) -> Vec<Value> {
        self.shared.world.lock().unwrap().firewalls.values().cloned().collect()
    }

    pub fn firewall_count(&self) -> usize {
        self.shared.world.lock().unwrap().firewalls.len()
    }

    fn hosts(&self) -> &Hosts {
        self.shared.hosts.as_deref().expect("the stand-in was started without Config::hosts")
    }

    /// The names of the stand-in's containers on the engine (running or not): empty once
    /// every droplet is destroyed and its container removed. Panics without `Config::hosts`.
    pub fn containers(&self) -> Vec<String> {
        self.hosts().containers()
    }

    /// The stand-in's Docker network, on which droplets have their addresses. Panics
    /// without `Config::hosts`.
    pub fn network(&self) -> &str {
        self.hosts().network()
    }

    /// The public IPv4 of the droplet named `name`, once its container runs.
    pub fn address_of(&self, name: &str) -> Option<String> {
        let id = self.shared.world.lock().unwrap().droplets.values().find(|d| d.name == name).map(|d| d.id)?;
        self.hosts().address(id).map(|a| a.ip)
    }

    /// The gateway of the droplet's network: this machine, as the droplet sees it.
    pub fn gateway_of(&self, name: &str) -> Option<String> {
        let id = self.shared.world.lock().unwrap().droplets.values().find(|d| d.name == name).map(|d| d.id)?;
        self.hosts().address(id).map(|a| a.gateway)
    }

    /// Every failure of the container backend (creating, provisioning, starting, removing a
    /// droplet's container; a `ssh_keys` entry matching no registered key). A droplet whose
    /// container failed stays `new`. Empty without `Config::hosts`.
    pub fn host_errors(&self) -> Vec<String> {
        self.shared.hosts.as_ref().map(|h| h.errors()).unwrap_or_default()
    }
}

fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn error_body(id: &str, message: &str) -> Value {
    json!({ "id": id, "message": message, "request_id": uuid::Uuid::new_v4().to_string() })
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let n = shared.count.fetch_add(1, Ordering::SeqCst) + 1;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 4 << 20).await.unwrap_or_default();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let authorization = parts.headers.get("authorization").and_then(|h| h.to_str().ok()).unwrap_or("").to_string();

    let (operation, status, body_out, extra) =
        match shared.contract.check_request(method.as_str(), &path, &query, &parts.headers, &body) {
            Err(violations) => {
                let message = violations.join("; ");
                shared.violations.lock().unwrap().extend(violations.into_iter().map(|v| format!("request: {v}")));
                (None, 400u16, Some(error_body("bad_request", &message)), Vec::new())
            }
            Ok(m) => {
                let (status, body, extra) = answer(&shared, n, &method, &m, &authorization, &body);
                (Some(m.operation), status, body, extra)
            }
        };

    // Rate-limit headers on every answer, from a window aligned to the clock.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let window_secs = shared.config.ratelimit_window_secs.max(1);
    let window = now / window_secs;
    let remaining = {
        let w = shared.world.lock().unwrap();
        if w.window == window {
            shared.config.ratelimit_limit.saturating_sub(w.spent)
        } else {
            shared.config.ratelimit_limit
        }
    };
    let reset = (window + 1) * window_secs;
    let mut builder = Response::builder()
        .status(status)
        .header("ratelimit-limit", shared.config.ratelimit_limit.to_string())
        .header("ratelimit-remaining", remaining.to_string())
        .header("ratelimit-reset", reset.to_string());
    for (k, v) in &extra {
        builder = builder.header(*k, v.as_str());
    }
    let bytes = match &body_out {
        Some(v) => {
            builder = builder.header("content-type", "application/json; charset=utf-8");
            serde_json::to_vec(v).unwrap()
        }
        None => Vec::new(),
    };
    let response = builder.body(Body::from(bytes.clone())).unwrap();

    if let Some(op) = &operation {
        let violations = shared.contract.check_response(op, status, response.headers(), &bytes);
        shared.violations.lock().unwrap().extend(violations.into_iter().map(|v| format!("response: {v}")));
    }
    shared.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path,
        query,
        operation,
        status,
        authorization,
    });
    response
}

type Answer = (u16, Option<Value>, Vec<(&'static str, String)>);

/// Authentication, rate limit, injected faults, then the operation itself.
fn answer(shared: &Shared, n: u64, method: &Method, m: &contract::Matched, authorization: &str, body: &[u8]) -> Answer {
    let cfg = &shared.config;
    if authorization != format!("Bearer {}", cfg.token) {
        return (401, Some(error_body("unauthorized", "Unable to authenticate you")), vec![]);
    }
    {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let window = now / cfg.ratelimit_window_secs.max(1);
        let mut w = shared.world.lock().unwrap();
        if w.window != window {
            w.window = window;
            w.spent = 0;
        }
        if w.spent >= cfg.ratelimit_limit {
            let wait = (window + 1) * cfg.ratelimit_window_secs.max(1) - now;
            return (
                429,
                Some(error_body("too_many_requests", "API Rate limit exceeded.")),
                vec![("retry-after", wait.max(1).to_string())],
            );
        }
        w.spent += 1;
    }
    if cfg.throttle_every.is_some_and(|k| n.is_multiple_of(k)) {
        return (
            429,
            Some(error_body("too_many_requests", "API Rate limit exceeded.")),
            vec![("retry-after", cfg.retry_after_secs.to_string())],
        );
    }
    if *method == Method::GET || *method == Method::DELETE {
        let s = shared.safe_count.fetch_add(1, Ordering::SeqCst) + 1;
        if cfg.fail_every.is_some_and(|k| s.is_multiple_of(k)) {
            return (500, Some(error_body("server_error", "Server was unable to give you a response.")), vec![]);
        }
    }
    let body: Value = if body.is_empty() { Value::Null } else { serde_json::from_slice(body).unwrap_or(Value::Null) };
    let (status, value) = operation(shared, m, &body);
    (status, value, vec![])
}

fn not_found() -> (u16, Option<Value>) {
    (404, Some(error_body("not_found", "The resource you were accessing could not be found.")))
}

fn query<'a>(m: &'a contract::Matched, name: &str) -> Option<&'a str> {
    m.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn operation(shared: &Shared, m: &contract::Matched, body: &Value) -> (u16, Option<Value>) {
    let cfg = &shared.config;
    let mut w = shared.world.lock().unwrap();
    match m.operation.as_str() {
        "account_get" => (
            200,
            Some(json!({ "account": {
                "droplet_limit": 25, "floating_ip_limit": 3, "email": "standin@example.com",
                "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef", "email_verified": true,
                "status": "active", "status_message": "" } })),
        ),
        "sshKeys_list" => {
            let items: Vec<Value> = w.keys.values().cloned().collect();
            (200, Some(page(shared, "/v2/account/keys", m, "ssh_keys", items)))
        }
        "sshKeys_create" => {
            let name = body["name"].as_str().unwrap_or("").to_string();
            let public_key = body["public_key"].as_str().unwrap_or("").trim().to_string();
            if !public_key.starts_with("ssh-") {
                return (
                    422,
                    Some(error_body(
                        "unprocessable_entity",
                        "Key invalid type, we support 'ssh-rsa', 'ssh-ed25519', ...",
                    )),
                );
            }
            let fingerprint = fingerprint(&public_key);
            if w.keys.values().any(|k| k["fingerprint"] == fingerprint) {
                return (422, Some(error_body("unprocessable_entity", "SSH Key is already in use on your account")));
            }
            w.next_id += 1;
            let id = w.next_id;
            let key = json!({ "id": id, "fingerprint": fingerprint, "public_key": public_key, "name": name });
            w.keys.insert(id, key.clone());
            (201, Some(json!({ "ssh_key": key })))
        }
        "sshKeys_delete" => {
            let ident = m.path_params.get("ssh_key_identifier").cloned().unwrap_or_default();
            let found = w
                .keys
                .iter()
                .find(|(id, k)| id.to_string() == ident || k["fingerprint"] == ident.as_str())
                .map(|(id, _)| *id);
            match found {
                Some(id) => {
                    w.keys.remove(&id);
                    (204, None)
                }
                None => not_found(),
            }
        }
        "droplets_create" => {
            let names: Vec<String> = match (body.get("names"), body.get("name")) {
                (Some(Value::Array(list)), _) => list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
                (_, Some(Value::String(one))) => vec![one.clone()],
                _ => vec![],
            };
            if names.is_empty() || names.len() > 10 {
                return (422, Some(error_body("unprocessable_entity", "between 1 and 10 names are allowed")));
            }
            let tags: Vec<String> =
                body["tags"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_string)).collect();
            let mut droplets = Vec::new();
            let mut actions = Vec::new();
            for name in names {
                w.next_id += 1;
                let id = w.next_id;
                let rec = DropletRec {
                    id,
                    name,
                    tags: tags.clone(),
                    region: body["region"].as_str().unwrap_or("nyc3").to_string(),
                    size: body["size"].as_str().unwrap_or("s-1vcpu-1gb").to_string(),
                    image: body["image"].as_str().map(str::to_string).unwrap_or_else(|| body["image"].to_string()),
                    user_data: body["user_data"].as_str().map(str::to_string),
                    ssh_keys: body["ssh_keys"].as_array().cloned().unwrap_or_default(),
                    created: Instant::now(),
                    created_at: rfc3339(SystemTime::now()),
                };
                for t in &tags {
                    w.tags.insert(t.clone());
                }
                if let Some(hosts) = &shared.hosts {
                    let (registered, unresolved) = registered_keys(&w, &rec.ssh_keys);
                    hosts.boot(id, &rec.name, rec.user_data.as_deref(), registered, unresolved, rec.created);
                }
                droplets.push(droplet_json(shared, &rec));
                w.droplets.insert(id, rec);
                w.next_id += 1;
                let action = w.next_id;
                w.actions.insert(action, (id, Instant::now(), rfc3339(SystemTime::now())));
                actions.push(
                    json!({ "id": action, "rel": "create", "href": format!("{}/v2/actions/{action}", shared.base) }),
                );
            }
            let links = json!({ "actions": actions });
            if droplets.len() == 1 && body.get("name").is_some() {
                (202, Some(json!({ "droplet": droplets[0], "links": links })))
            } else {
                (202, Some(json!({ "droplets": droplets, "links": links })))
            }
        }
        "droplets_list" => {
            let tag = query(m, "tag_name");
            let name = query(m, "name");
            let items: Vec<Value> = w
                .droplets
                .values()
                .filter(|d| tag.is_none_or(|t| d.tags.iter().any(|x| x == t)))
                .filter(|d| name.is_none_or(|n| d.name == n))
                .map(|d| droplet_json(shared, d))
                .collect();
            (200, Some(page(shared, "/v2/droplets", m, "droplets", items)))
        }
        "droplets_get" => {
            let id: u64 = m.path_params.get("droplet_id").and_then(|s| s.parse().ok()).unwrap_or(0);
            match w.droplets.get(&id) {
                Some(d) => (200, Some(json!({ "droplet": droplet_json(shared, d) }))),
                None => not_found(),
            }
        }
        "droplets_destroy_byTag" => {
            let tag = query(m, "tag_name").unwrap_or("").to_string();
            let gone: Vec<u64> = w.droplets.values().filter(|d| d.tags.contains(&tag)).map(|d| d.id).collect();
            w.droplets.retain(|_, d| !d.tags.contains(&tag));
            if let Some(hosts) = &shared.hosts {
                hosts.destroy(&gone);
            }
            (204, None)
        }
        "droplets_destroy" => {
            let id: u64 = m.path_params.get("droplet_id").and_then(|s| s.parse().ok()).unwrap_or(0);
            match w.droplets.remove(&id) {
                Some(_) => {
                    if let Some(hosts) = &shared.hosts {
                        hosts.destroy(&[id]);
                    }
                    (204, None)
                }
                None => not_found(),
            }
        }
        "tags_create" => {
            let name = body["name"].as_str().unwrap_or("").to_string();
            w.tags.insert(name.clone());
            let count = w.droplets.values().filter(|d| d.tags.contains(&name)).count();
            (
                201,
                Some(
                    json!({ "tag": { "name": name, "resources": { "count": count, "droplets": { "count": count } } } }),
                ),
            )
        }
        "firewalls_create" => {
            // Beyond the schema (a string): a port, a range, or "0" for all, as the
            // contract's description says.
            let rules = ["inbound_rules", "outbound_rules"]
                .iter()
                .flat_map(|k| body[*k].as_array().cloned().unwrap_or_default());
            for r in rules {
                let ports = r["ports"].as_str().unwrap_or("");
                if !valid_ports(ports) || (r["protocol"] == "icmp" && ports != "0") {
                    return (400, Some(error_body("bad_request", &format!("invalid ports {ports:?}"))));
                }
            }
            let id = uuid::Uuid::new_v4().to_string();
            let fw = json!({
                "id": id,
                "name": body["name"],
                "status": "succeeded",
                "created_at": rfc3339(SystemTime::now()),
                "pending_changes": [],
                "droplet_ids": body.get("droplet_ids").cloned().unwrap_or(json!([])),
                "tags": body.get("tags").cloned().unwrap_or(json!([])),
                "inbound_rules": body.get("inbound_rules").cloned().unwrap_or(json!([])),
                "outbound_rules": body.get("outbound_rules").cloned().unwrap_or(json!([])),
            });
            w.firewalls.insert(id, fw.clone());
            (202, Some(json!({ "firewall": fw })))
        }
        "firewalls_list" => {
            let items: Vec<Value> = w.firewalls.values().cloned().collect();
            (200, Some(page(shared, "/v2/firewalls", m, "firewalls", items)))
        }
        "firewalls_delete" => {
            let id = m.path_params.get("firewall_id").cloned().unwrap_or_default();
            match w.firewalls.remove(&id) {
                Some(_) => (204, None),
                None => not_found(),
            }
        }
        "actions_get" => {
            let id: u64 = m.path_params.get("action_id").and_then(|s| s.parse().ok()).unwrap_or(0);
            match w.actions.get(&id) {
                Some((droplet, created, started_at)) => {
                    let done = match w.droplets.get(droplet) {
                        Some(d) if shared.hosts.is_some() => public_ipv4(shared, d).is_some(),
                        _ => created.elapsed() >= cfg.boot_delay,
                    };
                    let region = w.droplets.get(droplet).map(|d| d.region.clone()).unwrap_or_else(|| "nyc3".into());
                    (
                        200,
                        Some(json!({ "action": {
                        "id": id,
                        "status": if done { "completed" } else { "in-progress" },
                        "type": "create",
                        "started_at": started_at,
                        "completed_at": if done { json!(rfc3339(SystemTime::now())) } else { Value::Null },
                        "resource_id": droplet,
                        "resource_type": "droplet",
                        "region": region_json(&region, "s-1vcpu-1gb"),
                        "region_slug": region,
                    } })),
                    )
                }
                None => not_found(),
            }
        }
        other => (501, Some(error_body("not_implemented", &format!("the stand-in does not implement {other}")))),
    }
}

/// One page of a list, as DigitalOcean paginates: `links.pages` with absolute URLs, and
/// `meta.total`.
fn page(shared: &Shared, path: &str, m: &contract::Matched, key: &str, items: Vec<Value>) -> Value {
    let asked: usize = query(m, "per_page").and_then(|s| s.parse().ok()).unwrap_or(20);
    let per_page = asked.clamp(1, shared.config.max_per_page.max(1));
    let page: usize = query(m, "page").and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    let other: Vec<(String, String)> =
        m.query.iter().filter(|(k, _)| k != "page" && k != "per_page").cloned().collect();
    let link = |p: usize| {
        let mut url = format!("{}{path}?page={p}&per_page={per_page}", shared.base);
        for (k, v) in &other {
            url.push_str(&format!("&{k}={}", enc(v)));
        }
        url
    };
    let mut pages = serde_json::Map::new();
    if page < last {
        pages.insert("next".into(), json!(link(page + 1)));
        pages.insert("last".into(), json!(link(last)));
    }
    if page > 1 {
        pages.insert("first".into(), json!(link(1)));
        pages.insert("prev".into(), json!(link(page - 1)));
    }
    json!({ key: slice, "links": { "pages": pages }, "meta": { "total": total } })
}

/// The public keys of the registered keys a droplet creation names (by id or fingerprint), and
/// the names that match none.
fn registered_keys(w: &World, refs: &[Value]) -> (Vec<String>, Vec<String>) {
    let mut found = Vec::new();
    let mut unresolved = Vec::new();
    for r in refs {
        let ident = match r {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match w.keys.iter().find(|(id, k)| id.to_string() == ident || k["fingerprint"] == ident.as_str()) {
            Some((_, k)) => found.push(k["public_key"].as_str().unwrap_or("").to_string()),
            None => unresolved.push(ident),
        }
    }
    (found, unresolved)
}

fn valid_ports(ports: &str) -> bool {
    let port = |p: &str| p.parse::<u16>().is_ok_and(|n| n >= 1);
    match ports.split_once('-') {
        _ if ports == "0" => true,
        Some((a, b)) => port(a) && port(b) && a.parse::<u16>().ok() <= b.parse::<u16>().ok(),
        None => port(ports),
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A fake but well-formed MD5-style fingerprint (16 colon-separated bytes).
fn fingerprint(public_key: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut a = std::collections::hash_map::DefaultHasher::new();
    public_key.hash(&mut a);
    let x = a.finish();
    let mut b = std::collections::hash_map::DefaultHasher::new();
    (x, public_key).hash(&mut b);
    let y = b.finish();
    x.to_be_bytes().iter().chain(y.to_be_bytes().iter()).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn region_json(slug: &str, size: &str) -> Value {
    json!({ "name": format!("Region {slug}"), "slug": slug, "features": ["metadata", "install_agent"], "available": true, "sizes": [size] })
}

/// The droplet's public IPv4 once it is active: after `boot_delay`, or once its container
/// runs.
fn public_ipv4(shared: &Shared, d: &DropletRec) -> Option<hosts::Address> {
    match &shared.hosts {
        Some(hosts) => hosts.address(d.id),
        None => (d.created.elapsed() >= shared.config.boot_delay).then(|| hosts::Address {
            ip: (shared.config.address_of)(d.id, &d.name),
            netmask: "255.255.240.0".into(),
            gateway: "203.0.113.254".into(),
        }),
    }
}

/// A droplet as the API shows it, with every field the contract requires.
fn droplet_json(shared: &Shared, d: &DropletRec) -> Value {
    let address = public_ipv4(shared, d);
    let active = address.is_some();
    let v4 = match address {
        Some(a) => json!([{ "ip_address": a.ip, "netmask": a.netmask, "gateway": a.gateway, "type": "public" }]),
        None => json!([]),
    };
    json!({
        "id": d.id,
        "name": d.name,
        "memory": 2048,
        "vcpus": 2,
        "disk": 60,
        "locked": false,
        "status": if active { "active" } else { "new" },
        "created_at": d.created_at,
        "features": ["monitoring"],
        "backup_ids": [],
        "next_backup_window": null,
        "snapshot_ids": [],
        "image": {
            "id": 7555620, "name": "12 x64", "type": "base", "distribution": "Debian", "slug": d.image,
            "public": true, "regions": ["nyc3", "fra1"], "created_at": "2023-06-12T19:51:27Z",
            "min_disk_size": 15, "size_gigabytes": 2.36, "tags": [], "status": "available"
        },
        "volume_ids": [],
        "size": {
            "slug": d.size, "memory": 2048, "vcpus": 2, "disk": 60, "transfer": 3.0,
            "price_monthly": 18.0, "price_hourly": 0.02679, "regions": [d.region],
            "available": true, "description": "Basic"
        },
        "size_slug": d.size,
        "networks": { "v4": v4, "v6": [] },
        "region": region_json(&d.region, &d.size),
        "tags": d.tags,
    })
}
