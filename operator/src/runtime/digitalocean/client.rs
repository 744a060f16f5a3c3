//! A small DigitalOcean API v2 client for what the provider needs (account, SSH keys,
//! droplets, firewalls, tags, actions), built to the contract in
//! `shared/contracts/digitalocean/openapi.yaml`.
//!
//! Behaviour the provider relies on:
//! - pagination is followed (`links.pages.next`), but only within the API's origin, because
//!   every request carries the token;
//! - `ratelimit-remaining: 0` makes the next request wait for `ratelimit-reset`;
//! - 429 is always retried (DigitalOcean did not act on the request), after `retry-after`;
//! - 5xx and transport errors are retried with exponential backoff and jitter only for
//!   requests that are safe to repeat (GET, DELETE, tag creation). A POST that creates
//!   droplets, keys or firewalls is not repeated blindly: the server may have acted before
//!   failing, and the provider re-plans from what it lists by tag instead, which is what
//!   keeps creation free of duplicates.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use super::error::{ApiFailure, DoError};
use super::token::Token;
use super::types::*;

pub const DEFAULT_API_URL: &str = "https://api.digitalocean.com";
/// Overrides the API's base URL (tests, compatible clouds).
pub const API_URL_ENV: &str = "SPARKSWARM_DIGITALOCEAN_API_URL";

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Base URL; `None` means [`API_URL_ENV`], then [`DEFAULT_API_URL`].
    pub base_url: Option<String>,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// The longest single wait for `retry-after` or `ratelimit-reset`: a far-away reset is
    /// waited for in slices, with a 429 in between telling the truth again.
    pub max_wait: Duration,
    /// Items asked for per page (the contract allows 1..=200).
    pub per_page: u32,
    pub request_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            base_url: None,
            max_attempts: 6,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_wait: Duration::from_secs(60),
            per_page: 200,
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Whether a request may be sent again after a 5xx or a lost connection.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Repeat {
    Safe,
    /// Only after a 429, which means the request was not acted upon.
    OnlyWhenThrottled,
}

#[derive(Debug, Default)]
struct RateState {
    remaining: Option<u64>,
    reset_at: Option<SystemTime>,
}

/// The client. Cheap to clone; clones share the rate-limit state.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Token,
    opts: Arc<ClientOptions>,
    rate: Arc<Mutex<RateState>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base.as_str()).field("token", &self.token).finish()
    }
}

struct Answer {
    body: Vec<u8>,
}

impl Client {
    pub fn new(token: Token, opts: ClientOptions) -> Result<Client, DoError> {
        let base_text = match &opts.base_url {
            Some(u) => u.clone(),
            None => std::env::var(API_URL_ENV).unwrap_or_else(|_| DEFAULT_API_URL.to_string()),
        };
        let base = Url::parse(&base_text).map_err(|e| DoError::InvalidApiUrl(format!("{base_text}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(DoError::InvalidApiUrl(format!("{base_text}: not an http(s) URL with a host")));
        }
        // TLS: reqwest's rustls with its default provider (aws-lc-rs, the one provider
        // rustls is built with in this crate, so bollard's TLS shares it) and the platform's
        // root certificates.
        let http = reqwest::Client::builder()
            .timeout(opts.request_timeout)
            .user_agent(concat!("sparkswarm/", env!("CARGO_PKG_VERSION")))
            // Redirects would carry the request elsewhere; the API does not use them.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DoError::TlsSetup(e.to_string()))?;
        Ok(Client { http, base, token, opts: Arc::new(opts), rate: Arc::default() })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    // ---- operations -------------------------------------------------------------------

    pub async fn account(&self) -> Result<Account, DoError> {
        let v = self.json("account_get", Method::GET, self.url("/v2/account", &[])?, None, Repeat::Safe).await?;
        self.field(&v, "account", "account_get")
    }

    pub async fn list_ssh_keys(&self) -> Result<Vec<SshKey>, DoError> {
        self.list_all("sshKeys_list", "/v2/account/keys", &[], "ssh_keys").await
    }

    pub async fn create_ssh_key(&self, req: &CreateSshKey) -> Result<SshKey, DoError> {
        let body = to_value(req)?;
        let url = self.url("/v2/account/keys", &[])?;
        let v = self.json("sshKeys_create", Method::POST, url, Some(body), Repeat::OnlyWhenThrottled).await?;
        self.field(&v, "ssh_key", "sshKeys_create")
    }

    /// Deletes a key by id or fingerprint. `Ok(false)`: it was already gone.
    pub async fn delete_ssh_key(&self, id_or_fingerprint: &str) -> Result<bool, DoError> {
        let url = self.url(&format!("/v2/account/keys/{}", segment(id_or_fingerprint)), &[])?;
        self.delete("sshKeys_delete", url).await
    }

    /// Creates several droplets in one call. Returns the droplets (status `new`) and the
    /// actions that follow their creation.
    pub async fn create_droplets(&self, req: &CreateDroplets) -> Result<(Vec<Droplet>, Vec<ActionLink>), DoError> {
        let op = "droplets_create";
        let body = to_value(req)?;
        let v =
            self.json(op, Method::POST, self.url("/v2/droplets", &[])?, Some(body), Repeat::OnlyWhenThrottled).await?;
        let links: Links = match v.get("links") {
            Some(l) => self.decode(l.clone(), op)?,
            None => Links::default(),
        };
        // The contract allows either response form; DigitalOcean answers a one-name
        // `names` request with the single form.
        let droplets = if v.get("droplets").is_some() {
            self.field(&v, "droplets", op)?
        } else {
            vec![self.field(&v, "droplet", op)?]
        };
        Ok((droplets, links.actions))
    }

    pub async fn list_droplets_by_tag(&self, tag: &str) -> Result<Vec<Droplet>, DoError> {
        self.list_all("droplets_list", "/v2/droplets", &[("tag_name", tag)], "droplets").await
    }

    pub async fn get_droplet(&self, id: u64) -> Result<Droplet, DoError> {
        let url = self.url(&format!("/v2/droplets/{id}"), &[])?;
        let v = self.json("droplets_get", Method::GET, url, None, Repeat::Safe).await?;
        self.field(&v, "droplet", "droplets_get")
    }

    /// Deletes one droplet (scale-down). `Ok(false)`: it was already gone.
    pub async fn delete_droplet(&self, id: u64) -> Result<bool, DoError> {
        let url = self.url(&format!("/v2/droplets/{id}"), &[])?;
        self.delete("droplets_destroy", url).await
    }

    /// Deletes every droplet carrying `tag`. `Ok(false)`: the tag was unknown.
    pub async fn delete_droplets_by_tag(&self, tag: &str) -> Result<bool, DoError> {
        let url = self.url("/v2/droplets", &[("tag_name", tag)])?;
        self.delete("droplets_destroy_byTag", url).await
    }

    /// Creates a tag; creating one that exists is harmless, so this is repeated on 5xx.
    pub async fn create_tag(&self, name: &str) -> Result<Tag, DoError> {
        let body = serde_json::json!({ "name": name });
        let v = self.json("tags_create", Method::POST, self.url("/v2/tags", &[])?, Some(body), Repeat::Safe).await?;
        self.field(&v, "tag", "tags_create")
    }

    pub async fn create_firewall(&self, req: &CreateFirewall) -> Result<Firewall, DoError> {
        let body = to_value(req)?;
        let url = self.url("/v2/firewalls", &[])?;
        let v = self.json("firewalls_create", Method::POST, url, Some(body), Repeat::OnlyWhenThrottled).await?;
        self.field(&v, "firewall", "firewalls_create")
    }

    pub async fn list_firewalls(&self) -> Result<Vec<Firewall>, DoError> {
        self.list_all("firewalls_list", "/v2/firewalls", &[], "firewalls").await
    }

    pub async fn delete_firewall(&self, id: &str) -> Result<bool, DoError> {
        let url = self.url(&format!("/v2/firewalls/{}", segment(id)), &[])?;
        self.delete("firewalls_delete", url).await
    }

    pub async fn get_action(&self, id: u64) -> Result<Action, DoError> {
        let url = self.url(&format!("/v2/actions/{id}"), &[])?;
        let v = self.json("actions_get", Method::GET, url, None, Repeat::Safe).await?;
        self.field(&v, "action", "actions_get")
    }

    // ---- plumbing -----------------------------------------------------------------------

    /// serde quotes a value it cannot decode, and a proxy may have put the token anywhere.
    fn field<T: DeserializeOwned>(&self, v: &Value, key: &str, op: &'static str) -> Result<T, DoError> {
        field(v, key, op).map_err(|e| e.scrubbed(self.token.expose()))
    }

    fn decode<T: DeserializeOwned>(&self, v: Value, op: &'static str) -> Result<T, DoError> {
        decode(v, op).map_err(|e| e.scrubbed(self.token.expose()))
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, DoError> {
        let mut url = self.base.join(path).map_err(|e| DoError::InvalidApiUrl(format!("{path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().copied());
        }
        Ok(url)
    }

    async fn delete(&self, op: &'static str, url: Url) -> Result<bool, DoError> {
        match self.send(op, Method::DELETE, url, None, Repeat::Safe).await {
            Ok(_) => Ok(true),
            // Deleting is level-triggered: what is already gone is done.
            Err(DoError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn json(
        &self,
        op: &'static str,
        method: Method,
        url: Url,
        body: Option<Value>,
        repeat: Repeat,
    ) -> Result<Value, DoError> {
        let answer = self.send(op, method, url, body, repeat).await?;
        serde_json::from_slice(&answer.body).map_err(|e| {
            DoError::UnexpectedResponse { operation: op, message: format!("body is not JSON: {e}") }
                .scrubbed(self.token.expose())
        })
    }

    /// Every item of a paginated list, following `links.pages.next`.
    async fn list_all<T: DeserializeOwned>(
        &self,
        op: &'static str,
        path: &str,
        query: &[(&str, &str)],
        key: &str,
    ) -> Result<Vec<T>, DoError> {
        self.list_all_unscrubbed(op, path, query, key).await.map_err(|e| e.scrubbed(self.token.expose()))
    }

    async fn list_all_unscrubbed<T: DeserializeOwned>(
        &self,
        op: &'static str,
        path: &str,
        query: &[(&str, &str)],
        key: &str,
    ) -> Result<Vec<T>, DoError> {
        let per_page = self.opts.per_page.clamp(1, 200).to_string();
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("per_page", &per_page));
        let mut url = self.url(path, &q)?;
        let mut items = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            if !seen.insert(url.to_string()) {
                return Err(DoError::UnexpectedResponse {
                    operation: op,
                    message: format!("pagination loops back to {url}"),
                });
            }
            let v = self.json(op, Method::GET, url.clone(), None, Repeat::Safe).await?;
            let page: Vec<T> = self.field(&v, key, op)?;
            items.extend(page);
            let links: Links = match v.get("links") {
                Some(l) => self.decode(l.clone(), op)?,
                None => Links::default(),
            };
            let Some(next) = links.pages.and_then(|p| p.next) else { return Ok(items) };
            let next_url = self.base.join(&next).map_err(|e| DoError::UnexpectedResponse {
                operation: op,
                message: format!("bad page link {next}: {e}"),
            })?;
            if next_url.origin() != self.base.origin() {
                return Err(DoError::ForeignPageLink { operation: op, link: next });
            }
            url = next_url;
        }
    }

    /// One request with the rate-limit gate and the retries; `Ok` only for 2xx. No text that
    /// came back leaves here with the token in it.
    async fn send(
        &self,
        op: &'static str,
        method: Method,
        url: Url,
        body: Option<Value>,
        repeat: Repeat,
    ) -> Result<Answer, DoError> {
        self.send_unscrubbed(op, method, url, body, repeat).await.map_err(|e| e.scrubbed(self.token.expose()))
    }

    async fn send_unscrubbed(
        &self,
        op: &'static str,
        method: Method,
        url: Url,
        body: Option<Value>,
        repeat: Repeat,
    ) -> Result<Answer, DoError> {
        let max = self.opts.max_attempts.max(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.wait_for_rate_limit(op).await;
            let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
                .map_err(|_| DoError::TokenInvalid("not usable in an HTTP header".into()))?;
            // Marks the header so that hyper/h2 never index or log it.
            auth.set_sensitive(true);
            let mut req = self.http.request(method.clone(), url.clone()).header(AUTHORIZATION, auth);
            if let Some(b) = &body {
                let bytes = serde_json::to_vec(b)
                    .map_err(|e| DoError::UnexpectedResponse { operation: op, message: e.to_string() })?;
                req = req.header(CONTENT_TYPE, "application/json").body(bytes);
            }
            tracing::debug!(operation = op, %method, path = url.path(), attempt, "DigitalOcean request");
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    // Without the URL: it holds nothing secret, but a query could be long.
                    let message = chain(&e.without_url());
                    if repeat == Repeat::Safe && attempt < max {
                        let wait = self.backoff(attempt);
                        let message = super::error::scrub(&message, self.token.expose());
                        tracing::warn!(operation = op, attempt, error = %message, wait_ms = wait.as_millis() as u64, "DigitalOcean request failed; retrying");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(DoError::Transport { operation: op, message });
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            self.note_rate_limit(&headers).await;
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| DoError::Transport { operation: op, message: chain(&e.without_url()) })?;
            if status.is_success() {
                return Ok(Answer { body: bytes.to_vec() });
            }
            let failure = failure(op, status, &headers, &bytes);
            let retry = match status {
                StatusCode::TOO_MANY_REQUESTS => attempt < max,
                s if s.is_server_error() => repeat == Repeat::Safe && attempt < max,
                _ => false,
            };
            if !retry {
                return Err(DoError::from_status(failure));
            }
            let wait = if status == StatusCode::TOO_MANY_REQUESTS {
                retry_after(&headers).unwrap_or_else(|| self.backoff(attempt)).min(self.opts.max_wait)
            } else {
                self.backoff(attempt)
            };
            let failure = failure.scrubbed(self.token.expose());
            tracing::warn!(operation = op, attempt, status = status.as_u16(), error = %failure, wait_ms = wait.as_millis() as u64, "DigitalOcean refused the request; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Exponential backoff with full jitter: a random wait in [base*2^(n-1)/2, base*2^(n-1)].
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.opts.backoff_base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.opts.backoff_max);
        let half = cap / 2;
        let spread = (cap - half).as_millis() as u64;
        half + Duration::from_millis(if spread == 0 { 0 } else { jitter() % (spread + 1) })
    }

    async fn note_rate_limit(&self, headers: &HeaderMap) {
        let remaining = header_u64(headers, "ratelimit-remaining");
        let reset = header_u64(headers, "ratelimit-reset");
        let mut rate = self.rate.lock().await;
        if remaining.is_some() {
            rate.remaining = remaining;
        }
        if let Some(r) = reset {
            rate.reset_at = Some(UNIX_EPOCH + Duration::from_secs(r));
        }
    }

    /// When the last answer said no request remains, wait until the window resets (at most
    /// `max_wait`), rather than spend a request on a certain 429.
    async fn wait_for_rate_limit(&self, op: &'static str) {
        let wait = {
            let rate = self.rate.lock().await;
            match (rate.remaining, rate.reset_at) {
                (Some(0), Some(at)) => {
                    // Every request waits (concurrent ones too); the first answer after the
                    // reset renews the numbers.
                    // The reset is given in whole seconds and our clock is not the API's:
                    // a little margin keeps the request out of the old window.
                    match at.duration_since(SystemTime::now()) {
                        Ok(left) => (left + Duration::from_millis(100)).min(self.opts.max_wait),
                        Err(_) => Duration::ZERO,
                    }
                }
                _ => Duration::ZERO,
            }
        };
        if !wait.is_zero() {
            tracing::info!(
                operation = op,
                wait_ms = wait.as_millis() as u64,
                "DigitalOcean rate limit exhausted; waiting for the reset"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// An error with its causes ("error sending request: connection refused"): reqwest's own
/// text alone rarely says what went wrong. None of them can hold the token, which is only
/// ever in a header value.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `retry-after` in seconds (the HTTP-date form is not used by DigitalOcean).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_u64(headers, "retry-after").map(Duration::from_secs)
}

/// DigitalOcean's error body `{id, message, request_id}`; when the body is something else,
/// the status text stands in, and a short excerpt of the body is kept for diagnosis.
fn failure(op: &'static str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ApiFailure {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        id: String,
        message: String,
        #[serde(default)]
        request_id: Option<String>,
    }
    let request_id_header = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => ApiFailure {
            operation: op,
            status: status.as_u16(),
            id: b.id,
            message: b.message,
            request_id: b.request_id.or(request_id_header),
        },
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let excerpt: String = text.chars().take(200).collect();
            ApiFailure {
                operation: op,
                status: status.as_u16(),
                id: status.canonical_reason().unwrap_or("error").to_lowercase().replace(' ', "_"),
                message: if excerpt.trim().is_empty() { "no error body".into() } else { excerpt },
                request_id: request_id_header,
            }
        }
    }
}

fn jitter() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded per instance from the OS: enough randomness to spread retries.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.finish()
}

/// Escapes a path segment (ids and fingerprints hold `:`, which is fine, but never `/`).
fn segment(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._~:".contains(c) {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32 & 0xff)
            }
        })
        .collect()
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, DoError> {
    serde_json::to_value(v).map_err(|e| DoError::UnexpectedResponse { operation: "encode", message: e.to_string() })
}

fn decode<T: DeserializeOwned>(v: Value, op: &'static str) -> Result<T, DoError> {
    serde_json::from_value(v).map_err(|e| DoError::UnexpectedResponse { operation: op, message: e.to_string() })
}

fn field<T: DeserializeOwned>(v: &Value, key: &str, op: &'static str) -> Result<T, DoError> {
    match v.get(key) {
        Some(inner) => decode(inner.clone(), op),
        None => Err(DoError::UnexpectedResponse { operation: op, message: format!("no `{key}` in the body") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let opts = ClientOptions {
            base_url: Some("http://127.0.0.1:1".into()),
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            ..Default::default()
        };
        let c = Client::new(Token::new("t").unwrap(), opts).unwrap();
        for _ in 0..50 {
            let b1 = c.backoff(1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100), "{b1:?}");
            let b10 = c.backoff(10);
            assert!(b10 >= Duration::from_millis(500) && b10 <= Duration::from_secs(1), "{b10:?}");
        }
    }

    /// A proxy that echoes the request (Authorization header included) in its answers, in
    /// four ways: a DigitalOcean-shaped error body, plain text, a 2xx whose body does not
    /// decode, a page link.
    #[tokio::test]
    async fn text_echoed_back_never_carries_the_token() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            for n in 0.. {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                let mut buf = vec![0u8; 8192];
                let len = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..len]).into_owned();
                let auth = req.lines().find(|l| l.to_ascii_lowercase().starts_with("authorization")).unwrap_or("");
                let auth = auth.replace('"', "'");
                let (status, body) = match n % 4 {
                    0 => (
                        "401 Unauthorized",
                        format!(r#"{{"id":"unauthorized","message":"bad {auth}","request_id":"{auth}"}}"#),
                    ),
                    1 => ("403 Forbidden", format!("proxy refused: {auth}")),
                    2 => ("200 OK", format!(r#"{{"account":{{"droplet_limit":"{auth}"}}}}"#)),
                    _ => (
                        "200 OK",
                        format!(r#"{{"droplets":[],"links":{{"pages":{{"next":"http://evil.example/?{auth}"}}}}}}"#),
                    ),
                };
                let answer = format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                let _ = sock.write_all(answer.as_bytes()).await;
            }
        });
        let token = "dop_v1_feedfacecafebeef0123456789";
        let opts = ClientOptions { base_url: Some(format!("http://{addr}")), max_attempts: 1, ..Default::default() };
        let c = Client::new(Token::new(token).expect("token"), opts).expect("client");
        let mut texts = Vec::new();
        for _ in 0..2 {
            texts.push(c.account().await.expect_err("refused"));
        }
        texts.push(c.account().await.expect_err("undecodable"));
        texts.push(c.list_droplets_by_tag("t").await.expect_err("foreign link"));
        for e in &texts {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("feedface"), "the token leaked: {shown}");
        }
        assert!(texts[0].to_string().contains("<redacted>"), "{}", texts[0]);
    }

    #[test]
    fn debug_of_the_client_hides_the_token() {
        let opts = ClientOptions { base_url: Some("http://127.0.0.1:1".into()), ..Default::default() };
        let c = Client::new(Token::new("dop_v1_verysecret").unwrap(), opts).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("verysecret"), "{shown}");
    }

    #[test]
    fn rejects_non_http_base_urls() {
        let opts = ClientOptions { base_url: Some("file:///etc".into()), ..Default::default() };
        assert_eq!(Client::new(Token::new("t").unwrap(), opts).unwrap_err().reason(), "InvalidApiUrl");
    }

    #[test]
    fn error_body_is_surfaced() {
        let f = failure("droplets_get", StatusCode::NOT_FOUND, &HeaderMap::new(), br#"{"id":"not_found","message":"The resource you were accessing could not be found.","request_id":"abc-123"}"#);
        let e = DoError::from_status(f);
        assert_eq!(e.reason(), "NotFound");
        let text = e.to_string();
        assert!(text.contains("could not be found") && text.contains("abc-123"), "{text}");
    }
}
