//! The fuzz targets' properties (fuzz/checks/) on every test run: replayed over their committed
//! corpora, then a short mutation run from those corpora (random edits biased to YAML's
//! indicators, seed printed). Coverage-guided fuzzing is `fuzz/ci.sh` (needs cargo-fuzz and an
//! instrumented build; see BENCHMARKS.md, issue 10).

use std::path::{Path, PathBuf};

#[path = "../fuzz/checks/parse_validate.rs"]
mod parse_validate;
#[path = "../fuzz/checks/splice_status.rs"]
mod splice_status;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus {} is missing: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(files.len() >= 50, "the {target} corpus holds only {} inputs", files.len());
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    for file in corpus(target) {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let why = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            panic!("{} breaks the {target} property: {why}", file.display());
        }
    }
}

#[test]
fn every_parse_validate_corpus_input_keeps_the_property() {
    replay("parse_validate", parse_validate::check);
}

#[test]
fn every_splice_status_corpus_input_keeps_the_property() {
    replay("splice_status", splice_status::check);
}

/// YAML's indicators and the shapes fuzzing found trouble in: a mutation that inserts one of
/// these reaches the parser's corners far more often than a random byte does.
const TOKENS: &[&[u8]] = &[
    b":",
    b": ",
    b"-",
    b"- ",
    b"?",
    b"? ",
    b"\n",
    b"\r",
    b"\r\n",
    b" ",
    b"  ",
    b"\t",
    b"#",
    b" # c",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"&a ",
    b"*a",
    b"!!str ",
    b"!t ",
    b"|",
    b"|+",
    b">-",
    b"'",
    b"\"",
    b"---\n",
    b"...\n",
    b"%YAML 1.2\n",
    b"status:",
    b"status: x\n",
    b"<<: *a\n",
    b"\xef\xbb\xbf",
    b"\\",
    b"0x1f",
    b"99999999999999999999",
];

/// xorshift64*: the mutations need speed and a seed to print, not statistical quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 | 1 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            2 if !out.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3 if at < out.len() => out[at] = rng.next() as u8,
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(64)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                let len = out.len();
                if len > 1 {
                    out.swap(rng.below(len), rng.below(len));
                }
            }
        }
    }
    out.truncate(65536);
    out
}

/// A short mutation run over each corpus (not coverage-guided: that is `fuzz/ci.sh`), for
/// `SPARKSWARM_MUTATE_SECONDS` (10) per target. A failing input is written out and named.
fn mutation_run(target: &str, check: fn(&[u8])) {
    let secs: u64 = std::env::var("SPARKSWARM_MUTATE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let seed = std::env::var("SPARKSWARM_MUTATE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
    });
    let inputs: Vec<Vec<u8>> = corpus(target).iter().filter_map(|f| std::fs::read(f).ok()).collect();
    let mut rng = Rng(seed);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut runs = 0u64;
    while std::time::Instant::now() < deadline {
        let input = &inputs[rng.below(inputs.len())];
        let other = &inputs[rng.below(inputs.len())];
        let data = mutate(&mut rng, input, other);
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let why = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mutations").join(target);
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("seed-{seed}-run-{runs}"));
            let _ = std::fs::write(&path, &data);
            panic!(
                "a mutation breaks the {target} property (SPARKSWARM_MUTATE_SEED={seed}, input {}: {:?}): {why}",
                path.display(),
                String::from_utf8_lossy(&data)
            );
        }
        runs += 1;
    }
    println!("{target}: {runs} mutated inputs in {secs} s (seed {seed}), property kept");
}

#[test]
fn mutated_parse_validate_inputs_keep_the_property() {
    mutation_run("parse_validate", parse_validate::check);
}

#[test]
fn mutated_splice_status_inputs_keep_the_property() {
    mutation_run("splice_status", splice_status::check);
}
