//! The operator at scale, measured end to end with the release binary:
//! (a) 10,000 SparkJob files referencing a missing cluster: operator start → all statuses
//!     written (wall time, peak RSS);
//! (b) a new file's close → its status written, p50/p99 over 200 files dropped into the
//!     running operator;
//! (c) CPU used by the idle operator watching those 10,000 resources over 60 s.
//! Run: `cargo bench --bench operator_scale` (figures go to stdout; BENCHMARKS.md keeps them).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sparkswarm");

fn job(name: &str) -> String {
    format!(
        "# benchmark job\napiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: {name}\nspec:\n  clusterRef: missing\n  mainApplicationFile: ../apps/app.py\n"
    )
}

fn has_status(path: &Path) -> bool {
    std::fs::read_to_string(path).map(|t| t.contains("\nstatus:\n")).unwrap_or(false)
}

fn metric(addr: &str, name: &str) -> Option<f64> {
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut body = String::new();
    std::io::Read::read_to_string(&mut stream, &mut body).ok()?;
    body.lines().find(|l| l.starts_with(name)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

fn proc_field(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok())
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = s.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime); after the ')' they are at 11 and 12.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn start(root: &Path, addr: &str) -> Child {
    Command::new(BIN)
        .args(["run", "--metrics-addr", addr])
        .current_dir(root)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start operator")
}

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let n: usize = std::env::var("BENCH_FILES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let drops: usize = std::env::var("BENCH_DROPS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let idle_secs: u64 = std::env::var("BENCH_IDLE_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let dir = tempfile::Builder::new().prefix("sparkswarm-bench-").tempdir().expect("tempdir");
    let root = dir.path();
    let manifests = root.join("manifests");
    std::fs::create_dir_all(&manifests).expect("mkdir");
    std::fs::create_dir_all(root.join("apps")).expect("mkdir");
    std::fs::write(root.join("apps/app.py"), "print('hi')\n").expect("app");
    let paths: Vec<PathBuf> = (0..n).map(|i| manifests.join(format!("job-{i:05}.yaml"))).collect();
    for (i, p) in paths.iter().enumerate() {
        std::fs::write(p, job(&format!("job-{i:05}"))).expect("write");
    }

    // (a)
    let addr = free_addr();
    let t0 = Instant::now();
    let mut op = start(root, &addr);
    let pid = op.id();
    let mut peak_kb = 0;
    loop {
        peak_kb = peak_kb.max(proc_field(pid, "VmHWM:").unwrap_or(0));
        if metric(&addr, "sparkswarm_jobs{phase=\"Pending\"}").unwrap_or(0.0) as usize >= n {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(600), "(a) did not finish in 10 minutes");
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = t0.elapsed();
    peak_kb = peak_kb.max(proc_field(pid, "VmHWM:").unwrap_or(0));
    let missing = paths.iter().filter(|p| !has_status(p)).count();
    assert_eq!(missing, 0, "every file has a status");
    println!(
        "(a) {n} SparkJob files, operator start -> all statuses written: {:.2} s, peak RSS {:.1} MB",
        took.as_secs_f64(),
        peak_kb as f64 / 1024.0
    );

    // (b)
    let mut lat = Vec::with_capacity(drops);
    for i in 0..drops {
        let name = format!("drop-{i:04}");
        let tmp = manifests.join(format!(".{name}.tmp"));
        let path = manifests.join(format!("{name}.yaml"));
        std::fs::write(&tmp, job(&name)).expect("write");
        std::fs::rename(&tmp, &path).expect("rename");
        let t = Instant::now();
        while !has_status(&path) {
            assert!(t.elapsed() < Duration::from_secs(30), "(b) {name} never got a status");
            std::thread::sleep(Duration::from_micros(200));
        }
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "(b) new file close -> status written, {drops} files: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );

    // (c) let the last writes settle, then measure.
    std::thread::sleep(Duration::from_secs(2));
    let hz: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0);
    let c0 = cpu_ticks(pid).unwrap_or(0);
    std::thread::sleep(Duration::from_secs(idle_secs));
    let c1 = cpu_ticks(pid).unwrap_or(0);
    let cpu = (c1 - c0) as f64 / hz / idle_secs as f64 * 100.0;
    println!("(c) idle operator watching {} resources over {idle_secs} s: {cpu:.2}% of one core", n + drops);

    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM);
    let _ = op.wait();
}
