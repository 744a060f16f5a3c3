# The app whose event log is shuffle.eventlog: reads a CSV the Spark way (input bytes),
# aggregates it (a DataFrame shuffle) and reduces an RDD by key (an RDD shuffle).
import json
import os

from pyspark.sql import SparkSession, functions as F
from pyspark.sql.types import DoubleType, IntegerType, StringType, StructField, StructType

spark = SparkSession.builder.appName("eventlog-fixture").getOrCreate()
schema = StructType([
    StructField("survived", IntegerType()),
    StructField("pclass", IntegerType()),
    StructField("sex", StringType()),
    StructField("age", DoubleType()),
    StructField("sibsp", IntegerType()),
    StructField("parch", IntegerType()),
])
df = spark.read.csv("data/titanic.csv", header=True, schema=schema)
by = df.groupBy("pclass", "sex").agg(F.count("*").alias("n"), F.avg("survived").alias("rate"))
rows = [r.asDict() for r in by.orderBy("pclass", "sex").collect()]
sums = dict(
    spark.sparkContext.parallelize(range(20000), 4).map(lambda x: (x % 10, x)).reduceByKey(lambda a, b: a + b, 3).collect()
)
with open(os.path.join(os.environ["SPARKSWARM_OUTPUT_DIR"], "results.json"), "w") as f:
    json.dump({"groups": len(rows), "keys": len(sums)}, f)
spark.stop()
