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
