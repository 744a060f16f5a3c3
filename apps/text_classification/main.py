"""Multi-class text classification with Spark MLlib: which fortune-cookie file is a quote from?

RegexTokenizer -> StopWordsRemover -> CountVectorizer -> StringIndexer(label) -> LogisticRegression,
all in ONE Pipeline fitted on the training split only. The original app fitted the text stages
before splitting, so the vocabulary (and document frequencies) had already seen the test rows.
Writes results.json, predictions.csv and confusion_matrix.png to $SPARKSWARM_OUTPUT_DIR
(default ./outputs).

    spark-submit main.py --data texts.csv [--reg-param 0.1] [--seed 42]
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
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import CountVectorizer, RegexTokenizer, StopWordsRemover, StringIndexer
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Text classification (label,text CSV)")
    p.add_argument("--data", default="texts.csv", help="CSV with columns label,text, relative to the working directory")
    p.add_argument("--vocab-size", type=int, default=20000)
    p.add_argument("--min-df", type=float, default=2.0, help="drop words seen in fewer training documents")
    p.add_argument("--reg-param", type=float, default=0.1, help="L2 penalty: thousands of word features, few rows")
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--sample-rows", type=int, default=50, help="rows written to predictions.csv")
    p.add_argument("--partitions", type=int, default=2,
                   help="fixed partition count: randomSplit is only repeatable for the same partitioning")
    args = p.parse_args(argv)
    if not 0.0 < args.test_fraction < 1.0:
        p.error("--test-fraction must be between 0 and 1")
    return args


def read_texts(spark, path):
    """Read label,text rows the Spark way, with an explicit schema: the executors read the
    file (shipped to each of them with `files`). Texts may span lines (quoted, "" escapes)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data file not found: {os.path.abspath(path)}")
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), None) or []
    if not {"label", "text"} <= set(header):
        raise ValueError(f"{path}: needs columns label,text; header is {header}")
    schema = StructType([StructField(c, StringType(), True) for c in header])
    df = (spark.read.csv(path, header=True, schema=schema, multiLine=True, escape='"', mode="FAILFAST")
          .select(F.trim("label").alias("label"), "text")
          .filter("label IS NOT NULL AND label != '' AND text IS NOT NULL AND trim(text) != ''"))
    n, labels = df.count(), df.select("label").distinct().count()
    if labels < 2 or n < 50:
        raise ValueError(f"{path}: {n} rows in {labels} classes; need >= 50 rows and >= 2 classes")
    return df


def output_dir():
    out = os.environ.get("SPARKSWARM_OUTPUT_DIR") or "outputs"
    os.makedirs(out, exist_ok=True)
    return out


def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    out = output_dir()

    spark = SparkSession.builder.appName("sparkswarm-text-classification").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        # A fixed partitioning: randomSplit is only repeatable for the same one.
        df = read_texts(spark, args.data).repartition(args.partitions)
        # Split the raw text FIRST; every fitted stage below sees the training rows only.
        train, test = df.randomSplit([1 - args.test_fraction, args.test_fraction], seed=args.seed)
        train.cache()

        pipeline = Pipeline(stages=[
            # lower-cases, then splits on anything that is not a letter/digit/apostrophe
            RegexTokenizer(inputCol="text", outputCol="tokens", pattern="[^a-z0-9']+", minTokenLength=2),
            StopWordsRemover(inputCol="tokens", outputCol="words"),
            # binary: in a two-line quote, whether a word occurs says more than how often
            CountVectorizer(inputCol="words", outputCol="features", vocabSize=args.vocab_size,
                            minDF=args.min_df, binary=True),
            StringIndexer(inputCol="label", outputCol="labelIndex"),  # most frequent class -> 0
            # (no IDF stage: LogisticRegression standardizes features, which cancels IDF's per-word scaling)
            LogisticRegression(featuresCol="features", labelCol="labelIndex", family="multinomial",
                               regParam=args.reg_param, maxIter=args.max_iter),
        ])
        model = pipeline.fit(train)
        pred = model.transform(test).cache()
        vocab = model.stages[2].vocabulary
        class_names = model.stages[3].labels

        def metric(p, name):
            return MulticlassClassificationEvaluator(labelCol="labelIndex", predictionCol="prediction",
                                                     metricName=name).evaluate(p)

        scored = pred.select("label", "labelIndex", "prediction", "probability", "text").collect()
        n = len(class_names)
        confusion = [[0] * n for _ in range(n)]
        for r in scored:
            confusion[int(r["labelIndex"])][int(r["prediction"])] += 1
        majority = max(sum(row) for row in confusion) / len(scored)
        results = {
            "accuracy": metric(pred, "accuracy"),
            "weightedPrecision": metric(pred, "weightedPrecision"),
            "weightedRecall": metric(pred, "weightedRecall"),
            "f1": metric(pred, "f1"),
            "trainAccuracy": metric(model.transform(train), "accuracy"),
            # always answering the biggest class: the floor any real model must clear
            "baselineAccuracy": majority,
            "numClasses": n,
            "vocabularySize": len(vocab),
            "trainRows": train.count(),
            "testRows": len(scored),
        }
    finally:
        spark.stop()

    with open(os.path.join(out, "predictions.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "predicted", "probability", "text"])
        for r in scored[:args.sample_rows]:
            p = r["probability"]
            w.writerow([r["label"], class_names[int(r["prediction"])], round(float(max(p)), 4), r["text"][:300]])

    n = len(class_names)
    fig, ax = plt.subplots(figsize=(2.0 + 1.1 * n, 1.6 + 1.0 * n), dpi=100)
    rates = [[c / (sum(row) or 1) for c in row] for row in confusion]
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for r in range(n):
        for k in range(n):
            ax.text(k, r, str(confusion[r][k]), ha="center", va="center",
                    color="white" if rates[r][k] > 0.5 else "black")
    ax.set_xticks(range(n), class_names, rotation=30, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set(title=f"Held-out confusion matrix  accuracy={results['accuracy']:.3f}",
           xlabel="predicted", ylabel="actual")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "confusion_matrix.png"))
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
