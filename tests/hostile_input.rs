//! The whole bad-input corpus (`tests/hostile/corpus`, written by `make_corpus.py`) and the
//! special files no repository can hold (a FIFO, devices, escaping symlinks, a sparse
//! 20 GB file, a directory named `*.yaml`) dropped at once into the manifests directory
//! of a running operator: it lives, keeps reconciling a good file, stays small, leaves
//! every unparseable file byte-identical, gives every invalid one `Valid=False` naming the
//! line and the field, writes nothing outside, and a second operator on the same directory
//! (another state dir, a symlinked path) refuses to start.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{eventually, Project, BIN};

fn corpus(class: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/hostile/corpus").join(class);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("corpus dir").filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    files
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Read as the operator reads it: serde's YAML alone gives up on an integer beyond 64 bits.
fn status_of(path: &Path) -> Option<serde_json::Value> {
    let file = sparkswarm::manifest::document::read(path).ok()?;
    file.docs.first()?.status().cloned()
}

/// `line 5: metadata.name: must be ...`: the condition names the line and the field.
fn names_line_and_field(message: &str) -> bool {
    let Some(rest) = message.strip_prefix("line ") else { return false };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with(": ") && rest[digits + 2..].contains(": ")
}

#[test]
fn the_corpus_cannot_hurt_the_operator_or_the_user() {
    let p = Project::new();
    p.write_app("app.py", "print(1)\n");
    let outside = tempfile::tempdir().expect("outside");
    let outside_target = outside.path().join("target.yaml");
    let outside_text = Project::job_yaml("outside-job", "missing", "app.py", "");
    std::fs::write(&outside_target, &outside_text).expect("write outside");
    p.drop_manifest("good.yaml", &Project::job_yaml("good", "missing", "app.py", ""));
    let mut op = p.start(&[]);
    eventually(Duration::from_secs(60), "the good job's status", || status_of(&p.manifest("good.yaml")), || op.log());

    // Everything at once.
    let unparseable = corpus("unparseable");
    let invalid = corpus("invalid");
    for f in unparseable.iter().chain(&invalid) {
        std::fs::copy(f, p.manifest(&f.file_name().expect("name").to_string_lossy())).expect("copy");
    }
    let m = p.manifests();
    nix::unistd::mkfifo(&m.join("fifo.yaml"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    for (name, target) in [
        ("zero.yaml", PathBuf::from("/dev/zero")),
        ("urandom.yaml", PathBuf::from("/dev/urandom")),
        ("outside.yaml", outside_target.clone()),
        ("to-fifo.yaml", m.join("fifo.yaml")),
    ] {
        std::os::unix::fs::symlink(&target, m.join(name)).expect("symlink");
    }
    std::fs::create_dir(m.join("dir.yaml")).expect("mkdir");
    std::fs::File::create(m.join("sparse.yaml")).expect("create").set_len(20 << 30).expect("sparse");
    std::fs::write(m.join("big.yaml"), "# x\n".repeat(5 << 18)).expect("big");
    let specials =
        ["fifo.yaml", "zero.yaml", "urandom.yaml", "outside.yaml", "to-fifo.yaml", "dir.yaml", "sparse.yaml"];

    // Meanwhile a good file is reconciled as ever.
    let dropped = Instant::now();
    p.drop_manifest("late.yaml", &Project::job_yaml("late", "missing", "app.py", ""));
    eventually(Duration::from_secs(30), "the late job's status", || status_of(&p.manifest("late.yaml")), || op.log());
    let late = dropped.elapsed();

    // Every invalid document says what is wrong, where, and keeps every byte it had.
    for f in &invalid {
        let name = f.file_name().expect("name").to_string_lossy().into_owned();
        let path = p.manifest(&name);
        let status = eventually(
            Duration::from_secs(120),
            &format!("{name}: Valid=False"),
            || status_of(&path).filter(|s| s.get("conditions").is_some()),
            || op.log(),
        );
        let valid = status["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Valid")).cloned();
        let valid = valid.unwrap_or_else(|| panic!("{name}: no Valid condition in {status}"));
        assert_eq!(valid["status"], "False", "{name}");
        let message = valid["message"].as_str().unwrap_or_default();
        assert!(names_line_and_field(message), "{name}: the message names no line and field: {message}");
        assert!(!message.contains("0123456789abcdef") && !message.contains("hunter2"), "{name}: {message}");
        let original = std::fs::read(f).expect("corpus file");
        let after = std::fs::read(&path).expect("read");
        assert!(after.starts_with(&original), "{name}: user bytes changed");
    }

    assert!(op.is_running(), "the operator died:\n{}", op.log());
    for f in &unparseable {
        let name = f.file_name().expect("name").to_string_lossy().into_owned();
        assert_eq!(
            std::fs::read(p.manifest(&name)).expect("read"),
            std::fs::read(f).expect("corpus"),
            "{name} changed"
        );
        // The files were dropped at once; one that is slow to refuse may be read last.
        eventually(
            Duration::from_secs(30),
            &format!("{name}: an error naming its line in the operator's log"),
            || {
                let log = op.log();
                log.match_indices(&format!("{name}:"))
                    .any(|(i, s)| log[i + s.len()..].starts_with(|c: char| c.is_ascii_digit()))
                    .then_some(())
            },
            || op.log(),
        );
    }
    let log = op.log();
    for name in specials.iter().chain(&["big.yaml"]) {
        assert!(log.contains(name), "{name}: refused without a word");
    }
    assert_eq!(std::fs::read_to_string(&outside_target).expect("read"), outside_text, "written through a symlink");
    assert!(!Path::new("/tmp/sparkswarm-hostile-evt.jsonl").exists(), "an event file was made from a name");
    let stray: Vec<PathBuf> =
        walk(p.root()).into_iter().filter(|f| f.to_string_lossy().contains("outside-evt")).collect();
    assert!(stray.iter().all(|f| f.starts_with(&m)), "files built from a name: {stray:?}");
    let leftovers: Vec<String> = std::fs::read_dir(outside.path())
        .expect("outside")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(leftovers, ["target.yaml"], "something was written outside");

    // One operator per directory, whatever the state dir or the path to it.
    std::os::unix::fs::symlink(&m, p.root().join("link")).expect("symlink");
    for args in
        [["--state-dir", "other-state", "--manifests", "manifests"], ["--state-dir", "third", "--manifests", "link"]]
    {
        let mut second = std::process::Command::new(BIN)
            .arg("run")
            .args(args)
            .current_dir(p.root())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("second operator");
        let deadline = Instant::now() + Duration::from_secs(20);
        let refused = loop {
            if let Some(status) = second.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = second.kill();
                panic!("{args:?}: a second operator started on the same manifests directory");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = second.wait_with_output().expect("output");
        let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
        assert!(!refused.success() && text.contains("already running"), "{args:?}: {text}");
    }

    let rss = peak_rss_kib(op.child.id());
    println!(
        "corpus: {} unparseable + {} invalid + {} special files; late file reconciled in {} ms; peak RSS {} MiB",
        unparseable.len(),
        invalid.len(),
        specials.len() + 1,
        late.as_millis(),
        rss / 1024
    );
    assert!(rss < 200 * 1024, "peak RSS {} MiB", rss / 1024);
    // How long the good file waited is a figure for BENCHMARKS.md, not an assertion: the
    // `eventually` above already fails the test if it never gets its status.
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(walk(&path)),
            _ => out.push(path),
        }
    }
    out
}

/// The status contract on every valid YAML document (issue 10, point 6): an indented root and
/// a flow-style document get their status in their own style, every byte outside `status:`
/// kept; a file given to another owner and group keeps them; after a burst of spec edits
/// the status catches up with the last one.
#[test]
fn every_valid_document_gets_its_status_and_keeps_its_owner() {
    use std::os::unix::fs::MetadataExt;
    let p = Project::new();
    p.write_app("app.py", "print(1)\n");
    let indented = "# indented\n---\n  apiVersion: sparkswarm.io/v1alpha1\n  kind: SparkJob\n  metadata:\n    name: indented\n  spec:\n    clusterRef: missing\n    mainApplicationFile: ../apps/app.py\n  # after the spec\n";
    let flow = "{apiVersion: sparkswarm.io/v1alpha1, kind: SparkJob,  # flow\n  metadata: {name: flow}, spec: {clusterRef: missing, mainApplicationFile: ../apps/app.py}}\n";
    p.drop_manifest("indented.yaml", indented);
    p.drop_manifest("flow.yaml", flow);
    let owned_text = Project::job_yaml("owned", "missing", "app.py", "");
    let owned = p.drop_manifest("owned.yaml", &owned_text);
    // Only root can give a file away; as anyone else the file stays one's own.
    let me = (std::fs::metadata(&owned).expect("meta").uid(), std::fs::metadata(&owned).expect("meta").gid());
    let owner = if me.0 == 0 { (65534, 4242) } else { me };
    std::os::unix::fs::chown(&owned, Some(owner.0), Some(owner.1)).expect("chown");
    let mut op = p.start(&[]);

    for (name, text) in [("indented.yaml", indented), ("flow.yaml", flow), ("owned.yaml", owned_text.as_str())] {
        let path = p.manifest(name);
        let status =
            eventually(Duration::from_secs(60), &format!("{name}: a status"), || status_of(&path), || op.log());
        assert!(status.get("conditions").is_some(), "{name}: {status}");
        let after = std::fs::read_to_string(&path).expect("read");
        let without = sparkswarm::manifest::splice_status(&after, 0, None).expect("splice");
        assert_eq!(without, text, "{name}: bytes outside status changed:\n{after}");
    }
    let indented_after = p.read("indented.yaml");
    assert!(indented_after.contains("\n  status:\n    "), "not indented like its document:\n{indented_after}");
    assert!(p.read("flow.yaml").starts_with("{status: {"), "not flow style:\n{}", p.read("flow.yaml"));
    let md = std::fs::metadata(&owned).expect("meta");
    assert_eq!((md.uid(), md.gid()), owner, "owner and group after a status write");

    // A burst of spec edits as fast as the disk takes them; then the status must catch up
    // with the generation of the last one.
    let edits = 60;
    for i in 0..edits {
        let spec = format!("  sparkConf: {{spark.sparkswarm.burst: '{i}'}}\n");
        let edited = Project::job_yaml("owned", "missing", "app.py", &spec);
        // Keep whatever status is there, as an editor would.
        let with_status =
            match sparkswarm::manifest::document::read(&owned).ok().and_then(|f| f.docs[0].status().cloned()) {
                Some(s) => sparkswarm::manifest::splice_status(&edited, 0, Some(&s)).expect("splice"),
                None => edited,
            };
        // Saved as most editors save: a temp file renamed over the manifest.
        let tmp = p.manifests().join(".owned.yaml.swp");
        std::fs::write(&tmp, with_status).expect("edit");
        std::os::unix::fs::chown(&tmp, Some(owner.0), Some(owner.1)).expect("chown");
        std::fs::rename(&tmp, &owned).expect("save");
    }
    let final_hash = {
        let file = sparkswarm::manifest::document::read(&owned).expect("read");
        file.docs[0].generation_hash()
    };
    let state = sparkswarm::state::StateDir::at(p.state());
    let key = sparkswarm::state::StateDir::object_key(sparkswarm::api::Kind::SparkJob, "owned");
    let (generation, observed) = eventually(
        Duration::from_secs(60),
        "status.observedGeneration at the last edit's generation",
        || {
            let gens = sparkswarm::state::generations::Generations::load(&state).ok()?;
            let rec = gens.get(&key).filter(|r| r.hash == final_hash)?;
            let observed = status_of(&owned)?.get("observedGeneration")?.as_u64()?;
            (observed == rec.generation).then_some((rec.generation, observed))
        },
        || op.log(),
    );
    assert!(generation > 1, "the edits bumped no generation");
    println!("burst: {edits} spec edits, generation {generation}, observedGeneration {observed}");
    let md = std::fs::metadata(&owned).expect("meta");
    assert_eq!((md.uid(), md.gid()), owner, "owner and group after the burst");
    assert!(op.is_running(), "the operator died:\n{}", op.log());
}
