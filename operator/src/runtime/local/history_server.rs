//! Spark's History Server over one attempt's event log, from the same Spark the local
//! runtime uses: a private log directory holding only that log (a hard link, or a copy
//! across file systems), the UI bound to 127.0.0.1 on a free port, stopped with its whole
//! process group. No operator and no cluster are needed: the event log is all it reads.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::process::{self, Marker};
use super::spark_dist::SparkDist;
use super::{fsutil, ports};
use crate::runtime::RuntimeError;

/// The History Server's main class (what `sbin/start-history-server.sh` runs).
const MAIN_CLASS: &str = "org.apache.spark.deploy.history.HistoryServer";
/// Heap of the History Server JVM: one small application to replay.
const MEMORY: &str = "512m";
/// Patience for a SIGTERMed History Server before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The History Server's confs for a private log directory and a port. Only the one log is
/// in the directory, so scanning it often is cheap and the app shows up at once.
pub(crate) fn conf(log_dir: &Path, port: u16) -> Vec<(String, String)> {
    [
        ("spark.history.fs.logDirectory", format!("file://{}", log_dir.display())),
        ("spark.history.ui.port", port.to_string()),
        ("spark.history.fs.update.interval", "1s".to_string()),
        ("spark.history.fs.cleaner.enabled", "false".to_string()),
        // A lost race for the port fails the start instead of Spark moving to another one.
        ("spark.port.maxRetries", "0".to_string()),
        ("spark.ui.killEnabled", "false".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `spark-defaults.conf` text for `conf`.
fn properties(conf: &[(String, String)]) -> String {
    conf.iter().map(|(k, v)| format!("{k} {v}\n")).collect()
}

/// The page of application `app_id` in the listing `/api/v1/applications` answered, once it
/// is there: `/history/<id>/` or, for an application with attempt ids (YARN, not
/// standalone), `/history/<id>/<attemptId>/`.
pub(crate) fn app_path(listing: &Value, app_id: &str) -> Option<String> {
    let app = listing.as_array()?.iter().find(|a| a.get("id").and_then(Value::as_str) == Some(app_id))?;
    let attempt = app
        .get("attempts")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|a| a.get("attemptId"))
        .and_then(Value::as_str);
    Some(match attempt {
        Some(a) => format!("/history/{app_id}/{a}/"),
        None => format!("/history/{app_id}/"),
    })
}

/// A running History Server; [`HistoryServer::stop`] ends it and removes its directory.
pub struct HistoryServer {
    child: tokio::process::Child,
    pgid: i32,
    port: u16,
    marker: Marker,
    log: PathBuf,
    /// The private log directory, the confs and the server's own log; removed on drop.
    dir: tempfile::TempDir,
}

impl HistoryServer {
    /// Starts a History Server over `event_log` alone.
    pub async fn start(dist: &SparkDist, event_log: &Path) -> Result<HistoryServer, RuntimeError> {
        let dir = tempfile::Builder::new()
            .prefix("sparkswarm-ui-")
            .tempdir()
            .map_err(RuntimeError::io("creating the History Server's directory"))?;
        let logs = dir.path().join("eventlog");
        let conf_dir = dir.path().join("conf");
        for d in [&logs, &conf_dir] {
            std::fs::create_dir(d).map_err(RuntimeError::io(format!("creating {}", d.display())))?;
        }
        let name = event_log
            .file_name()
            .ok_or_else(|| RuntimeError::ProcessError(format!("{} names no file", event_log.display())))?;
        link_or_copy(event_log, &logs.join(name))?;
        let port =
            ports::free_ports(1)?.first().copied().ok_or_else(|| RuntimeError::ProcessError("no free port".into()))?;
        let defaults = conf_dir.join("spark-defaults.conf");
        fsutil::write_atomic(&defaults, properties(&conf(&logs, port)).as_bytes())?;
        let log = dir.path().join("history-server.log");
        let out = std::fs::File::create(&log).map_err(RuntimeError::io(format!("creating {}", log.display())))?;
        let err = out.try_clone().map_err(RuntimeError::io(format!("opening {}", log.display())))?;
        let tag = dir.path().display().to_string();
        let marker = Marker {
            args: vec![format!("-Dsparkswarm.history={tag}")],
            env_key: "SPARKSWARM_HISTORY".into(),
            env_value: tag,
        };
        let child = tokio::process::Command::new(dist.spark_class())
            .arg(MAIN_CLASS)
            .arg("--properties-file")
            .arg(&defaults)
            .env("SPARK_HOME", &dist.home)
            // The UI binds SPARK_LOCAL_IP (0.0.0.0 without it): loopback only.
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            // Nothing of the user's own Spark configuration (spark-env.sh, log4j) applies.
            .env("SPARK_CONF_DIR", &conf_dir)
            .env("SPARK_DAEMON_MEMORY", MEMORY)
            .envs(crate::runtime::jvm_options::env_pair())
            .env("SPARK_DAEMON_JAVA_OPTS", &marker.args[0])
            .env(&marker.env_key, &marker.env_value)
            .env_remove("SPARK_HISTORY_OPTS")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            // Its own group, so that it is stopped whole and by us, after the URL was printed.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(RuntimeError::io(format!("starting {}", dist.spark_class().display())))?;
        let pgid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| RuntimeError::ProcessError("the History Server exited at once".into()))?;
        Ok(HistoryServer { child, pgid, port, marker, log, dir })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The private directory (removed by [`HistoryServer::stop`]).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last lines the server wrote, for an error.
    pub fn log_excerpt(&self) -> String {
        let tail = fsutil::read_tail(&self.log, 8192).unwrap_or_default();
        let lines: Vec<&str> = tail.lines().rev().take(15).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Waits until `/api/v1/applications` lists `app_id` (any application when None) and
    /// returns the path of its page. Fails early when the server exits.
    pub async fn wait_listed(&mut self, app_id: Option<&str>, timeout: Duration) -> Result<String, RuntimeError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| RuntimeError::ProcessError(format!("an HTTP client: {e}")))?;
        let url = format!("{}/api/v1/applications", self.url());
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(RuntimeError::ProcessError(format!(
                    "the History Server exited ({status}):\n{}",
                    self.log_excerpt()
                )));
            }
            if let Ok(resp) = client.get(&url).send().await {
                if let Ok(listing) = resp.json::<Value>().await {
                    let id = app_id.map(str::to_string).or_else(|| {
                        listing.get(0).and_then(|a| a.get("id")).and_then(Value::as_str).map(str::to_string)
                    });
                    if let Some(path) = id.and_then(|id| app_path(&listing, &id)) {
                        return Ok(path);
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(RuntimeError::Unreachable(format!(
                    "the History Server at {} did not list {} within {}s:\n{}",
                    self.url(),
                    app_id.unwrap_or("the application"),
                    timeout.as_secs(),
                    self.log_excerpt()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Resolves when the server exits on its own.
    pub async fn exited(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait().await
    }

    /// Stops the server's process group and removes its directory.
    pub async fn stop(mut self) -> Result<(), RuntimeError> {
        let stopped = process::stop_group(self.pgid, &self.marker, STOP_GRACE).await;
        // Reap the JVM (its group is empty now, or it never carried the marker).
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let path = self.dir.path().to_path_buf();
        self.dir.close().map_err(RuntimeError::io(format!("removing {}", path.display())))?;
        stopped
    }
}

/// A hard link when the state dir and the temp dir share a file system, else a copy.
fn link_or_copy(from: &Path, to: &Path) -> Result<(), RuntimeError> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to).map(|_| ()).map_err(RuntimeError::io(format!(
        "copying {} to {}",
        from.display(),
        to.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conf_names_the_private_dir_and_the_port() {
        let conf: std::collections::BTreeMap<_, _> = conf(Path::new("/tmp/x/eventlog"), 4040).into_iter().collect();
        assert_eq!(conf["spark.history.fs.logDirectory"], "file:///tmp/x/eventlog");
        assert_eq!(conf["spark.history.ui.port"], "4040");
        assert_eq!(conf["spark.port.maxRetries"], "0");
        let text = properties(&[("a.b".into(), "1".into()), ("c".into(), "x y".into())]);
        assert_eq!(text, "a.b 1\nc x y\n");
    }

    #[test]
    fn the_app_page_once_listed() {
        let listing = serde_json::json!([
            {"id": "app-1", "name": "a", "attempts": [{"completed": true}]},
            {"id": "app-2", "name": "b", "attempts": [{"attemptId": "1", "completed": true}]}
        ]);
        assert_eq!(app_path(&listing, "app-1").as_deref(), Some("/history/app-1/"));
        assert_eq!(app_path(&listing, "app-2").as_deref(), Some("/history/app-2/1/"));
        assert_eq!(app_path(&listing, "app-3"), None);
        assert_eq!(app_path(&serde_json::json!({"error": 1}), "app-1"), None);
        assert_eq!(app_path(&serde_json::json!([]), "app-1"), None);
    }
}
