//! What the driver's log tells: the Spark application id, the driver's UI and, on failure,
//! the line that explains it. Logs may be big, so only the head (where Spark announces the
//! application) and the tail (where a failure is reported) are read.
//!
//! Lines matched (Spark 4.0.1, client mode, default log4j2 profile):
//! - `... INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261124040903-0000`
//! - `... INFO JettyUtils: Start Jetty 127.0.0.1:4040 for SparkUI` (Spark 4),
//!   `... INFO SparkUI: Bound SparkUI to 0.0.0.0, and started at http://host:4040` (Spark 3),
//!   `... INFO Utils: Successfully started service 'SparkUI' on port 4040.` (fallback)
//! - on failure, what `failure_cause` makes of the tail.

use std::path::Path;

use super::{failure_cause, fsutil};

const HEAD_BYTES: u64 = 256 * 1024;
const TAIL_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DriverLogInfo {
    pub app_id: Option<String>,
    pub web_ui_url: Option<String>,
    pub error_line: Option<String>,
}

/// Reads what there is to know from the driver log; `failed` (with the driver's exit code
/// when there is one) asks for the error line too.
pub(crate) fn inspect(path: &Path, failed: bool, exit_code: Option<i32>) -> DriverLogInfo {
    let head = fsutil::read_head(path, HEAD_BYTES).unwrap_or_default();
    let mut info = DriverLogInfo { app_id: app_id(&head), web_ui_url: web_ui_url(&head), error_line: None };
    let needs_tail = failed || info.app_id.is_none() || info.web_ui_url.is_none();
    if needs_tail && head.len() as u64 >= HEAD_BYTES {
        // A chatty app may print a lot before it creates its SparkSession.
        let tail = fsutil::read_tail(path, TAIL_BYTES).unwrap_or_default();
        info.app_id = info.app_id.or_else(|| app_id(&tail));
        info.web_ui_url = info.web_ui_url.or_else(|| web_ui_url(&tail));
        if failed {
            info.error_line = failure_cause::explain(&tail, exit_code);
        }
    } else if failed {
        // The whole log fitted into the head.
        info.error_line = failure_cause::explain(&head, exit_code);
    }
    info
}

pub(crate) fn app_id(text: &str) -> Option<String> {
    const NEEDLE: &str = "Connected to Spark cluster with app ID ";
    let line = text.lines().find(|l| l.contains(NEEDLE))?;
    let id = line.split(NEEDLE).nth(1)?.split_whitespace().next()?;
    (!id.is_empty()).then(|| id.to_string())
}

pub(crate) fn web_ui_url(text: &str) -> Option<String> {
    for line in text.lines() {
        if let Some(rest) = line.split("Bound SparkUI to ").nth(1) {
            if let Some(url) = rest.split(", and started at ").nth(1).and_then(|u| u.split_whitespace().next()) {
                return Some(url.to_string());
            }
        }
        if let Some(rest) = line.split("Start Jetty ").nth(1) {
            if let Some(addr) =
                rest.strip_suffix(" for SparkUI").or_else(|| rest.trim_end().strip_suffix(" for SparkUI"))
            {
                return Some(format!("http://{}", reachable(addr.trim())));
            }
        }
        if let Some(rest) = line.split("Successfully started service 'SparkUI' on port ").nth(1) {
            let port: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if !port.is_empty() {
                return Some(format!("http://127.0.0.1:{port}"));
            }
        }
    }
    None
}

/// A wildcard bind address is not something to click on: the driver runs here.
fn reachable(addr: &str) -> String {
    match addr.strip_prefix("0.0.0.0:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => addr.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_line(text: &str) -> Option<String> {
        failure_cause::explain(text, None)
    }

    const FAILED: &str = "\
26/11/24 04:09:02 INFO JettyUtils: Start Jetty 127.0.0.1:4040 for SparkUI
26/11/24 04:09:02 INFO Utils: Successfully started service 'SparkUI' on port 4040.
26/11/24 04:09:03 INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261124040903-0000
26/11/24 04:09:10 INFO DAGScheduler: Job 0 finished: sum at /tmp/main.py:4, took 3516.656658 ms
Traceback (most recent call last):
  File \"/tmp/main.py\", line 8, in <module>
26/11/24 04:09:10 WARN Something: interleaved Exception text
    raise ValueError(\"boom\")
ValueError: boom
26/11/24 04:09:10 INFO SparkContext: Invoking stop() from shutdown hook
26/11/24 04:09:10 INFO SparkUI: Stopped Spark web UI at http://127.0.0.1:4040
";

    #[test]
    fn reads_the_real_lines() {
        assert_eq!(app_id(FAILED).as_deref(), Some("app-20261124040903-0000"));
        assert_eq!(web_ui_url(FAILED).as_deref(), Some("http://127.0.0.1:4040"));
        assert_eq!(error_line(FAILED).as_deref(), Some("ValueError: boom"));
    }

    #[test]
    fn spark3_and_fallback_ui_lines() {
        let s3 = "21/01/01 00:00:00 INFO SparkUI: Bound SparkUI to 0.0.0.0, and started at http://host:4041\n";
        assert_eq!(web_ui_url(s3).as_deref(), Some("http://host:4041"));
        let only_port = "x INFO Utils: Successfully started service 'SparkUI' on port 4042.\n";
        assert_eq!(web_ui_url(only_port).as_deref(), Some("http://127.0.0.1:4042"));
        assert_eq!(web_ui_url("Start Jetty 0.0.0.0:4043 for SparkUI").as_deref(), Some("http://127.0.0.1:4043"));
        assert_eq!(web_ui_url("nothing"), None);
    }

    #[test]
    fn the_last_traceback_wins() {
        let chained = "\
Traceback (most recent call last):
  File \"a.py\", line 1, in <module>
KeyError: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File \"a.py\", line 3, in <module>
    ^^^^^^
RuntimeError: second
  more text
";
        assert_eq!(error_line(chained).as_deref(), Some("RuntimeError: second"));
    }

    #[test]
    fn falls_back_to_exception_lines() {
        let jvm = "\
26/11/24 04:09:10 ERROR SparkContext: Error initializing SparkContext.
java.lang.IllegalArgumentException: System memory 1 must be at least 471859200.
\tat org.apache.spark.memory.UnifiedMemoryManager$.getMaxMemory(UnifiedMemoryManager.scala:222)
26/11/24 04:09:10 INFO ShutdownHookManager: Shutdown hook called
";
        assert_eq!(
            error_line(jvm).as_deref(),
            Some("java.lang.IllegalArgumentException: System memory 1 must be at least 471859200.")
        );
        let logged = "26/11/24 04:09:10 ERROR Main: Error: bad thing\nfine\n";
        assert_eq!(error_line(logged).as_deref(), Some("ERROR Main: Error: bad thing"));
        assert_eq!(error_line("all good\n"), None);
        let long = format!("Traceback (most recent call last):\nValueError: {}\n", "x".repeat(5000));
        assert!(error_line(&long).is_some_and(|l| l.len() < 1100));
    }
}
