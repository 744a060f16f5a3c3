//! Work nobody here wrote: Spark's own ML examples, unmodified, reading their data with
//! `spark.read` from the job's `files`, on a local and on a swarm cluster with two
//! executors (so the executors, not the driver, read the file); and jobs that fail the
//! ways Spark jobs fail, with the cause a user needs in `status.message`, on both. And the
//! cluster's `volumes`: one job writes Parquet to `$SPARKSWARM_VOLUME_DATA`, a second reads
//! it back.

mod common;
mod swarm_common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use swarm_common::{docker, labelled, Engine, Sweeper};

const BOOT: Duration = Duration::from_secs(300);
const JOB: Duration = Duration::from_secs(400);

/// Copies Spark's random-forest and k-means examples and their data into the project,
/// byte for byte.
fn copy_example(p: &Project) {
    copy_from_pyspark(
        p,
        &[
            (
                "examples/src/main/python/ml/random_forest_classifier_example.py",
                "apps/examples/random_forest_classifier_example.py",
            ),
            ("data/mllib/sample_libsvm_data.txt", "apps/examples/data/sample_libsvm_data.txt"),
            ("examples/src/main/python/ml/kmeans_example.py", "apps/examples/kmeans_example.py"),
            ("data/mllib/sample_kmeans_data.txt", "apps/examples/data/sample_kmeans_data.txt"),
        ],
    );
}

/// The example as a job: the file where the example looks for it, two executors.
fn example_job(name: &str, cluster: &str) -> String {
    format!(
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: {name}\nspec:\n  clusterRef: {cluster}\n  mainApplicationFile: ../apps/examples/random_forest_classifier_example.py\n  files:\n    - {{src: ../apps/examples/data/sample_libsvm_data.txt, dst: data/mllib/sample_libsvm_data.txt}}\n  driver: {{cores: 1, memory: 512m}}\n  executor: {{instances: 2, cores: 1, memory: 512m}}\n"
    )
}

/// Spark's k-means example as a job, two executors.
fn kmeans_job(name: &str, cluster: &str) -> String {
    format!(
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: {name}\nspec:\n  clusterRef: {cluster}\n  mainApplicationFile: ../apps/examples/kmeans_example.py\n  files:\n    - {{src: ../apps/examples/data/sample_kmeans_data.txt, dst: data/mllib/sample_kmeans_data.txt}}\n  driver: {{cores: 1, memory: 512m}}\n  executor: {{instances: 2, cores: 1, memory: 512m}}\n"
    )
}

/// What the k-means example prints once it has clustered and evaluated.
fn assert_kmeans_ran(p: &Project, job: &str) {
    let out = p.cli(&["logs", "sparkjob", job]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("Silhouette with squared euclidean distance = "), "k-means did not evaluate:\n{log}");
}

/// The project's `data/` directory, where the clusters' `data` volume lives.
fn data_dir(p: &Project) -> PathBuf {
    let dir = p.root().join("data");
    std::fs::create_dir_all(&dir).expect("mkdir data");
    dir
}

const VOLUME_SPEC: &str = "  volumes:\n    - {name: data, mountPath: /data, hostPath: ../data}\n";

/// Executors write the Parquet parts, the driver commits: both must see the volume.
const VOLUME_WRITE_APP: &str = r#"
import json, os
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("volume-write").getOrCreate()
df = spark.range(0, 1000, numPartitions=4).selectExpr("id", "id * 2 AS twice")
df.write.mode("overwrite").parquet(os.environ["SPARKSWARM_VOLUME_DATA"] + "/out")
out = os.environ["SPARKSWARM_OUTPUT_DIR"]
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump({"volume": os.environ["SPARKSWARM_VOLUME_DATA"]}, f)
"#;

const VOLUME_READ_APP: &str = r#"
import json, os
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
spark = SparkSession.builder.appName("volume-read").getOrCreate()
df = spark.read.parquet(os.environ["SPARKSWARM_VOLUME_DATA"] + "/out")
row = df.agg(F.count("*").alias("rows"), F.sum("twice").alias("sum")).first()
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"rows": row["rows"], "sum": row["sum"], "partitions": df.rdd.getNumPartitions()}, f)
"#;

/// Two executors each: the write's parts come from executors, not the driver.
const TWO_EXECUTORS: &str = "  executor: {instances: 2, cores: 1, memory: 512m}\n";

/// Writes through the cluster's `data` volume, reads back what was written, and checks it
/// where a user would: in the second job's `status.results`, and in the host directory.
fn write_then_read(p: &Project, op: &Operator, cluster: &str, announced: &str) {
    p.write_app("volume/write.py", VOLUME_WRITE_APP);
    p.write_app("volume/read.py", VOLUME_READ_APP);
    let job = |name: &str, app: &str| {
        Project::job_yaml(name, cluster, app, "")
            .replace("  executor: {instances: 1, cores: 1, memory: 512m}\n", TWO_EXECUTORS)
    };
    p.drop_manifest("volume-write.yaml", &job("volume-write", "volume/write.py"));
    wait_phase(p, "volume-write.yaml", "Succeeded", op, JOB);
    assert_eq!(p.field("volume-write.yaml", "/status/results/volume"), Some(serde_json::json!(announced)));
    let parts = std::fs::read_dir(data_dir(p).join("out"))
        .map(|rd| rd.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".parquet")).count())
        .unwrap_or(0);
    assert!(parts > 0, "no Parquet parts in the host's data/out");
    p.drop_manifest("volume-read.yaml", &job("volume-read", "volume/read.py"));
    wait_phase(p, "volume-read.yaml", "Succeeded", op, JOB);
    assert_eq!(p.field("volume-read.yaml", "/status/results/rows"), Some(serde_json::json!(1000)));
    assert_eq!(p.field("volume-read.yaml", "/status/results/sum"), Some(serde_json::json!(2 * 999 * 1000 / 2)));
}

fn wait_phase(p: &Project, file: &str, phase: &str, op: &Operator, timeout: Duration) {
    eventually(
        timeout,
        &format!("{file} {phase}"),
        || (p.phase(file) == phase).then_some(()),
        || format!("file:\n{}\noperator log:\n{}", p.read(file), op.log()),
    );
}

fn message(p: &Project, file: &str) -> String {
    p.field(file, "/status/message").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// What the example prints when it has trained and evaluated its model.
fn assert_example_ran(p: &Project, job: &str) {
    let out = p.cli(&["logs", "sparkjob", job]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("Test Error = "),
        "the example did not evaluate its model:\n{log}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!log.contains("FILE_NOT_EXIST"), "a task could not read the file:\n{log}");
}

const MISSING_PATH_APP: &str = r#"
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("missing").getOrCreate()
spark.read.format("libsvm").load("no/such/dir").show()
"#;

const UDF_APP: &str = r#"
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
spark = SparkSession.builder.appName("udf").getOrCreate()

@udf("int")
def parse(x):
    raise ValueError(f"cannot parse row {x}")

spark.range(4).select(parse("id")).collect()
"#;

const KILLED_APP: &str = r#"
import os, signal
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("killed").getOrCreate()
spark.range(10).count()
os.kill(os.getpid(), signal.SIGKILL)
"#;

/// One failed task fails the job at once: the tests wait for the message, not for retries.
const FAIL_FAST: &str = "  sparkConf: {spark.task.maxFailures: \"1\"}\n";

#[test]
fn spark_examples_read_their_files_and_failures_name_their_cause_on_a_local_cluster() {
    require_java();
    let p = Project::new();
    let _reaper = Reaper(p.state().display().to_string());
    copy_example(&p);
    p.write_app("missing/main.py", MISSING_PATH_APP);
    p.write_app("udf/main.py", UDF_APP);
    p.write_app("killed/main.py", KILLED_APP);
    let data = data_dir(&p).canonicalize().expect("canonical data dir");
    let op = p.start(&[]);
    p.drop_manifest("demo.yaml", &format!("{}{VOLUME_SPEC}", Project::cluster_yaml("demo", 2)));
    wait_phase(&p, "demo.yaml", "Ready", &op, BOOT);

    p.drop_manifest("rf.yaml", &example_job("rf", "demo"));
    p.drop_manifest("kmeans.yaml", &kmeans_job("kmeans", "demo"));
    wait_phase(&p, "rf.yaml", "Succeeded", &op, JOB);
    assert_example_ran(&p, "rf");
    wait_phase(&p, "kmeans.yaml", "Succeeded", &op, JOB);
    assert_kmeans_ran(&p, "kmeans");
    // On local the volume is used in place: the variable holds the host directory.
    write_then_read(&p, &op, "demo", &data.to_string_lossy());

    p.drop_manifest("missing.yaml", &Project::job_yaml("missing", "demo", "missing/main.py", FAIL_FAST));
    p.drop_manifest("udf.yaml", &Project::job_yaml("udf", "demo", "udf/main.py", FAIL_FAST));
    p.drop_manifest("killed.yaml", &Project::job_yaml("killed", "demo", "killed/main.py", ""));
    for job in ["missing.yaml", "udf.yaml", "killed.yaml"] {
        wait_phase(&p, job, "Failed", &op, JOB);
    }
    let m = message(&p, "missing.yaml");
    assert!(m.contains("[PATH_NOT_FOUND] Path does not exist: file:") && m.contains("/no/such/dir"), "{m}");
    assert_eq!(message(&p, "udf.yaml"), "ValueError: cannot parse row 0");
    assert_eq!(message(&p, "killed.yaml"), "exit 137: killed (out of memory?)");
    assert_eq!(p.field("killed.yaml", "/status/exitCode"), Some(serde_json::json!(137)));
}

fn swarm_cluster_yaml(name: &str, workers: u32) -> String {
    format!(
        "apiVersion: sparkswarm.io/v1alpha1\nkind: SparkCluster\nmetadata:\n  name: {name}\nspec:\n  provider:\n    swarm:\n      endpoint: unix:///var/run/docker.sock\n  workers:\n    replicas: {workers}\n    cores: 1\n    memory: 1g\n{VOLUME_SPEC}"
    )
}

/// What the worker containers hold of the jobs' files.
fn files_in_workers(name: &str) -> Vec<String> {
    let (_, ids) = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=sparkswarm.io/cluster={name}"),
        "--filter",
        "label=sparkswarm.io/role=worker",
    ]);
    ids.lines()
        .flat_map(|id| {
            let (_, out) = docker(&["exec", id, "ls", "-A", "/sparkswarm/jobs"]);
            out.lines().map(str::to_string).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn spark_examples_read_their_files_on_a_swarm_cluster_with_two_executors() {
    let _engine = Engine::require();
    let p = Project::new();
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let name = format!("swex{nanos:08x}");
    let _sweeper = Sweeper::cluster(&name);
    copy_example(&p);
    p.write_app("missing/main.py", MISSING_PATH_APP);
    p.write_app("udf/main.py", UDF_APP);
    p.write_app("killed/main.py", KILLED_APP);
    // The volume's directory exists before the cluster names it (a hostPath must).
    data_dir(&p);
    let op = p.start(&[]);
    let file = format!("{name}.yaml");
    p.drop_manifest(&file, &swarm_cluster_yaml(&name, 2));
    wait_phase(&p, &file, "Ready", &op, BOOT);

    p.drop_manifest("rf.yaml", &example_job("rf", &name));
    p.drop_manifest("kmeans.yaml", &kmeans_job("kmeans", &name));
    wait_phase(&p, "rf.yaml", "Succeeded", &op, JOB);
    assert_example_ran(&p, "rf");
    wait_phase(&p, "kmeans.yaml", "Succeeded", &op, JOB);
    assert_kmeans_ran(&p, "kmeans");
    // Mounted at its mountPath in the master, the workers and the drivers.
    write_then_read(&p, &op, &name, "/data");
    // Cleaned up with the attempt: the workers hold nothing of it any more.
    eventually(
        Duration::from_secs(60),
        "no job files left in the workers",
        || files_in_workers(&name).is_empty().then_some(()),
        || format!("{:?}\n{}", files_in_workers(&name), op.log()),
    );

    p.drop_manifest("missing.yaml", &Project::job_yaml("missing", &name, "missing/main.py", FAIL_FAST));
    p.drop_manifest("udf.yaml", &Project::job_yaml("udf", &name, "udf/main.py", FAIL_FAST));
    p.drop_manifest("killed.yaml", &Project::job_yaml("killed", &name, "killed/main.py", ""));
    for job in ["missing.yaml", "udf.yaml", "killed.yaml"] {
        wait_phase(&p, job, "Failed", &op, JOB);
    }
    let m = message(&p, "missing.yaml");
    assert!(m.contains("[PATH_NOT_FOUND] Path does not exist: file:") && m.contains("/no/such/dir"), "{m}");
    assert_eq!(message(&p, "udf.yaml"), "ValueError: cannot parse row 0");
    assert_eq!(message(&p, "killed.yaml"), "exit 137: killed (out of memory?)");

    std::fs::remove_file(p.manifest(&file)).expect("remove the cluster file");
    eventually(
        Duration::from_secs(120),
        "nothing labelled left",
        || labelled("sparkswarm.io/cluster", &name).is_empty().then_some(()),
        || op.log(),
    );
}
