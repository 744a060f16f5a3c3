#!/usr/bin/env python3
"""SparkSchedule (issue 13), two figures, each side by side with a reference in the same run:

1. Accuracy: a schedule `@every 10s` (Allow) on a local cluster, BENCH_RUNS (20) runs; for
   each run the delay from its scheduled time (in its name) to its submission (the run's
   `Submitted` event, written when spark-submit has been started). Reference: a Python
   thread in this script that sleeps until each same scheduled time and notes how late it
   woke, i.e. what the machine's timers give under the same load.
2. Idle CPU: the operator with BENCH_SCHEDULES (1000) schedules declared (`0 3 * * *`, Berlin),
   utime+stime from /proc/PID/stat over BENCH_IDLE_SECS (60) once every status is written.
   Reference: the same operator with as many SparkJob files (referencing a missing cluster).

    cargo build && python3 tests/bench/schedule_bench.py

Uses the pyspark venv of $SPARKSWARM_SPARK_CACHE (default ~/.cache/sparkswarm/spark).
"""
import calendar, json, os, shutil, subprocess, sys, tempfile, threading, time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SPARKSWARM_BIN", os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "debug", "sparkswarm"))
CACHE = os.environ.get("SPARKSWARM_SPARK_CACHE", os.path.expanduser("~/.cache/sparkswarm/spark"))
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
SCHEDULES = int(os.environ.get("BENCH_SCHEDULES", "1000"))
IDLE = float(os.environ.get("BENCH_IDLE_SECS", "60"))
TICK = os.sysconf("SC_CLK_TCK")
env = dict(os.environ, SPARKSWARM_SPARK_CACHE=CACHE)


def project():
    root = os.path.join(tempfile.mkdtemp(prefix="sparkswarm-bench-"), "p")
    os.makedirs(root + "/manifests")
    os.makedirs(root + "/app")
    return root


def cli(root, *args, timeout=None):
    return subprocess.run([BIN, *args], cwd=root, env=env, check=True, capture_output=True, text=True, timeout=timeout)


def start(root):
    return subprocess.Popen([BIN, "run"], cwd=root, env=env, stdout=open(root + "/op.log", "w"), stderr=subprocess.STDOUT)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def parse_time(s):
    # RFC 3339 with nanoseconds, as chrono writes it.
    base, _, frac = s.rstrip("Z").partition(".")
    t = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return t + (float("0." + frac) if frac else 0.0)


def accuracy():
    root = project()
    open(root + "/app/hello.py", "w").write("print('hello')\n")
    op = start(root)
    try:
        open(root + "/manifests/bench.yaml", "w").write(
            "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: bench\n"
            "spec:\n  workers: {replicas: 1, cores: 1, memory: 1g}\n")
        cli(root, "wait", "sparkcluster/bench", "--for=condition=Ready", "--timeout", "600s")
        # The reference: the same scheduled times, waited for by a sleeping thread.
        ref = []
        stop = threading.Event()

        def reference():
            while not stop.is_set():
                due = (int(time.time()) // 10 + 1) * 10
                time.sleep(max(0.0, due - time.time()))
                ref.append(time.time() - due)
        threading.Thread(target=reference, daemon=True).start()
        open(root + "/manifests/every.yaml", "w").write(
            "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkSchedule\nmetadata:\n  name: every\nspec:\n"
            "  schedule: '@every 10s'\n  successfulRunsHistoryLimit: 100\n  failedRunsHistoryLimit: 100\n"
            "  template:\n    clusterRef: bench\n    mainApplicationFile: ../app/hello.py\n"
            "    driver: {cores: 1, memory: 512m}\n    executor: {instances: 1, cores: 1, memory: 512m}\n")
        delays = {}
        deadline = time.time() + RUNS * 10 + 300
        while len(delays) < RUNS and time.time() < deadline:
            time.sleep(1)
            ev_dir = os.path.join(root, ".sparkswarm", "events", "sparkjob")
            for f in sorted(os.listdir(ev_dir)) if os.path.isdir(ev_dir) else []:
                run = f[:-len(".jsonl")]
                if not run.startswith("every-") or run in delays:
                    continue
                for line in open(os.path.join(ev_dir, f)):
                    e = json.loads(line)
                    if e["reason"] == "Submitted":
                        due = calendar.timegm(time.strptime(run[len("every-"):], "%Y%m%d-%H%M%S"))
                        delays[run] = parse_time(e["firstTimestamp"]) - due
        stop.set()
        d = list(delays.values())
        status = yaml.safe_load(open(root + "/manifests/every.yaml"))["status"]
        print(f"accuracy over {len(d)} runs: scheduled -> submitted p50 {pct(d, .5) * 1000:.0f} ms, "
              f"p99 {pct(d, .99) * 1000:.0f} ms, max {max(d) * 1000:.0f} ms; missedRuns {status.get('missedRuns')}")
        print(f"reference (a sleeping thread, {len(ref)} wake-ups): p50 {pct(ref, .5) * 1000:.1f} ms, "
              f"p99 {pct(ref, .99) * 1000:.1f} ms, max {max(ref) * 1000:.1f} ms")
    finally:
        try:
            os.remove(root + "/manifests/every.yaml")
            time.sleep(3)
            os.remove(root + "/manifests/bench.yaml")
            time.sleep(5)
        finally:
            op.terminate()
            op.wait(timeout=120)
            print(f"(run dir {root})", file=sys.stderr)


def cpu_of(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def idle(kind):
    root = project()
    for i in range(SCHEDULES):
        if kind == "schedule":
            text = (f"apiVersion: sparkswarm.io/v1alpha1\nkind: SparkSchedule\nmetadata:\n  name: s-{i}\nspec:\n"
                    "  schedule: '0 3 * * *'\n  timeZone: Europe/Berlin\n  template:\n    clusterRef: nowhere\n"
                    "    mainApplicationFile: ../app/hello.py\n")
        else:
            text = (f"apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: j-{i}\nspec:\n"
                    "  clusterRef: nowhere\n  mainApplicationFile: ../app/hello.py\n")
        open(f"{root}/manifests/{kind}-{i}.yaml", "w").write(text)
    open(root + "/app/hello.py", "w").write("print('hello')\n")
    op = start(root)
    try:
        t0 = time.time()
        while True:
            written = 0
            for f in os.listdir(root + "/manifests"):
                try:
                    written += f.endswith(".yaml") and not f.startswith(".") and "\nstatus:" in open(f"{root}/manifests/{f}").read()
                except FileNotFoundError:
                    pass  # the operator's temp file, renamed meanwhile
            if written == SCHEDULES:
                break
            if time.time() - t0 > 600:
                raise SystemExit(f"only {written} statuses written")
            time.sleep(0.5)
        time.sleep(5)
        c0, w0 = cpu_of(op.pid), time.time()
        time.sleep(IDLE)
        share = (cpu_of(op.pid) - c0) / (time.time() - w0) * 100
        print(f"idle CPU with {SCHEDULES} {kind}s: {share:.2f} % of one core (statuses written in {time.time() - t0 - IDLE - 5:.1f} s)")
        return share
    finally:
        op.terminate()
        op.wait(timeout=120)
        shutil.rmtree(os.path.dirname(root), ignore_errors=True)


if __name__ == "__main__":
    what = sys.argv[1:] or ["idle", "accuracy"]
    if "idle" in what:
        s, j = idle("schedule"), idle("job")
        print(f"ratio schedules / jobs: {s / j:.2f}" if j > 0 else "jobs used no measurable CPU")
    if "accuracy" in what:
        accuracy()
