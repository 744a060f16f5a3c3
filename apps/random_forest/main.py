"""Titanic survival with a Spark MLlib random forest, evaluated on a held-out split.

Imputer (missing ages, median of the TRAINING split) -> StringIndexer(sex) -> VectorAssembler
-> RandomForestClassifier (seeded). The original app scored the model on the rows it was
trained on; here every metric comes from a seeded 20% test split the model never saw.
Writes results.json, predictions.csv and roc_curve.png to $SPARKSWARM_OUTPUT_DIR (default ./outputs).

    spark-submit main.py --data titanic.csv [--num-trees 100] [--max-depth 5] [--seed 42]
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
from pyspark.ml.classification import RandomForestClassifier
from pyspark.ml.evaluation import BinaryClassificationEvaluator, MulticlassClassificationEvaluator
from pyspark.ml.feature import Imputer, StringIndexer, VectorAssembler
from pyspark.sql import SparkSession
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

CATEGORICAL = {"sex", "embarked"}  # string columns; everything else is numeric


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Random forest on the Titanic passenger list")
    p.add_argument("--data", default="titanic.csv", help="CSV with a header, relative to the working directory")
    p.add_argument("--label", default="survived", help="0/1 column")
    p.add_argument("--features", default="pclass,sex,age,sibsp,parch",
                   help="comma-separated feature columns (add fare if the CSV has it)")
    p.add_argument("--num-trees", type=int, default=100)
    p.add_argument("--max-depth", type=int, default=5, help="shallow trees: 1000 rows overfit deep ones")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--sample-rows", type=int, default=50, help="rows written to predictions.csv")
    p.add_argument("--partitions", type=int, default=2,
                   help="fixed partition count: randomSplit is only repeatable for the same partitioning")
    args = p.parse_args(argv)
    args.features = [c.strip() for c in args.features.split(",") if c.strip()]
    if not 0.0 < args.test_fraction < 1.0:
        p.error("--test-fraction must be between 0 and 1")
    return args


def csv_header(path):
    """The header line only: it names the schema's columns; the rows are Spark's to read."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data file not found: {os.path.abspath(path)}")
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f), None) or []


def read_csv(spark, path, header, columns):
    """Read the CSV the Spark way, with an explicit schema: the executors read the file
    (shipped to each of them with `files`). Empty numeric cells become null (to be imputed),
    empty categories "unknown"."""
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; header is {header}")
    # Columns the model does not use stay strings: whatever they hold cannot fail the read.
    schema = StructType([StructField(c, DoubleType() if c in columns and c not in CATEGORICAL else StringType(), True)
                         for c in header])
    # FAILFAST: a non-number in a numeric column fails the job, naming the row.
    df = spark.read.csv(path, header=True, schema=schema, mode="FAILFAST").select(*columns)
    categorical = [c for c in columns if c in CATEGORICAL]
    if categorical:
        df = df.fillna("unknown", subset=categorical)
    n = df.count()
    if n < 50:
        raise ValueError(f"{path}: only {n} rows, too few to split and fit")
    label = columns[0]
    if df.filter(f"`{label}` IS NULL OR `{label}` NOT IN (0, 1)").count():
        raise ValueError(f"{path}: label {label!r} must be 0 or 1 on every row")
    return df


def output_dir():
    out = os.environ.get("SPARKSWARM_OUTPUT_DIR") or "outputs"
    os.makedirs(out, exist_ok=True)
    return out


def plain(v):
    """1.0 -> 1 and None -> '' so the sample CSV reads like the input."""
    if v is None:
        return ""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def roc_points(scored):
    """ROC curve from (score, label) pairs; ties share one point so the AUC matches Spark's."""
    pos = sum(1 for _, y in scored if y == 1.0)
    neg = len(scored) - pos
    pts, tp, fp, i = [(0.0, 0.0)], 0, 0, 0
    scored = sorted(scored, key=lambda t: -t[0])
    while i < len(scored):
        j = i
        while j < len(scored) and scored[j][0] == scored[i][0]:
            tp, fp, j = tp + (scored[j][1] == 1.0), fp + (scored[j][1] != 1.0), j + 1
        pts.append((fp / max(neg, 1), tp / max(pos, 1)))
        i = j
    return pts


def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    columns = [args.label] + args.features
    header = csv_header(args.data)  # fail fast, before Spark starts
    numeric = [c for c in args.features if c not in CATEGORICAL]
    categorical = [c for c in args.features if c in CATEGORICAL]
    out = output_dir()

    spark = SparkSession.builder.appName("sparkswarm-random-forest").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        # A fixed partitioning: randomSplit is only repeatable for the same one.
        df = read_csv(spark, args.data, header, columns).repartition(args.partitions)
        train, test = df.randomSplit([1 - args.test_fraction, args.test_fraction], seed=args.seed)
        train.cache()

        imputed = [c + "_imp" for c in numeric]
        indexed = [c + "_idx" for c in categorical]
        # Inside the pipeline, so the median comes from the training split only.
        imputer = [Imputer(inputCols=numeric, outputCols=imputed, strategy="median")] if numeric else []
        pipeline = Pipeline(stages=[
            *imputer,
            *[StringIndexer(inputCol=c, outputCol=c + "_idx", handleInvalid="keep") for c in categorical],
            VectorAssembler(inputCols=imputed + indexed, outputCol="features"),
            RandomForestClassifier(labelCol=args.label, featuresCol="features", numTrees=args.num_trees,
                                   maxDepth=args.max_depth, seed=args.seed),
        ])
        model = pipeline.fit(train)
        pred_test = model.transform(test).cache()
        pred_train = model.transform(train)

        def auc(pred, name="areaUnderROC"):
            return BinaryClassificationEvaluator(labelCol=args.label, rawPredictionCol="rawPrediction",
                                                 metricName=name).evaluate(pred)

        def multi(pred, name):
            return MulticlassClassificationEvaluator(labelCol=args.label, predictionCol="prediction",
                                                     metricName=name).evaluate(pred)

        scored = pred_test.select(*columns, "probability", "prediction").collect()
        survived_share = sum(r[args.label] for r in scored) / len(scored)
        results = {
            "areaUnderROC": auc(pred_test),
            "areaUnderPR": auc(pred_test, "areaUnderPR"),
            "accuracy": multi(pred_test, "accuracy"),
            "f1": multi(pred_test, "f1"),
            # what the original reported: training-set scores, optimistic by construction
            "trainAreaUnderROC": auc(pred_train),
            "trainAccuracy": multi(pred_train, "accuracy"),
            # always predicting the majority class: the floor any real model must clear
            "baselineAccuracy": max(survived_share, 1 - survived_share),
            "trainRows": train.count(),
            "testRows": len(scored),
            "numTrees": args.num_trees,
        }
    finally:
        spark.stop()

    with open(os.path.join(out, "predictions.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns + ["probability", "prediction"])
        for r in scored[:args.sample_rows]:
            w.writerow([plain(r[c]) for c in columns]
                       + [round(float(r["probability"][1]), 4), int(r["prediction"])])

    pts = roc_points([(float(r["probability"][1]), r[args.label]) for r in scored])
    fig, ax = plt.subplots(figsize=(6.0, 6.0), dpi=100)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="random classifier")
    ax.plot([p[0] for p in pts], [p[1] for p in pts], color="tab:orange", linewidth=2.5, label="model")
    ax.set(title=f"ROC on held-out data  AUC={results['areaUnderROC']:.3f}",
           xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "roc_curve.png"))
    plt.close(fig)

    results["seconds"] = time.time() - started
    results = {k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()}
    with open(os.path.join(out, "results.json"), "w") as f:  # written last: its presence means done
        json.dump(results, f, indent=2)
    for k, v in results.items():
        print(f"{k:>18}: {v}")
    print("RESULTS " + json.dumps(results))


if __name__ == "__main__":
    main()
