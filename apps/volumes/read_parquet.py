"""Reads back what write_parquet.py left in the cluster's `data` volume."""
import json
import os

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

spark = SparkSession.builder.appName("read-parquet").getOrCreate()
df = spark.read.parquet(os.environ["SPARKSWARM_VOLUME_DATA"] + "/squares")
row = df.agg(F.count("*").alias("rows"), F.sum("square").alias("sum")).first()
with open(os.path.join(os.environ.get("SPARKSWARM_OUTPUT_DIR", "outputs"), "results.json"), "w") as f:
    json.dump({"rows": row["rows"], "sum": row["sum"]}, f)
spark.stop()
