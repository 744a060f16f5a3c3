//! `status.sparkMetrics`: totals over Spark's JSON-lines event log. Pure: the text in, the
//! figures out. Lines that are not JSON or not an event Spark's listener bus writes are
//! skipped (a driver killed mid-write leaves a torn last line).

use serde_json::Value;

use crate::api::job::{SparkMetrics, StageTime};

pub fn parse(log: &str) -> SparkMetrics {
    let mut m = SparkMetrics::default();
    for line in log.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else { continue };
        match event.get("Event").and_then(Value::as_str) {
            Some("SparkListenerJobStart") => m.jobs += 1,
            Some("SparkListenerStageCompleted") => stage(&mut m, event.get("Stage Info").unwrap_or(&Value::Null)),
            Some("SparkListenerTaskEnd") => task(&mut m, &event),
            _ => {}
        }
    }
    m
}

fn n(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

fn stage(m: &mut SparkMetrics, info: &Value) {
    m.stages += 1;
    let (start, end) = (n(info, "/Submission Time"), n(info, "/Completion Time"));
    let duration = end.saturating_sub(start);
    if m.longest_stage.as_ref().is_none_or(|l| duration > l.duration_millis) {
        m.longest_stage = Some(StageTime {
            id: n(info, "/Stage ID"),
            name: info.get("Stage Name").and_then(Value::as_str).unwrap_or_default().to_string(),
            duration_millis: duration,
        });
    }
}

fn task(m: &mut SparkMetrics, event: &Value) {
    m.tasks += 1;
    let failed = event.pointer("/Task Info/Failed").and_then(Value::as_bool).unwrap_or(false)
        || event.pointer("/Task End Reason/Reason").and_then(Value::as_str).is_some_and(|r| r != "Success");
    if failed {
        m.failed_tasks += 1;
    }
    let Some(t) = event.get("Task Metrics") else { return };
    m.executor_run_time_millis += n(t, "/Executor Run Time");
    m.input_bytes += n(t, "/Input Metrics/Bytes Read");
    m.shuffle_read_bytes +=
        n(t, "/Shuffle Read Metrics/Local Bytes Read") + n(t, "/Shuffle Read Metrics/Remote Bytes Read");
    m.shuffle_write_bytes += n(t, "/Shuffle Write Metrics/Shuffle Bytes Written");
    m.peak_execution_memory_bytes = m.peak_execution_memory_bytes.max(n(t, "/Peak Execution Memory"));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines in the shape Spark's JsonProtocol writes them, trimmed to the fields read here,
    /// plus the kinds of noise a real log holds (other events, a torn last line).
    const LOG: &str = r#"{"Event":"SparkListenerLogStart","Spark Version":"4.0.1"}
{"Event":"SparkListenerApplicationStart","App Name":"job-ok","App ID":"app-20261201120000-0000","Timestamp":1}
{"Event":"SparkListenerJobStart","Job ID":0,"Stage IDs":[0]}
{"Event":"SparkListenerTaskEnd","Stage ID":0,"Task End Reason":{"Reason":"Success"},"Task Info":{"Failed":false},"Task Metrics":{"Executor Run Time":120,"Peak Execution Memory":0,"Input Metrics":{"Bytes Read":400},"Shuffle Read Metrics":{"Local Bytes Read":0,"Remote Bytes Read":0},"Shuffle Write Metrics":{"Shuffle Bytes Written":0}}}
{"Event":"SparkListenerStageCompleted","Stage Info":{"Stage ID":0,"Stage Name":"sum at main.py:9","Submission Time":1000,"Completion Time":1200}}
{"Event":"SparkListenerJobStart","Job ID":1,"Stage IDs":[1,2]}
{"Event":"SparkListenerTaskEnd","Stage ID":1,"Task End Reason":{"Reason":"Success"},"Task Info":{"Failed":false},"Task Metrics":{"Executor Run Time":80,"Peak Execution Memory":1024,"Input Metrics":{"Bytes Read":0},"Shuffle Write Metrics":{"Shuffle Bytes Written":300}}}
{"Event":"SparkListenerTaskEnd","Stage ID":1,"Task End Reason":{"Reason":"ExceptionFailure","Class Name":"ValueError"},"Task Info":{"Failed":true}}
{"Event":"SparkListenerStageCompleted","Stage Info":{"Stage ID":1,"Stage Name":"reduceByKey at main.py:11","Submission Time":1300,"Completion Time":1900}}
{"Event":"SparkListenerTaskEnd","Stage ID":2,"Task End Reason":{"Reason":"Success"},"Task Info":{"Failed":false},"Task Metrics":{"Executor Run Time":50,"Peak Execution Memory":4096,"Shuffle Read Metrics":{"Local Bytes Read":200,"Remote Bytes Read":100}}}
{"Event":"SparkListenerStageCompleted","Stage Info":{"Stage ID":2,"Stage Name":"count at main.py:11","Submission Time":1900,"Completion Time":2000}}
{"Event":"SparkListenerApplicationEnd","Timestamp":3}
{"Event":"SparkListenerTaskEnd","Stage ID":2,"Task"#;

    #[test]
    fn totals_over_jobs_stages_and_tasks() {
        let m = parse(LOG);
        assert_eq!((m.jobs, m.stages, m.tasks, m.failed_tasks), (2, 3, 4, 1));
        assert_eq!(m.executor_run_time_millis, 250);
        assert_eq!(m.input_bytes, 400);
        assert_eq!((m.shuffle_read_bytes, m.shuffle_write_bytes), (300, 300));
        assert_eq!(m.peak_execution_memory_bytes, 4096);
        let longest = m.longest_stage.expect("a stage");
        assert_eq!((longest.id, longest.name.as_str(), longest.duration_millis), (1, "reduceByKey at main.py:11", 600));
    }

    /// `testdata/shuffle.eventlog` is the event log of a real run of `testdata/shuffle_app.py`
    /// (a CSV read with `spark.read`, a DataFrame group-by, an RDD `reduceByKey`) on Spark
    /// 4.0.1 (pyspark from PyPI): `spark-submit --master local[2]` with this module's confs
    /// (`spark.eventLog.enabled`, uncompressed, not rolling) over `apps/data/titanic.csv`
    /// (24,781 bytes) shipped as `data/titanic.csv`. To keep it under 200 KB, the values the
    /// parser never reads were emptied: the environment record's Hadoop properties and
    /// classpath, the SQL events' plan descriptions, the jobs' `extraJavaOptions`.
    const REAL: &str = include_str!("testdata/shuffle.eventlog");

    #[test]
    fn a_real_log_of_a_job_that_shuffles() {
        let m = parse(REAL);
        // Counted straight from the log's events, independently of the parser.
        let count =
            |event: &str| REAL.lines().filter(|l| l.starts_with(&format!("{{\"Event\":\"{event}\""))).count() as u64;
        assert_eq!(m.jobs, count("SparkListenerJobStart"));
        assert_eq!(m.stages, count("SparkListenerStageCompleted"));
        assert_eq!(m.tasks, count("SparkListenerTaskEnd"));
        assert!(m.jobs >= 2 && m.stages >= 4 && m.tasks >= 8, "{m:?}");
        assert_eq!(m.failed_tasks, 0);
        assert!(m.executor_run_time_millis > 0, "{m:?}");
        assert!(m.input_bytes >= 24_781, "the CSV was read by the executors: {m:?}");
        assert!(m.shuffle_write_bytes > 0 && m.shuffle_read_bytes > 0, "{m:?}");
        let longest = m.longest_stage.expect("a stage");
        assert!(longest.duration_millis > 0 && !longest.name.is_empty(), "{longest:?}");
        // The longest stage is one the log completed, with that duration.
        let line = REAL
            .lines()
            .filter(|l| l.starts_with("{\"Event\":\"SparkListenerStageCompleted\""))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| n(e, "/Stage Info/Stage ID") == longest.id)
            .expect("the longest stage's completion");
        let info = &line["Stage Info"];
        assert_eq!(n(info, "/Completion Time") - n(info, "/Submission Time"), longest.duration_millis);
    }

    #[test]
    fn an_empty_or_garbled_log_gives_zeroes() {
        assert_eq!(parse(""), SparkMetrics::default());
        assert_eq!(parse("not json\n{\"Event\": 3}\n[]"), SparkMetrics::default());
    }
}
