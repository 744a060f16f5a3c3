//! `SPARKSWARM_JVM_OPTIONS`: options for every Spark JVM the operator starts (masters,
//! workers, drivers and, through the workers, executors) on every runtime, handed to them as
//! `JAVA_TOOL_OPTIONS`, which every JVM reads. A setting of the machine running the operator,
//! not of a manifest: e.g. `-XX:TieredStopAtLevel=1 -XX:+UseSerialGC` halves the CPU that a
//! short MLlib job spends on a 2-core machine (most of it goes to the JIT compiler), at the
//! cost of slower long computations.

/// The operator's environment variable.
pub const VAR: &str = "SPARKSWARM_JVM_OPTIONS";

/// The variable every JVM reads at start.
const JVM_VAR: &str = "JAVA_TOOL_OPTIONS";

/// What a local Spark process gets in its environment (nothing when unset or blank).
pub fn env_pair() -> Option<(String, String)> {
    of(std::env::var(VAR).ok().as_deref())
}

/// What a container's environment gets, as `NAME=value` entries.
pub fn container_env() -> Vec<String> {
    env_pair().map(|(k, v)| format!("{k}={v}")).into_iter().collect()
}

fn of(value: Option<&str>) -> Option<(String, String)> {
    let value = value?.trim();
    (!value.is_empty()).then(|| (JVM_VAR.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_means_none_and_a_value_becomes_java_tool_options() {
        assert_eq!(of(None), None);
        assert_eq!(of(Some("  ")), None);
        assert_eq!(
            of(Some(" -XX:TieredStopAtLevel=1 ")),
            Some(("JAVA_TOOL_OPTIONS".into(), "-XX:TieredStopAtLevel=1".into()))
        );
    }
}
