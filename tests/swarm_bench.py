#!/usr/bin/env python3
"""The swarm benchmark of issue 4, side by side in one run on this machine's engine:

1. time from dropping a swarm SparkCluster file (2 workers) to `phase: Ready` (image present);
2. the job overhead: the small job of tests/bench/groupby.py (no deps, so both sides run
   the same work) through the operator (file dropped / `rerun` -> `phase: Succeeded`)
   versus the same spark-submit run by hand in a container on the same cluster's overlay
   network (`docker run ... driver ...`), alternated 3 times; medians and their ratio.

    cargo build && python3 tests/swarm_bench.py     # needs PyYAML, a swarm manager engine

The engine must be a swarm manager and sparkswarm/spark:4.0.1 present (the swarm tests or
images/spark/build-offline.sh make it so).
"""
import os, shutil, socket, subprocess, tempfile, time
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SPARKSWARM_BIN", os.path.join(REPO, "target", "debug", "sparkswarm"))
root = os.path.join(tempfile.mkdtemp(prefix="sparkswarm-bench-"), "p")
os.makedirs(root + "/manifests")
os.makedirs(root + "/apps/groupby")
shutil.copy(os.path.join(REPO, "tests", "bench", "groupby.py"), root + "/apps/groupby/main.py")
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
name = "bench"
def status(f):
    try:
        d = yaml.safe_load(open(f"{root}/manifests/{f}"))
        return (d or {}).get("status") or {}
    except Exception:
        return {}
def wait(f, phase, timeout=600):
    t = time.time()
    while time.time() - t < timeout:
        if status(f).get("phase") == phase: return
        time.sleep(0.05)
    raise SystemExit(f"{f} not {phase}")
op = subprocess.Popen([BIN, "run"], cwd=root, stdout=open(root + "/op.log", "w"), stderr=subprocess.STDOUT)
while "operator started" not in open(root + "/op.log").read():
    time.sleep(0.05)
t0 = time.time()
open(f"{root}/manifests/{name}.yaml", "w").write(f"""apiVersion: sparkswarm.io/v1alpha1
kind: SparkCluster
metadata:
  name: {name}
spec:
  provider:
    swarm: {{}}
  master: {{webUiPort: {port}}}
  workers: {{replicas: 2, cores: 1, memory: 1g}}
""")
wait(f"{name}.yaml", "Ready")
print(f"cluster file dropped -> Ready: {time.time()-t0:.1f} s")
job = f"""apiVersion: sparkswarm.io/v1alpha1
kind: SparkJob
metadata:
  name: groupby
spec:
  clusterRef: {name}
  mainApplicationFile: ../apps/groupby/main.py
  sparkConf: {{spark.sql.shuffle.partitions: "4"}}
  driver: {{cores: 1, memory: 512m}}
  executor: {{instances: 1, cores: 1, memory: 512m}}
"""
def via_operator(i):
    f = "groupby.yaml"
    if i == 0:
        t = time.time(); open(f"{root}/manifests/{f}", "w").write(job)
    else:
        before = status(f).get("submissionId")
        t = time.time(); subprocess.run([BIN, "rerun", "sparkjob", "groupby"], cwd=root, check=True, capture_output=True)
        while status(f).get("submissionId") == before: time.sleep(0.05)
    wait(f, "Succeeded")
    return time.time() - t
def by_hand():
    out = f"{root}/handout"; shutil.rmtree(out, ignore_errors=True); os.makedirs(out)
    t = time.time()
    r = subprocess.run(["docker", "run", "--rm", "--network", f"sparkswarm-{name}", "-v", f"{root}/apps:/apps:ro", "-v", f"{out}:/out",
        "-e", "SPARKSWARM_OUTPUT_DIR=/out", "-w", "/apps/groupby", "sparkswarm/spark:4.0.1", "driver",
        "--master", f"spark://sparkswarm-{name}-master:7077", "--deploy-mode", "client", "--name", "by-hand",
        "--driver-memory", "512m", "--executor-memory", "512m", "--total-executor-cores", "1",
        "--conf", "spark.sql.shuffle.partitions=4",
        "/apps/groupby/main.py"], capture_output=True, text=True)
    dt = time.time() - t
    assert r.returncode == 0, r.stderr[-3000:]
    assert os.path.exists(out + "/results.json")
    return dt
ops, hands = [], []
for i in range(3):
    ops.append(via_operator(i)); hands.append(by_hand())
    print(f"round {i+1}: operator {ops[-1]:.1f} s, by hand {hands[-1]:.1f} s")
mo, mh = sorted(ops)[1], sorted(hands)[1]
print(f"median: operator {mo:.1f} s, by hand {mh:.1f} s, ratio {mo/mh:.2f}")
os.remove(f"{root}/manifests/{name}.yaml"); os.remove(f"{root}/manifests/groupby.yaml")
t = time.time()
while subprocess.run(["docker", "service", "ls", "-q", "--filter", f"label=sparkswarm.io/cluster={name}"], capture_output=True, text=True).stdout.strip():
    time.sleep(0.2)
print(f"cluster file deleted -> no service: {time.time()-t:.1f} s")
op.terminate(); op.wait()
