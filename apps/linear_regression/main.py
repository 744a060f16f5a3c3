"""Boston housing prices with Spark MLlib linear regression.

VectorAssembler (13 features) -> LinearRegression, trained on a seeded 80% split and scored on
the held-out 20%. Writes results.json, predictions.csv and predicted_vs_actual.png to
$SPARKSWARM_OUTPUT_DIR (default ./outputs).

    spark-submit main.py --data boston.csv [--test-fraction 0.2] [--seed 42]
"""
import argparse
import csv
import json
import os
import time

import matplotlib

matplotlib.use("Agg")  # no display: the picture goes to a file
import matplotlib.pyplot as plt  # noqa: E402  (from the manifest's deps)
from pyspark.ml import Pipeline
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.sql import SparkSession
from pyspark.sql.types import DoubleType, StructField, StructType


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Linear regression on the Boston housing data")
    p.add_argument("--data", default="boston.csv", help="CSV with a header, relative to the working directory")
    p.add_argument("--label", default="medv", help="target column; every other column is a feature")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--reg-param", type=float, default=0.0, help="L2/L1 penalty strength (0 = OLS)")
    p.add_argument("--elastic-net", type=float, default=0.0, help="0 = ridge, 1 = lasso")
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--sample-rows", type=int, default=50, help="rows written to predictions.csv")
    p.add_argument("--partitions", type=int, default=2,
                   help="fixed partition count: randomSplit is only repeatable for the same partitioning")
    args = p.parse_args(argv)
    if not 0.0 < args.test_fraction < 1.0:
        p.error("--test-fraction must be between 0 and 1")
    return args


def csv_header(path):
    """The header line only: the columns name the schema; the rows are Spark's to read."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data file not found: {os.path.abspath(path)}")
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f), None)


def read_numeric_csv(spark, path, header, label):
    """Read the CSV the Spark way, with an explicit schema: the executors read the file
    (shipped to each of them with `files`), the driver never holds the rows."""
    if not header or label not in header:
        raise ValueError(f"{path}: header {header} has no label column {label!r}")
    schema = StructType([StructField(c, DoubleType(), True) for c in header])
    # FAILFAST: a row with a wrong field count or a non-number fails the job, naming the row.
    df = spark.read.csv(path, header=True, schema=schema, mode="FAILFAST")
    incomplete = df.filter(" OR ".join(f"`{c}` IS NULL" for c in header)).count()
    if incomplete:
        raise ValueError(f"{path}: {incomplete} rows with missing values")
    n = df.count()
    if n < 20:
        raise ValueError(f"{path}: only {n} rows, too few to split and fit")
    return df


def output_dir():
    out = os.environ.get("SPARKSWARM_OUTPUT_DIR") or "outputs"
    os.makedirs(out, exist_ok=True)
    return out


def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    header = csv_header(args.data)  # fail fast, before Spark starts
    features = [c for c in header if c != args.label]
    out = output_dir()

    spark = SparkSession.builder.appName("sparkswarm-linear-regression").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        # A fixed partitioning: randomSplit is only repeatable for the same one.
        df = read_numeric_csv(spark, args.data, header, args.label).repartition(args.partitions)
        train, test = df.randomSplit([1 - args.test_fraction, args.test_fraction], seed=args.seed)
        train.cache()

        pipeline = Pipeline(stages=[
            VectorAssembler(inputCols=features, outputCol="features"),
            # standardization (the default) puts crim (0-89) and tax (187-711) on one scale for the solver
            LinearRegression(featuresCol="features", labelCol=args.label, maxIter=args.max_iter,
                             regParam=args.reg_param, elasticNetParam=args.elastic_net),
        ])
        model = pipeline.fit(train)  # fitted on the training split only
        pred_test = model.transform(test)
        pred_train = model.transform(train)

        def metric(pred, name):
            return RegressionEvaluator(labelCol=args.label, predictionCol="prediction", metricName=name).evaluate(pred)

        # Baseline: always predict the training mean. A pipeline that learnt anything beats it.
        train_mean = train.agg({args.label: "avg"}).first()[0]
        test_rows = pred_test.select(*features, args.label, "prediction").collect()
        baseline_rmse = (sum((r[args.label] - train_mean) ** 2 for r in test_rows) / len(test_rows)) ** 0.5

        results = {
            "rmse": metric(pred_test, "rmse"),
            "mae": metric(pred_test, "mae"),
            "r2": metric(pred_test, "r2"),
            "trainRmse": metric(pred_train, "rmse"),
            "trainR2": metric(pred_train, "r2"),
            "baselineRmse": baseline_rmse,
            "trainRows": train.count(),
            "testRows": len(test_rows),
            "numFeatures": len(features),
        }
    finally:
        spark.stop()

    with open(os.path.join(out, "predictions.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(features + [args.label, "prediction", "residual"])
        for r in test_rows[:args.sample_rows]:
            w.writerow([r[c] for c in features] + [r[args.label], round(r["prediction"], 4),
                                                   round(r[args.label] - r["prediction"], 4)])

    actual, predicted = [r[args.label] for r in test_rows], [r["prediction"] for r in test_rows]
    lo, hi = min(actual + predicted), max(actual + predicted)
    fig, ax = plt.subplots(figsize=(6.4, 6.0), dpi=100)
    ax.plot([lo, hi], [lo, hi], "--", color="tab:red", label="perfect prediction")
    ax.scatter(actual, predicted, s=16, alpha=0.6, color="tab:blue")
    ax.set(title=f"Test set: predicted vs actual  R2={results['r2']:.3f}",
           xlabel=f"actual {args.label}", ylabel=f"predicted {args.label}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "predicted_vs_actual.png"))
    plt.close(fig)

    results["seconds"] = time.time() - started
    results = {k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()}
    with open(os.path.join(out, "results.json"), "w") as f:  # written last: its presence means done
        json.dump(results, f, indent=2)
    for k, v in results.items():
        print(f"{k:>14}: {v}")
    print("RESULTS " + json.dumps(results))


if __name__ == "__main__":
    main()
