//! The standalone master's web UI, read over plain HTTP on 127.0.0.1: `GET /json/` for the
//! workers it sees, the HTML root page for the Spark version (the JSON carries none).
//!
//! Shape of `/json/` (Spark 4.0.1):
//! `{"url": "spark://127.0.0.1:P", "workers": [{"id", "host", "port", "webuiaddress",
//! "cores", "coresused", "coresfree", "memory", "memoryused", "memoryfree", "resources", ...,
//! "state": "ALIVE", "lastheartbeat"}], "aliveworkers": 1, "cores", "coresused", "memory",
//! "memoryused", "resources", "resourcesused", "activeapps": [], "completedapps": [],
//! "activedrivers": [], "completeddrivers": [], "status": "ALIVE"}`

use std::time::Duration;

use serde::Deserialize;

use crate::runtime::RuntimeError;

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MasterState {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub workers: Vec<WorkerInfo>,
    /// The master's own state: ALIVE once elected leader.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WorkerInfo {
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: u16,
    /// ALIVE, DEAD, DECOMMISSIONED, UNKNOWN.
    #[serde(default)]
    pub state: String,
}

impl MasterState {
    /// The state the master reports for the worker at `address` (`host:port`); a restarted
    /// worker shows up as a new entry, so the last one wins.
    pub fn worker_state(&self, address: &str) -> Option<&str> {
        self.workers.iter().rev().find(|w| format!("{}:{}", w.host, w.port) == address).map(|w| w.state.as_str())
    }
}

fn client() -> Result<reqwest::Client, RuntimeError> {
    // No proxy: an HTTP(S)_PROXY of the user must not capture requests to 127.0.0.1.
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| RuntimeError::ProcessError(format!("building an HTTP client: {e}")))
}

fn base(web_ui_port: u16) -> String {
    format!("http://127.0.0.1:{web_ui_port}")
}

pub(crate) async fn fetch_state(web_ui_port: u16) -> Result<MasterState, RuntimeError> {
    fetch_state_from(&base(web_ui_port)).await
}

/// The same from a master's UI at any base URL (`http://host:port`): the swarm runtime's
/// masters run in containers.
pub(crate) async fn fetch_state_from(base: &str) -> Result<MasterState, RuntimeError> {
    let url = format!("{}/json/", base.trim_end_matches('/'));
    let resp = client()?.get(&url).send().await.map_err(|e| RuntimeError::Unreachable(format!("GET {url}: {e}")))?;
    let resp = resp.error_for_status().map_err(|e| RuntimeError::Unreachable(format!("GET {url}: {e}")))?;
    resp.json::<MasterState>()
        .await
        .map_err(|e| RuntimeError::Unreachable(format!("GET {url}: unexpected answer: {e}")))
}

/// The version the master's UI shows (`<span class="version" ...>4.0.1</span>`).
pub(crate) async fn fetch_version(web_ui_port: u16) -> Result<Option<String>, RuntimeError> {
    fetch_version_from(&base(web_ui_port)).await
}

pub(crate) async fn fetch_version_from(base: &str) -> Result<Option<String>, RuntimeError> {
    let url = format!("{}/", base.trim_end_matches('/'));
    let resp = client()?
        .get(&url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| RuntimeError::Unreachable(format!("GET {url}: {e}")))?;
    let html = resp.text().await.map_err(|e| RuntimeError::Unreachable(format!("GET {url}: {e}")))?;
    Ok(version_from_html(&html))
}

fn version_from_html(html: &str) -> Option<String> {
    let at = html.find("class=\"version\"")?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    let v = rest[start..end].trim();
    (!v.is_empty() && v.starts_with(|c: char| c.is_ascii_digit())).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_real_shape() {
        let json = r#"{
          "url" : "spark://127.0.0.1:17077",
          "workers" : [ {
            "id" : "worker-20261124040852-127.0.0.1-34161", "host" : "127.0.0.1", "port" : 34161,
            "webuiaddress" : "http://127.0.0.1:38165", "cores" : 1, "coresused" : 0, "coresfree" : 1,
            "memory" : 1024, "memoryused" : 0, "memoryfree" : 1024, "resources" : { },
            "resourcesused" : { }, "resourcesfree" : { }, "state" : "DEAD", "lastheartbeat" : 1795493333070
          }, {
            "id" : "worker-20261124040999-127.0.0.1-34161", "host" : "127.0.0.1", "port" : 34161,
            "state" : "ALIVE"
          } ],
          "aliveworkers" : 1, "cores" : 1, "coresused" : 0, "memory" : 1024, "memoryused" : 0,
          "resources" : [ { } ], "resourcesused" : [ { } ], "activeapps" : [ ], "completedapps" : [ ],
          "activedrivers" : [ ], "completeddrivers" : [ ], "status" : "ALIVE"
        }"#;
        let s: MasterState = serde_json::from_str(json).expect("parse");
        assert_eq!(s.url, "spark://127.0.0.1:17077");
        assert_eq!(s.worker_state("127.0.0.1:34161"), Some("ALIVE"));
        assert_eq!(s.worker_state("127.0.0.1:1"), None);
        let sparse: MasterState = serde_json::from_str(r#"{"workers":[{"state":"ALIVE"}]}"#).expect("parse");
        assert_eq!(sparse.worker_state(":0"), Some("ALIVE"));
    }

    #[test]
    fn version_span() {
        let html = r#"<h3 style="vertical-align: middle; display: inline-block;">
                  <span class="version" style="margin-right: 15px;">4.0.1</span>
                  Spark Master at spark://127.0.0.1:17077"#;
        assert_eq!(version_from_html(html).as_deref(), Some("4.0.1"));
        assert_eq!(version_from_html("<html></html>"), None);
    }
}
