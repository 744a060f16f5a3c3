#!/usr/bin/env python3
"""Ten thousand statuses (issue 15, point 3), side by side in one run: N SparkJob files that
reference a missing cluster (no Spark needed), from `sparkswarm run`'s start to every status
written (the last file's mtime), against a naive loop in one Python thread doing, per file,
read + append the same status + write a temp file + fsync + rename. Alternated BENCH_ROUNDS
times on fresh copies; medians, their ratio, and the operator's peak RSS (wait4's ru_maxrss).

    cargo build --release && python3 tests/bench/many_statuses.py   # BENCH_FILES (10000), BENCH_ROUNDS (3)

SPARKSWARM_BIN picks the binary (default: the release build under $CARGO_TARGET_DIR or
target/). The operator's log of each round is kept in the printed directory.
"""
import os, re, signal, socket, statistics, subprocess, sys, tempfile, time, urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
BIN = os.environ.get("SPARKSWARM_BIN", os.path.join(TARGET, "release", "sparkswarm"))
N = int(os.environ.get("BENCH_FILES", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WORK = tempfile.mkdtemp(prefix="sparkswarm-statuses-")


def job(name):
    return (f"# benchmark job\napiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: {name}\n"
            f"spec:\n  clusterRef: missing\n  mainApplicationFile: ../apps/app.py\n")


def project(tag):
    root = os.path.join(WORK, tag)
    os.makedirs(root + "/manifests")
    os.makedirs(root + "/apps")
    open(root + "/apps/app.py", "w").write("print('hi')\n")
    paths = []
    for i in range(N):
        p = f"{root}/manifests/job-{i:05}.yaml"
        with open(p, "w") as f:
            f.write(job(f"job-{i:05}"))
        paths.append(p)
    # What the files' creation left dirty must not be paid by whichever side runs first.
    os.sync()
    return root, paths


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pending(addr):
    try:
        body = urllib.request.urlopen(f"http://{addr}/metrics", timeout=2).read().decode()
    except OSError:
        return 0
    m = re.search(r'^sparkswarm_jobs\{phase="Pending"\} (\S+)$', body, re.M)
    return int(float(m.group(1))) if m else 0


def status_of(path):
    text = open(path).read()
    i = text.find("\nstatus:\n")
    return text[i + 1:] if i >= 0 else None


def operator_round(r):
    root, paths = project(f"op-{r}")
    addr = f"127.0.0.1:{free_port()}"
    log = open(root + "/operator.log", "w")
    t0 = time.time()
    op = subprocess.Popen([BIN, "run", "--metrics-addr", addr], cwd=root, stdout=log, stderr=subprocess.STDOUT)
    while pending(addr) < N:
        if op.poll() is not None:
            sys.exit(f"the operator exited with {op.returncode}; see {root}/operator.log")
        if time.time() - t0 > 900:
            sys.exit("not every status was written in 15 minutes")
        time.sleep(0.05)
    # The gauge counts reconciles; the files say whether their statuses are in.
    while True:
        missing = [p for p in paths if status_of(p) is None]
        if not missing:
            break
        if time.time() - t0 > 900:
            sys.exit(f"{len(missing)} files without a status, e.g. {missing[0]}")
        time.sleep(0.05)
    last = max(os.stat(p).st_mtime_ns for p in paths) / 1e9
    op.send_signal(signal.SIGTERM)
    _, _, usage = os.wait4(op.pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    return last - t0, usage.ru_maxrss / 1024, cpu, status_of(paths[0]), root


def naive_round(r, status):
    _, paths = project(f"naive-{r}")
    t0 = time.time()
    for p in paths:
        with open(p) as f:
            text = f.read()
        text += status
        tmp = os.path.join(os.path.dirname(p), "." + os.path.basename(p) + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, p)
    return time.time() - t0


ops, naives, rss = [], [], []
print(f"{N} files, {ROUNDS} rounds, {BIN}, in {WORK}", flush=True)
for r in range(ROUNDS):
    took, peak, cpu, status, root = operator_round(r)
    ops.append(took)
    rss.append(peak)
    naives.append(naive_round(r, status))
    print(f"round {r + 1}: operator {ops[-1]:.2f} s (peak RSS {peak:.1f} MB, {cpu:.2f} CPU-s), naive loop {naives[-1]:.2f} s, "
          f"ratio {ops[-1] / naives[-1]:.2f}", flush=True)
mo, mn = statistics.median(ops), statistics.median(naives)
print(f"median: operator {mo:.2f} s, naive loop {mn:.2f} s, ratio {mo / mn:.2f}; peak RSS max {max(rss):.1f} MB")
