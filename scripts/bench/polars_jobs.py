"""The Polars side of the benchmarks: revenue by region and the join, with the lazy
API and its streaming engine, 2 threads (POLARS_MAX_THREADS, set by compare.py). Run
by compare.py inside the benchmark virtualenv:

    python polars_jobs.py <workload> <args...>
"""
import os
import sys

import polars as pl


def revenue(inp):
    top = (pl.scan_csv(inp)
           .group_by("region")
           .agg((pl.col("revenue") * 100).round().cast(pl.Int64).sum().alias("cents"))
           .sort(["cents", "region"], descending=[True, False])
           .head(20)
           .collect(engine="streaming"))
    for region, cents in top.iter_rows():
        print(f"{region}\t{cents}")


def join(fact, dim, out):
    os.makedirs(out, exist_ok=True)
    (pl.scan_csv(fact).join(pl.scan_csv(dim), on="dim_id")
     .select(pl.col("fact_id"), pl.col("name"), pl.col("amount"))
     .sink_csv(os.path.join(out, "part-00000"), separator="\t", include_header=False, quote_style="never"))


if __name__ == "__main__":
    name, args = sys.argv[1], sys.argv[2:]
    globals()[name](*args)
