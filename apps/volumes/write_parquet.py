"""Writes a small table as Parquet into the cluster's `data` volume (the executors write the
parts, the driver commits them); results.json says where and how many rows."""
import json
import os

from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("write-parquet").getOrCreate()
target = os.environ["SPARKSWARM_VOLUME_DATA"] + "/squares"
df = spark.range(0, 1000, numPartitions=4).selectExpr("id", "id * id AS square")
df.write.mode("overwrite").parquet(target)
with open(os.path.join(os.environ.get("SPARKSWARM_OUTPUT_DIR", "outputs"), "results.json"), "w") as f:
    json.dump({"path": target, "rows": df.count()}, f)
spark.stop()
