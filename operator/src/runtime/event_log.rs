//! Spark's event log, on for every attempt on every runtime: Spark's own record of the run
//! (jobs, stages, tasks, their metrics), which the History Server replays after the driver
//! is gone. Each runtime has its driver write it into the attempt's `eventlog/` (collected
//! back like the outputs where the driver runs elsewhere); these are the confs that do it.

/// The attempt directory's subdirectory that holds the log.
pub const DIR: &str = "eventlog";

/// Spark's default `spark.redaction.regex`, widened to the ways a value reaches the driver's
/// environment through confs: Spark writes every conf into the event log's environment
/// record and redacts those whose key or value matches.
const REDACTION: &str =
    "(?i)secret|password|passwd|token|credential|access[.]?key|private[.]?key|executorEnv|appMasterEnv|driverEnv";

/// The confs for a driver that writes its event log into `dir` (as the driver sees it). They
/// come after the user's, so that a job can neither turn the log off nor send it elsewhere.
pub fn spark_conf(dir: &str) -> Vec<(String, String)> {
    [
        ("spark.eventLog.enabled", "true".to_string()),
        ("spark.eventLog.dir", format!("file://{dir}")),
        // One plain JSON-lines file, readable by the History Server and the status parser.
        ("spark.eventLog.compress", "false".to_string()),
        ("spark.eventLog.rolling.enabled", "false".to_string()),
        ("spark.redaction.regex", REDACTION.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_on_plain_and_redacted() {
        let conf: std::collections::BTreeMap<_, _> = spark_conf("/data/a/eventlog").into_iter().collect();
        assert_eq!(conf["spark.eventLog.enabled"], "true");
        assert_eq!(conf["spark.eventLog.dir"], "file:///data/a/eventlog");
        assert_eq!(conf["spark.eventLog.compress"], "false");
        assert!(conf["spark.redaction.regex"].contains("executorEnv"));
    }
}
