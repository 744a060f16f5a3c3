#!/usr/bin/env python3
"""Submit-to-Running with `deps` (issue 12), side by side in one run on the local runtime:
the same small job (tests/bench/groupby.py) with five requirements (pandas, matplotlib,
scikit-learn, pyarrow, tabulate) the first time (the deps are built: a fresh state dir),
then from the cache, alternated with the same job without deps; medians and the ratio
cached / no deps. Time is from the job file's drop to its `Running` condition
(`sparkswarm wait --for=condition=Running`).

    cargo build && python3 tests/bench/deps_submit.py   # BENCH_ROUNDS (4)

pip's own download cache (~/.cache/pip) is used as it is on the machine: the first-time
figure is a build from PyPI when it is cold, a build from local wheels when it is warm.
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SPARKSWARM_BIN", os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "debug", "sparkswarm"))
CACHE = os.environ.get("SPARKSWARM_SPARK_CACHE", os.path.expanduser("~/.cache/sparkswarm/spark"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
DEPS = '  deps: {requirements: ["pandas", "matplotlib", "scikit-learn", "pyarrow", "tabulate"]}\n'

root = os.path.join(tempfile.mkdtemp(prefix="sparkswarm-bench-deps-"), "p")
os.makedirs(root + "/manifests")
os.makedirs(root + "/app")
shutil.copy(os.path.join(REPO, "tests", "bench", "groupby.py"), root + "/app/groupby.py")
env = dict(os.environ, SPARKSWARM_SPARK_CACHE=CACHE)

def cli(*args, timeout=None):
    return subprocess.run([BIN, *args], cwd=root, env=env, check=True, capture_output=True, text=True, timeout=timeout)

op = subprocess.Popen([BIN, "run"], cwd=root, env=env, stdout=open(root + "/op.log", "w"), stderr=subprocess.STDOUT)
open(root + "/manifests/bench.yaml", "w").write("""apiVersion: sparkswarm.io/v1alpha1
kind: SparkCluster
metadata:
  name: bench
spec:
  workers: {replicas: 1, cores: 1, memory: 1g}
""")
cli("wait", "sparkcluster/bench", "--for=condition=Ready", "--timeout", "600s")

def to_running(name, deps):
    t = time.time()
    with open(f"{root}/manifests/{name}.yaml", "w") as f:
        f.write(f"""apiVersion: sparkswarm.io/v1alpha1
kind: SparkJob
metadata:
  name: {name}
spec:
  clusterRef: bench
  mainApplicationFile: ../app/groupby.py
  sparkConf: {{spark.sql.shuffle.partitions: "4"}}
  driver: {{cores: 1, memory: 512m}}
  executor: {{instances: 1, cores: 1, memory: 512m}}
{DEPS if deps else ""}""")
    cli("wait", f"sparkjob/{name}", "--for=condition=Running", "--timeout", "1200s")
    took = time.time() - t
    cli("wait", f"sparkjob/{name}", "--for=condition=Succeeded", "--timeout", "600s")
    return took

plain, cached = [], []
try:
    first = to_running("first", True)
    print(f"first (builds the deps): {first:.2f} s", flush=True)
    for i in range(ROUNDS):
        plain.append(to_running(f"plain-{i}", False))
        cached.append(to_running(f"cached-{i}", True))
        print(f"round {i + 1}: no deps {plain[-1]:.2f} s, cached deps {cached[-1]:.2f} s", flush=True)
    mp, mc = statistics.median(plain), statistics.median(cached)
    print(f"median: no deps {mp:.2f} s, cached deps {mc:.2f} s, ratio {mc / mp:.3f}; first {first:.2f} s = {first / mp:.1f}x")
finally:
    os.remove(root + "/manifests/bench.yaml")
    op.terminate()
    op.wait(timeout=120)
    print(f"(run dir {root})", file=sys.stderr)
