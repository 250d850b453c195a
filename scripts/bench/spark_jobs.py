"""The Spark side of the benchmarks: each workload with the DataFrame API and built-in
functions only (no Python UDFs, no RDD lambdas), so that the peer is Spark's JVM engine
at its best. Run by compare.py inside the benchmark virtualenv:

    python spark_jobs.py <workload> <args...>

Configuration comes from SPARK_CONF_JSON (a JSON object of spark.* settings).
"""
import json
import os
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def session(name):
    b = SparkSession.builder.appName("bench-" + name)
    for k, v in json.loads(os.environ.get("SPARK_CONF_JSON", "{}")).items():
        b = b.config(k, v)
    s = b.getOrCreate()
    s.sparkContext.setLogLevel("ERROR")
    return s


def wordcount(s, inp, out):
    words = s.read.text(inp).select(F.explode(F.split(F.col("value"), " ")).alias("w")).where(F.col("w") != "")
    counts = words.groupBy("w").count()
    counts.select(F.concat_ws("\t", "w", F.col("count").cast("string"))).write.text(out)


def revenue(s, inp):
    sales = s.read.option("header", True).csv(inp)
    cents = F.round(F.col("revenue").cast("double") * 100).cast("long")
    top = (sales.groupBy("region").agg(F.sum(cents).alias("cents"))
           .orderBy(F.col("cents").desc(), F.col("region")).limit(20).collect())
    for r in top:
        print(f"{r['region']}\t{r['cents']}")


def sort(s, inp, out):
    s.read.text(inp).orderBy("value").write.text(out)


def join(s, fact, dim, out):
    f = s.read.option("header", True).csv(fact)
    d = s.read.option("header", True).csv(dim)
    j = f.join(d, "dim_id")
    j.select(F.concat_ws("\t", "fact_id", "name", "amount")).write.text(out)


def noop(s, n):
    n = int(n)
    print(s.range(0, n, 1, n).count())


def shuffle(s, m, r):
    m, r = int(m), int(r)
    print(s.range(0, m, 1, m).groupBy((F.col("id") % r).alias("k")).count().count())


if __name__ == "__main__":
    name, args = sys.argv[1], sys.argv[2:]
    spark = session(name)
    try:
        globals()[name](spark, *args)
    finally:
        spark.stop()
