//! A user's edits racing the operator's status writes: none may be lost, whichever way the
//! editor saves. Each style edits a file of several jobs while status writes for every job
//! go on as fast as the operator's status writer allows; every edit adds a marker line, and
//! a marker missing from the final file is a lost edit.
//!
//! `SPARKSWARM_RACE_EDITS` sets the edits per style (default 150, enough to hit the window
//! many times in well under a minute; BENCHMARKS.md reports runs with 2,000).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sparkswarm::api::Kind;
use sparkswarm::manifest::{StatusWrite, StatusWriter};

const JOBS: usize = 5;

#[derive(Debug, Clone, Copy)]
enum Style {
    /// Write a temp file, rename it over the manifest (vim's default, most IDEs).
    TempRename,
    /// `O_TRUNC` and one write (nano, `echo > file`).
    InPlace,
    /// `O_TRUNC`, then the text in two chunks with a pause of up to 50 ms (`cat > file`, a
    /// script writing line by line).
    Chunked,
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn manifest() -> String {
    (0..JOBS)
        .map(|i| {
            format!(
                "# job {i}\napiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: job-{i}\nspec:\n  clusterRef: missing\n  mainApplicationFile: ../apps/app.py\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

fn marker(k: usize) -> String {
    format!("# user edit {k}\n")
}

fn save(path: &Path, text: &str, style: Style, rng: &mut Rng) {
    match style {
        Style::TempRename => {
            let tmp = path.with_file_name(".m.yaml.swp");
            std::fs::write(&tmp, text).expect("write temp");
            std::fs::rename(&tmp, path).expect("rename");
        }
        Style::InPlace => {
            let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(path).expect("open");
            f.write_all(text.as_bytes()).expect("write");
        }
        Style::Chunked => {
            let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(path).expect("open");
            let cut = text.len() / 2;
            let cut = (cut..text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
            f.write_all(&text.as_bytes()[..cut]).expect("write");
            f.flush().expect("flush");
            std::thread::sleep(Duration::from_millis(rng.below(51)));
            f.write_all(&text.as_bytes()[cut..]).expect("write");
        }
    }
}

struct Race {
    lost: Vec<usize>,
    status_writes: u64,
    edits: usize,
    elapsed: Duration,
}

fn race(style: Style, edits: usize) -> Race {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).expect("mkdir");
    let path: PathBuf = manifests.join("m.yaml");
    std::fs::write(&path, manifest()).expect("write");

    let writer = Arc::new(StatusWriter::default());
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    // Two writers, as two reconciles of jobs in one file run at once.
    let writers: Vec<_> = (0..2)
        .map(|t| {
            let (writer, stop, written, path) = (writer.clone(), stop.clone(), written.clone(), path.clone());
            std::thread::spawn(move || {
                let mut tick = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    tick += 1;
                    let job = (tick as usize * 2 + t) % JOBS;
                    let status = json!({"phase": "Pending", "message": format!("writer {t} tick {tick}")});
                    let w = StatusWrite::object(&path, Kind::SparkJob, &format!("job-{job}"), job, status);
                    if let Ok(sparkswarm::manifest::WriteOutcome::Written) = writer.write(w) {
                        written.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();

    let started = Instant::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ edits as u64);
    for k in 0..edits {
        let current = std::fs::read_to_string(&path).expect("read");
        // Edits land at different places: the top, inside a job, at the end.
        let text = match k % 3 {
            0 => format!("{}{current}", marker(k)),
            1 => current.replacen("spec:\n", &format!("{}spec:\n", marker(k)), 1),
            _ => format!("{current}{}", marker(k)),
        };
        save(&path, &text, style, &mut rng);
        // Editors do not save back to back; the operator gets its turn in between (at a
        // save every 1 ms no status write, which fsyncs, would ever land).
        std::thread::sleep(Duration::from_micros(200 + rng.below(20_000)));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("status writer");
    }
    let elapsed = started.elapsed();
    let end = std::fs::read_to_string(&path).expect("read");
    let lost = (0..edits).filter(|k| !end.contains(&marker(*k))).collect();
    let leftovers: Vec<String> = std::fs::read_dir(&manifests)
        .expect("read_dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".sparkswarm-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left behind: {leftovers:?}");
    Race { lost, status_writes: written.load(Ordering::Relaxed), edits, elapsed }
}

fn edits() -> usize {
    std::env::var("SPARKSWARM_RACE_EDITS").ok().and_then(|v| v.parse().ok()).unwrap_or(150)
}

fn check(style: Style) {
    let r = race(style, edits());
    println!(
        "{style:?}: {} edits, {} lost, {} status writes in {:.1} s",
        r.edits,
        r.lost.len(),
        r.status_writes,
        r.elapsed.as_secs_f64()
    );
    assert!(r.status_writes > 0, "no status was ever written: the race did not happen");
    assert!(r.lost.is_empty(), "{style:?}: {} of {} edits lost: {:?}", r.lost.len(), r.edits, r.lost);
}

#[test]
fn no_edit_is_lost_to_a_status_write_with_temp_and_rename() {
    check(Style::TempRename);
}

#[test]
fn no_edit_is_lost_to_a_status_write_when_saved_in_place() {
    check(Style::InPlace);
}

#[test]
fn no_edit_is_lost_to_a_status_write_when_saved_in_chunks() {
    check(Style::Chunked);
}
