#!/usr/bin/env python3
"""The good file's delay while the bad-input corpus is dropped in at once, on the release binary.

Side by side in one run, on one operator: a job file dropped into an idle manifests directory
(the reference), then the whole corpus of tests/hostile/ plus the special files no repository
can hold (FIFO, device links, an escaping link, a sparse 20 GB file, a directory), then a job
file right after it. Each delay is the file's close to its status in the file. Prints both,
their ratio, and the operator's peak RSS.

    cargo build --release && python3 tests/bench/hostile_corpus.py [ROUNDS]
"""
import os, shutil, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "sparkswarm")
CORPUS = os.path.join(REPO, "tests", "hostile", "corpus")
JOB = """apiVersion: sparkswarm.io/v1alpha1
kind: SparkJob
metadata:
  name: {name}
spec:
  clusterRef: missing
  mainApplicationFile: ../apps/app.py
"""


def has_status(path):
    try:
        with open(path, "rb") as f:
            return b"\nstatus:" in f.read()
    except OSError:
        return False


def delay(manifests, name, timeout=60.0):
    path = os.path.join(manifests, name + ".yaml")
    with open(path, "w") as f:
        f.write(JOB.format(name=name))
    closed = time.monotonic()
    while not has_status(path):
        if time.monotonic() - closed > timeout:
            sys.exit(f"no status in {path} after {timeout} s")
        time.sleep(0.002)
    return time.monotonic() - closed


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def drop_corpus(manifests, outside):
    for cls in ("unparseable", "invalid"):
        d = os.path.join(CORPUS, cls)
        for name in sorted(os.listdir(d)):
            shutil.copyfile(os.path.join(d, name), os.path.join(manifests, name))
    os.mkfifo(os.path.join(manifests, "fifo.yaml"))
    for name, target in [("zero.yaml", "/dev/zero"), ("urandom.yaml", "/dev/urandom"),
                         ("outside.yaml", outside), ("to-fifo.yaml", os.path.join(manifests, "fifo.yaml"))]:
        os.symlink(target, os.path.join(manifests, name))
    os.mkdir(os.path.join(manifests, "dir.yaml"))
    with open(os.path.join(manifests, "sparse.yaml"), "wb") as f:
        f.truncate(20 << 30)
    with open(os.path.join(manifests, "big.yaml"), "w") as f:
        f.write("# x\n" * (5 << 18))


def one_round(k):
    root = tempfile.mkdtemp(prefix="hostile-bench-")
    try:
        manifests = os.path.join(root, "manifests")
        os.makedirs(manifests)
        os.makedirs(os.path.join(root, "apps"))
        with open(os.path.join(root, "apps", "app.py"), "w") as f:
            f.write("print(1)\n")
        outside = tempfile.mkdtemp(prefix="hostile-outside-")
        with open(os.path.join(outside, "target.yaml"), "w") as f:
            f.write(JOB.format(name="outside-job"))
        op = subprocess.Popen([BIN, "--manifests", manifests, "run"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        try:
            delay(manifests, "warm")  # the operator is up and watching
            idle = delay(manifests, f"idle-{k}")
            drop_corpus(manifests, os.path.join(outside, "target.yaml"))
            loaded = delay(manifests, f"late-{k}")
            rss = peak_rss_mib(op.pid)
        finally:
            op.terminate()
            op.wait(timeout=30)
            shutil.rmtree(outside, ignore_errors=True)
        return idle, loaded, rss
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    if not os.path.exists(CORPUS):
        subprocess.run([sys.executable, os.path.join(REPO, "tests", "hostile", "make_corpus.py")], check=True)
    if not os.access(BIN, os.X_OK):
        sys.exit(f"{BIN} is missing: run `cargo build --release` first")
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rows = [one_round(k) for k in range(rounds)]
    print("round  idle (s)  after the corpus (s)  ratio  peak RSS (MiB)")
    for k, (idle, loaded, rss) in enumerate(rows):
        print(f"{k:5}  {idle:8.3f}  {loaded:20.3f}  {loaded / idle:5.1f}  {rss:14.1f}")
    loaded = sorted(r[1] for r in rows)
    idle = sorted(r[0] for r in rows)
    print(f"median: idle {idle[len(idle) // 2]:.3f} s, after the corpus {loaded[len(loaded) // 2]:.3f} s, "
          f"worst {loaded[-1]:.3f} s, peak RSS {max(r[2] for r in rows):.1f} MiB")


if __name__ == "__main__":
    main()
