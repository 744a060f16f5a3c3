#!/usr/bin/env python3
"""The job overhead on the local runtime (issue 15), side by side in one run: the same small
PySpark job (tests/bench/groupby.py) through the operator (a job file dropped into
`manifests/`, then `sparkswarm wait --for=condition=Succeeded`) and by hand (`spark-submit`
against the same cluster's master), alternated; medians and their ratio.

    cargo build && python3 tests/bench/job_overhead_local.py   # BENCH_ROUNDS (4)

Uses the pyspark venv of $SPARKSWARM_SPARK_CACHE (default ~/.cache/sparkswarm/spark), which
the tests install.
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SPARKSWARM_BIN", os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "debug", "sparkswarm"))
CACHE = os.environ.get("SPARKSWARM_SPARK_CACHE", os.path.expanduser("~/.cache/sparkswarm/spark"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
venv_python = os.path.join(CACHE, "venv", "bin", "python")
spark_home = subprocess.run([venv_python, "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"],
                            check=True, capture_output=True, text=True).stdout.strip()

root = os.path.join(tempfile.mkdtemp(prefix="sparkswarm-bench-"), "p")
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
master = yaml.safe_load(open(root + "/manifests/bench.yaml"))["status"]["masterUrl"]

def via_operator(i):
    t = time.time()
    with open(f"{root}/manifests/job-{i}.yaml", "w") as f:
        f.write(f"""apiVersion: sparkswarm.io/v1alpha1
kind: SparkJob
metadata:
  name: job-{i}
spec:
  clusterRef: bench
  mainApplicationFile: ../app/groupby.py
  sparkConf: {{spark.sql.shuffle.partitions: "4"}}
  driver: {{cores: 1, memory: 512m}}
  executor: {{instances: 1, cores: 1, memory: 512m}}
""")
    cli("wait", f"sparkjob/job-{i}", "--for=condition=Succeeded", "--timeout", "600s")
    return time.time() - t

def by_hand(i):
    work = f"{root}/hand-{i}"
    os.makedirs(work)
    t = time.time()
    subprocess.run([os.path.join(spark_home, "bin", "spark-submit"), "--master", master, "--deploy-mode", "client",
                    "--name", f"hand-{i}", "--driver-cores", "1", "--driver-memory", "512m", "--executor-cores", "1",
                    "--executor-memory", "512m", "--total-executor-cores", "1", "--conf", "spark.driver.host=127.0.0.1",
                    "--conf", "spark.sql.shuffle.partitions=4", root + "/app/groupby.py"],
                   cwd=work, check=True, capture_output=True,
                   env=dict(env, SPARK_HOME=spark_home, PYSPARK_PYTHON=venv_python, SPARK_LOCAL_IP="127.0.0.1"))
    return time.time() - t

ops, hands = [], []
try:
    for i in range(ROUNDS):
        ops.append(via_operator(i))
        hands.append(by_hand(i))
        print(f"round {i + 1}: operator {ops[-1]:.2f} s, by hand {hands[-1]:.2f} s", flush=True)
    mo, mh = statistics.median(ops), statistics.median(hands)
    print(f"median: operator {mo:.2f} s, by hand {mh:.2f} s, ratio {mo / mh:.3f}")
finally:
    os.remove(root + "/manifests/bench.yaml")
    op.terminate()
    op.wait(timeout=120)
    print(f"(run dir {root})", file=sys.stderr)
