#!/usr/bin/env python3
"""The data-plane benchmark of issue 11, side by side in one run on this machine's engine:
the time the swarm runtime takes to stage a job's 500 MB input (from the attempt's record
being written to the driver's service being created: the tar built and streamed through the
archive API into the cluster's data volume) next to `docker cp` of the same file into one
container with a volume on the same engine, alternated 3 times; medians and their ratio.

    cargo build && python3 tests/stage_bench.py     # needs PyYAML, a swarm manager engine

The 500 MB input is generated here (random bytes, so nothing compresses it) and removed at
the end; BENCH_STAGE_MB changes its size.
"""
import os, shutil, statistics, subprocess, tempfile, time
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SPARKSWARM_BIN", os.path.join(REPO, "target", "debug", "sparkswarm"))
MB = int(os.environ.get("BENCH_STAGE_MB", "500"))
IMAGE = "sparkswarm/spark:4.0.1"
tmp = tempfile.mkdtemp(prefix="sparkswarm-stage-bench-")
root = os.path.join(tmp, "p")
os.makedirs(root + "/manifests"); os.makedirs(root + "/apps/stage")
big = root + "/apps/stage/input.bin"
with open(big, "wb") as f:
    for _ in range(MB):
        f.write(os.urandom(1 << 20))
open(root + "/apps/stage/main.py", "w").write("""
import json, os
size = os.path.getsize("input.bin")
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"bytes": size}, f)
""")
name = "stagebench"

def status(f):
    try:
        d = yaml.safe_load(open(f"{root}/manifests/{f}"))
        return (d or {}).get("status") or {}
    except Exception:
        return {}

def wait(f, phase, timeout=900):
    t = time.time()
    while time.time() - t < timeout:
        if status(f).get("phase") == phase:
            return
        time.sleep(0.05)
    raise SystemExit(f"{f} not {phase}: {status(f)}")

op = subprocess.Popen([BIN, "run"], cwd=root, stdout=open(tmp + "/op.log", "w"), stderr=subprocess.STDOUT)
try:
    while "operator started" not in open(tmp + "/op.log").read():
        time.sleep(0.05)
    open(f"{root}/manifests/{name}.yaml", "w").write(f"""apiVersion: sparkswarm.io/v1alpha1
kind: SparkCluster
metadata:
  name: {name}
spec:
  provider:
    swarm: {{init: true}}
  workers: {{replicas: 1, cores: 1, memory: 1g}}
""")
    wait(f"{name}.yaml", "Ready")
    job = f"""apiVersion: sparkswarm.io/v1alpha1
kind: SparkJob
metadata:
  name: stage
spec:
  clusterRef: {name}
  mainApplicationFile: ../apps/stage/main.py
  files: [../apps/stage/input.bin]
  driver: {{cores: 1, memory: 512m}}
"""
    attempts = root + "/.sparkswarm/jobs/stage/attempts"

    def via_operator(i):
        f = "stage.yaml"
        if i == 0:
            open(f"{root}/manifests/{f}", "w").write(job)
        else:
            before = status(f).get("submissionId")
            subprocess.run([BIN, "rerun", "sparkjob", "stage"], cwd=root, check=True, capture_output=True)
            while status(f).get("submissionId") == before:
                time.sleep(0.05)
        wait(f, "Succeeded")
        assert status(f).get("results", {}).get("bytes") == MB << 20, status(f)
        latest = max(os.listdir(attempts), key=int)
        d = os.path.join(attempts, latest)
        # swarm.json is written just before the tar is built, `started` right after the
        # driver's service was created.
        return os.path.getmtime(d + "/started") - os.path.getmtime(d + "/swarm.json")

    def docker_cp():
        vol = "sparkswarm-stagebench-cp"
        cid = subprocess.run(["docker", "create", "-v", f"{vol}:/data", "--label", "sparkswarm.io/bench=stage",
                              "--entrypoint", "/bin/true", IMAGE], check=True, capture_output=True, text=True).stdout.strip()
        try:
            t = time.time()
            subprocess.run(["docker", "cp", big, f"{cid}:/data/input.bin"], check=True, capture_output=True)
            return time.time() - t
        finally:
            subprocess.run(["docker", "rm", "-f", "-v", cid], capture_output=True)
            subprocess.run(["docker", "volume", "rm", "-f", vol], capture_output=True)

    ops, cps = [], []
    for i in range(3):
        ops.append(via_operator(i)); cps.append(docker_cp())
        print(f"round {i+1}: staged by the operator {ops[-1]:.2f} s, docker cp {cps[-1]:.2f} s", flush=True)
    mo, mc = statistics.median(ops), statistics.median(cps)
    print(f"{MB} MB, median: operator {mo:.2f} s ({MB/mo:.0f} MB/s), docker cp {mc:.2f} s ({MB/mc:.0f} MB/s), ratio {mo/mc:.2f}")
finally:
    for f in ("stage.yaml", f"{name}.yaml"):
        try:
            os.remove(f"{root}/manifests/{f}")
        except FileNotFoundError:
            pass
    t = time.time()
    left = lambda what: subprocess.run(["docker", what, "ls", "-q", "--filter", f"label=sparkswarm.io/cluster={name}"],
                                       capture_output=True, text=True).stdout.strip()
    while time.time() - t < 120 and (left("service") or left("volume")):
        time.sleep(0.2)
    op.terminate(); op.wait()
    shutil.rmtree(tmp, ignore_errors=True)
