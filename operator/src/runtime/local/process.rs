//! Detached processes: spawning them in their own process group, recognising them again in
//! /proc after an operator restart, and stopping a whole group.
//!
//! A process is "ours" only when it is alive AND carries a marker we put there: an exact
//! argument in /proc/PID/cmdline or an exact `KEY=VALUE` in /proc/PID/environ. A pid from a
//! pidfile alone proves nothing (pids are recycled); the environ marker also covers the
//! short window before `spark-class` execs the JVM and the children the JVM starts
//! (executors, Python workers), which inherit the environment but not the JVM's arguments.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::runtime::RuntimeError;

/// How a process proves it is ours.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Marker {
    /// Arguments that must all appear, each as one exact element of the command line.
    pub args: Vec<String>,
    /// An environment entry, `KEY=VALUE`, that must appear exactly.
    pub env_key: String,
    pub env_value: String,
}

impl Marker {
    fn env_entry(&self) -> String {
        format!("{}={}", self.env_key, self.env_value)
    }
}

/// What to run, detached.
pub(crate) struct Spawn<'a> {
    pub program: &'a Path,
    pub args: Vec<&'a OsStr>,
    pub envs: Vec<(String, String)>,
    pub cwd: &'a Path,
    /// stdout and stderr are appended here.
    pub log: &'a Path,
}

/// Starts a process in its own process group (pgid = its pid), stdin from /dev/null and
/// output appended to its log. It is deliberately not killed when the operator exits (no
/// kill_on_drop, not in the operator's group, so a terminal's SIGINT does not reach it): a
/// restarted operator adopts it. A task awaits its exit so it does not linger as a zombie
/// while this operator lives; after an operator exit, init reaps it.
pub(crate) fn spawn_detached(s: Spawn<'_>) -> Result<i32, RuntimeError> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(s.log)
        .map_err(RuntimeError::io(format!("opening {}", s.log.display())))?;
    let log2 = log.try_clone().map_err(RuntimeError::io(format!("opening {}", s.log.display())))?;
    let mut cmd = tokio::process::Command::new(s.program);
    cmd.args(&s.args)
        .envs(crate::runtime::jvm_options::env_pair())
        .envs(s.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(s.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .process_group(0)
        .kill_on_drop(false);
    let mut child = cmd.spawn().map_err(RuntimeError::io(format!("starting {}", s.program.display())))?;
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| RuntimeError::ProcessError(format!("{} exited before its pid was read", s.program.display())))?;
    let name = s.program.display().to_string();
    tokio::spawn(async move {
        match child.wait().await {
            Ok(status) => tracing::debug!(pid, program = %name, %status, "detached process exited"),
            Err(e) => tracing::warn!(pid, program = %name, error = %e, "waiting for a detached process failed"),
        }
    });
    Ok(pid)
}

/// Resolves when process `pid` exits: its pidfd becomes readable then (Linux ≥ 5.3), for a
/// child of ours and for a process adopted after a restart alike. `false` when no pidfd can
/// be had (the process is already gone and reaped, or the kernel has no pidfds): the caller
/// decides from the attempt's files what that means.
#[allow(unsafe_code)]
pub(crate) async fn exited(pid: i32) -> bool {
    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;
    let Some(pid) = rustix::process::Pid::from_raw(pid) else { return false };
    let fd = match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::NONBLOCK) {
        Ok(fd) => fd,
        Err(_) => return false,
    };
    // SAFETY: the pidfd is an `OwnedFd` moved into the `AsyncFd`, which alone closes it, after
    // deregistering it, when dropped: the descriptor stays valid for the registration's life.
    match unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) } {
        Ok(fd) => fd.readable().await.is_ok(),
        Err(_) => false,
    }
}

/// Reads a pidfile; a missing or garbled one is "no pid".
pub(crate) fn read_pidfile(path: &Path) -> Option<i32> {
    let s = std::fs::read_to_string(path).ok()?;
    s.trim().parse::<i32>().ok().filter(|p| *p > 1)
}

/// The fields of /proc/PID/stat we need: state and process group.
struct Stat {
    state: char,
    pgrp: i32,
}

fn stat(pid: i32) -> Option<Stat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself hold spaces or parentheses, so the
    // fields are counted from the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some(Stat { state, pgrp })
}

/// Alive means it exists and is not a zombie (an exited child not reaped yet).
pub(crate) fn is_alive(pid: i32) -> bool {
    matches!(stat(pid), Some(st) if st.state != 'Z' && st.state != 'X')
}

fn nul_separated(path: String) -> Option<Vec<String>> {
    let bytes = std::fs::read(path).ok()?;
    Some(bytes.split(|b| *b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect())
}

pub(crate) fn cmdline(pid: i32) -> Option<Vec<String>> {
    nul_separated(format!("/proc/{pid}/cmdline"))
}

fn carries(pid: i32, marker: &Marker) -> bool {
    if let Some(args) = cmdline(pid) {
        if !marker.args.is_empty() && marker.args.iter().all(|m| args.iter().any(|a| a == m)) {
            return true;
        }
    }
    let entry = marker.env_entry();
    // environ of another user's process is unreadable: then it is not ours either.
    nul_separated(format!("/proc/{pid}/environ")).is_some_and(|env| env.contains(&entry))
}

/// Alive and carrying the marker.
pub(crate) fn is_ours(pid: i32, marker: &Marker) -> bool {
    is_alive(pid) && carries(pid, marker)
}

fn all_pids() -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else { return Vec::new() };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()).collect()
}

/// Every live process carrying the marker.
pub(crate) fn find_marked(marker: &Marker) -> Vec<i32> {
    all_pids().into_iter().filter(|p| is_ours(*p, marker)).collect()
}

/// Live members of process group `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|p| matches!(stat(*p), Some(st) if st.pgrp == pgid && st.state != 'Z' && st.state != 'X'))
        .collect()
}

fn signal_group(pgid: i32, sig: Signal) {
    match killpg(Pid::from_raw(pgid), sig) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pgid, signal = %sig, error = %e, "signalling a process group failed"),
    }
}

async fn wait_group_empty(pgid: i32, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if group_members(pgid).is_empty() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops the process group `pgid` (SIGTERM, then SIGKILL after `grace`) if any member of it
/// carries the marker. A group whose members carry no marker is someone else's (the pid
/// was recycled) and is left alone. Returns once the group is empty.
pub(crate) async fn stop_group(pgid: i32, marker: &Marker, grace: Duration) -> Result<(), RuntimeError> {
    let members = group_members(pgid);
    if !members.iter().any(|p| carries(*p, marker)) {
        return Ok(());
    }
    signal_group(pgid, Signal::SIGTERM);
    if wait_group_empty(pgid, grace).await {
        return Ok(());
    }
    tracing::warn!(pgid, grace_secs = grace.as_secs(), "process group ignored SIGTERM; sending SIGKILL");
    signal_group(pgid, Signal::SIGKILL);
    if wait_group_empty(pgid, Duration::from_secs(10)).await {
        Ok(())
    } else {
        Err(RuntimeError::ProcessError(format!("process group {pgid} survived SIGKILL")))
    }
}

/// SIGKILLs a group we just started ourselves (so it is ours without a marker check).
pub(crate) fn kill_group_now(pgid: i32) {
    signal_group(pgid, Signal::SIGKILL);
}

/// Kills, with SIGKILL and no grace, every live process carrying the marker (the sweep
/// after the orderly stop: whatever escaped its group or lost its pidfile).
pub(crate) async fn kill_marked(marker: &Marker) -> Result<(), RuntimeError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = find_marked(marker);
        if left.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(RuntimeError::ProcessError(format!("processes {left:?} survived SIGKILL")));
        }
        for pid in left {
            match nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => tracing::warn!(pid, error = %e, "SIGKILL failed"),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(v: &str) -> Marker {
        Marker { args: vec![format!("--marker={v}")], env_key: "SPARKSWARM_TEST_MARKER".into(), env_value: v.into() }
    }

    #[tokio::test]
    async fn spawn_recognise_and_stop_a_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        let m = marker(&format!("{}", std::process::id()));
        // The shell starts a grandchild in the same group: stopping must take both.
        let pid = spawn_detached(Spawn {
            program: Path::new("/bin/sh"),
            args: vec![OsStr::new("-c"), OsStr::new("sleep 600 & echo started; wait")],
            envs: vec![(m.env_key.clone(), m.env_value.clone())],
            cwd: dir.path(),
            log: &log,
        })
        .expect("spawn");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        // Right after exec the kernel may still show an empty environ (the new stack is
        // laid out after the spawning parent resumes): wait for it rather than race it.
        while !is_ours(pid, &m) {
            assert!(tokio::time::Instant::now() < deadline, "the marker never showed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!is_ours(pid, &marker("other")));
        while group_members(pid).len() < 2 {
            assert!(tokio::time::Instant::now() < deadline, "the grandchild did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(find_marked(&m).len(), 2);
        stop_group(pid, &m, Duration::from_secs(5)).await.expect("stop");
        assert!(group_members(pid).is_empty());
        assert!(find_marked(&m).is_empty());
    }

    #[tokio::test]
    async fn the_exit_of_a_process_is_an_event() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        let gate = dir.path().join("gate");
        // It exits once the gate file appears; the watch must be waiting before that.
        let script = format!("while [ ! -e '{}' ]; do sleep 0.01; done", gate.display());
        let pid = spawn_detached(Spawn {
            program: Path::new("/bin/sh"),
            args: vec![OsStr::new("-c"), OsStr::new(&script)],
            envs: vec![],
            cwd: dir.path(),
            log: &log,
        })
        .expect("spawn");
        let watch = tokio::spawn(exited(pid));
        tokio::task::yield_now().await;
        assert!(!watch.is_finished(), "the watch ended before the process did");
        std::fs::write(&gate, b"").expect("gate");
        assert!(watch.await.expect("join"), "the pidfd reported the exit");
    }
}
