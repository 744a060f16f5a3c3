"""The benchmark's small PySpark job: a 100,000-row group-by, about 10 s on 2 cores."""
import json
import os

from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.appName("groupby").getOrCreate()
df = spark.range(100_000).withColumn("k", F.col("id") % 97).withColumn("v", F.rand(seed=7))
rows = df.groupBy("k").agg(F.count("*").alias("n"), F.avg("v").alias("mean")).orderBy("k").collect()
assert len(rows) == 97 and sum(r["n"] for r in rows) == 100_000
out = os.environ.get("SPARKSWARM_OUTPUT_DIR")
if out:
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"groups": len(rows)}, f)
spark.stop()
