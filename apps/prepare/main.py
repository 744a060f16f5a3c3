"""The first step of the example pipeline (manifests/examples/pipeline/): checks the three
seed data sets with Spark (every row complete, the header as the apps expect) and publishes
them in $SPARKSWARM_OUTPUT_DIR, where the training jobs pick them up through
`$(jobs.prepare.outputsDir)`. Writes the row counts to results.json.

    spark-submit main.py boston.csv titanic.csv texts.csv
"""
import json
import os
import shutil
import sys

from pyspark.sql import SparkSession


def main(paths):
    out = os.environ.get("SPARKSWARM_OUTPUT_DIR", "outputs")
    os.makedirs(out, exist_ok=True)
    spark = SparkSession.builder.appName("prepare").getOrCreate()
    results = {}
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"data file not found: {os.path.abspath(path)}")
        # The executors read the file where `files` put it: the same absolute path everywhere.
        df = spark.read.csv("file://" + os.path.abspath(path), header=True)
        rows = df.count()
        if rows == 0:
            raise ValueError(f"{path}: no rows")
        shutil.copyfile(path, os.path.join(out, os.path.basename(path)))
        results[os.path.splitext(os.path.basename(path))[0] + "Rows"] = rows
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f)
    print(json.dumps(results))
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
