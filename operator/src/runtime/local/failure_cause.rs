//! Why a driver failed, in one line for a Failed job's `message`: the root cause, not the
//! wrapper it reached the driver in. The full trace stays in the log.
//!
//! What Spark 4.0.1 prints to the driver's stderr (client mode), and what is taken from it:
//! - a driver killed by a signal (exit 128 + n) prints nothing of its own, and what the JVM
//!   logged while shutting down is noise: the signal and a hint;
//! - a `py4j.protocol.Py4JJavaError: An error occurred while calling o34.load.` is followed
//!   by the Java exception (`: org.apache.spark.SparkException: ...`), its frames and its
//!   `Caused by:` chain: the Java exception and its deepest cause; when the chain carries a
//!   `PythonException` (a Python error on an executor, RDD API), that Python exception;
//! - a Python error in a UDF reaches the driver as a captured `PythonException` whose text
//!   is the executor's own traceback, printed after the driver's: that traceback's exception;
//! - anything else: the exception line of the last Python traceback, else the last line
//!   that mentions an exception.

/// Error lines end up in a status `message`: keep them readable.
const MAX_LINE: usize = 1000;
/// A Java exception and its cause share one message.
const MAX_PART: usize = MAX_LINE / 2;

const TRACEBACK: &str = "Traceback (most recent call last):";
const PY4J_ERROR: &str = "py4j.protocol.Py4JJavaError:";
const PYTHON_EXCEPTION: &str = "org.apache.spark.api.python.PythonException: Traceback (most recent call last):";
const CAUSED_BY: &str = "Caused by: ";
/// PySpark re-raises JVM errors as these classes; the package says nothing to a user.
const CAPTURED_PREFIX: &str = "pyspark.errors.exceptions.captured.";

/// The one line that explains a failed driver, from its log and its exit code.
pub(crate) fn explain(log: &str, exit_code: Option<i32>) -> Option<String> {
    if let Some(signal) = exit_code.and_then(signal_message) {
        return Some(signal);
    }
    let lines: Vec<&str> = log.lines().collect();
    if let Some(tb) = lines.iter().rposition(|l| l.trim_start().starts_with(TRACEBACK)) {
        if let Some(at) = exception_after(&lines, tb + 1) {
            let line = lines[at];
            if line.starts_with(PY4J_ERROR) {
                if let Some(cause) = java_cause(&lines[at + 1..]) {
                    return Some(cause);
                }
            }
            return Some(clip(line.strip_prefix(CAPTURED_PREFIX).unwrap_or(line), MAX_LINE));
        }
    }
    lines
        .iter()
        .rev()
        // Indented lines are stack frames (`\tat ...Exception...`), not the explanation.
        .find(|l| !l.starts_with(char::is_whitespace) && (l.contains("Exception") || l.contains("Error:")))
        .map(|l| match log_prefix_len(l) {
            Some(n) => clip(&l[n..], MAX_LINE),
            None => clip(l, MAX_LINE),
        })
}

/// `exit 137: killed (out of memory?)` for the exit codes a shell or Docker reports for a
/// process ended by a signal.
pub(crate) fn signal_message(code: i32) -> Option<String> {
    let what = match code.checked_sub(128)? {
        1 => "hung up (SIGHUP)",
        2 => "interrupted (SIGINT)",
        4 => "illegal instruction (SIGILL)",
        6 => "aborted (SIGABRT; see the JVM's hs_err file or a native crash above)",
        9 => "killed (out of memory?)",
        11 => "segmentation fault (SIGSEGV)",
        15 => "terminated (SIGTERM)",
        n @ (3 | 5 | 7 | 8 | 10 | 12..=14 | 16..=31) => return Some(format!("exit {code}: killed by signal {n}")),
        _ => return None,
    };
    Some(format!("exit {code}: {what}"))
}

/// The first line after `from` that is an exception line: not a frame (indented), not a
/// JVM log line (both write to the same stream, so they may interleave), not blank.
fn exception_after(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&i| {
        let l = lines[i];
        !l.trim().is_empty() && !l.starts_with(char::is_whitespace) && log_prefix_len(l).is_none()
    })
}

/// The Java side of a `Py4JJavaError`: the lines up to the next log line.
fn java_cause(after: &[&str]) -> Option<String> {
    let block: Vec<&str> = after.iter().copied().take_while(|l| log_prefix_len(l).is_none()).collect();
    let top = block.first()?.strip_prefix(": ").unwrap_or(block[0]).trim();
    if top.is_empty() {
        return None;
    }
    // A Python error on an executor: its traceback follows the Java line that carries it.
    if let Some(py) = block.iter().rposition(|l| l.contains(PYTHON_EXCEPTION)) {
        if let Some(at) = exception_after(&block, py + 1).filter(|&i| !block[i].starts_with(CAUSED_BY)) {
            return Some(clip(block[at], MAX_LINE));
        }
    }
    let deepest = block.iter().rev().find_map(|l| l.strip_prefix(CAUSED_BY)).map(str::trim);
    Some(match deepest {
        Some(cause) if cause != top => format!("{} (caused by {})", clip(top, MAX_PART), clip(cause, MAX_PART)),
        _ => clip(top, MAX_LINE),
    })
}

/// A log4j line of Spark's default pattern (`26/11/24 04:09:10 INFO ...`) or an ISO-dated one.
pub(crate) fn log_prefix_len(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if digits(0..2)
        && at(2, b'/')
        && digits(3..5)
        && at(5, b'/')
        && digits(6..8)
        && at(8, b' ')
        && digits(9..11)
        && at(11, b':')
    {
        return Some(18.min(line.len()));
    }
    if digits(0..4) && at(4, b'-') && digits(5..7) && at(7, b'-') && digits(8..10) && (at(10, b' ') || at(10, b'T')) {
        return line.find(' ').map(|i| i + 1);
    }
    None
}

fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    //! The `testdata/*.log` excerpts are real driver logs of Spark 4.0.1 (pyspark from PyPI,
    //! `--master local-cluster[1,1,1024]`, so executors are separate JVMs and the master's
    //! and worker's log lines interleave as badly as they can), around the failure.
    use super::*;

    #[test]
    fn a_java_error_names_its_deepest_cause() {
        // spark.read.format("libsvm").load(p) after p was removed: the executors fail to read it.
        let m = explain(include_str!("testdata/vanish.log"), Some(1)).expect("a message");
        assert!(
            m.starts_with("org.apache.spark.SparkException: [FAILED_READ_FILE.FILE_NOT_EXIST] Encountered error while reading file file:///tmp/fail/vanish.txt. File does not exist."),
            "{m}"
        );
        assert!(
            m.ends_with("(caused by java.io.FileNotFoundException: File file:/tmp/fail/vanish.txt does not exist)"),
            "{m}"
        );
        assert!(!m.contains("Py4JJavaError"), "{m}");
    }

    #[test]
    fn an_analysis_error_is_the_python_line_without_the_package() {
        let m = explain(include_str!("testdata/missing.log"), Some(1));
        assert_eq!(
            m.as_deref(),
            Some(
                "AnalysisException: [PATH_NOT_FOUND] Path does not exist: file:/tmp/fail/no/such/dir. SQLSTATE: 42K03"
            )
        );
    }

    #[test]
    fn an_executor_side_python_error_is_that_error() {
        // A UDF raising: the driver gets a captured PythonException with the worker's traceback.
        assert_eq!(explain(include_str!("testdata/udf.log"), Some(1)).as_deref(), Some("ValueError: bad row 0"));
        // An RDD map raising: the worker's traceback travels inside the Py4JJavaError.
        assert_eq!(
            explain(include_str!("testdata/rdd.log"), Some(1)).as_deref(),
            Some("ZeroDivisionError: executor side division")
        );
    }

    #[test]
    fn a_signal_is_named_whatever_the_log_says() {
        // The driver killed with SIGKILL: what the JVM logs while it goes is no explanation.
        let log = include_str!("testdata/kill.log");
        assert!(explain(log, None).is_some_and(|m| m.contains("IllegalStateException")));
        assert_eq!(explain(log, Some(137)).as_deref(), Some("exit 137: killed (out of memory?)"));
        assert_eq!(signal_message(143).as_deref(), Some("exit 143: terminated (SIGTERM)"));
        assert_eq!(signal_message(138).as_deref(), Some("exit 138: killed by signal 10"));
        assert_eq!(signal_message(1), None);
        assert_eq!(signal_message(128), None);
        assert_eq!(signal_message(255), None);
        assert_eq!(signal_message(i32::MIN), None);
    }

    #[test]
    fn a_py4j_error_without_a_java_block_is_kept() {
        let log = "Traceback (most recent call last):\n  File \"a.py\", line 1\npy4j.protocol.Py4JJavaError: An error occurred while calling o1.x.\n26/11/24 04:09:10 INFO SparkContext: bye\n";
        assert_eq!(
            explain(log, Some(1)).as_deref(),
            Some("py4j.protocol.Py4JJavaError: An error occurred while calling o1.x.")
        );
    }
}
