"""The DuckDB side of the benchmarks: each workload as one SQL query over the same
files, 2 threads (as Spindle and Spark run local[2]). Run by compare.py inside the
benchmark virtualenv:

    python duckdb_jobs.py <workload> <args...>

Text outputs are one part file of "a<TAB>b" lines, which compare.py checks against
Spindle's as multisets of lines.
"""
import os
import sys

import duckdb


def connect():
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET default_collation = ''")
    return con


def lines(path):
    # One VARCHAR column per line: no delimiter, quote or escape in the data.
    return (f"read_csv('{path}', columns = {{'line': 'VARCHAR'}}, header = false, delim = '\\t', "
            "quote = '', escape = '', auto_detect = false)")


def copy_out(con, query, out):
    os.makedirs(out, exist_ok=True)
    con.execute(f"COPY ({query}) TO '{os.path.join(out, 'part-00000')}' "
                "(FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '', ESCAPE '')")


def wordcount(con, inp, out):
    copy_out(con, f"SELECT w, count(*) FROM (SELECT unnest(string_split(line, ' ')) AS w FROM {lines(inp)}) "
                  "WHERE w <> '' GROUP BY w", out)


def revenue(con, inp):
    rows = con.execute(f"SELECT region, sum(CAST(round(revenue * 100) AS BIGINT)) AS cents "
                       f"FROM read_csv('{inp}', header = true, columns = {{'order_id': 'BIGINT', 'date': 'VARCHAR', "
                       "'region': 'VARCHAR', 'product': 'VARCHAR', 'quantity': 'BIGINT', 'unit_price': 'DOUBLE', "
                       "'revenue': 'DOUBLE'}) GROUP BY region ORDER BY cents DESC, region LIMIT 20").fetchall()
    for region, cents in rows:
        print(f"{region}\t{cents}")


def sort(con, inp, out):
    copy_out(con, f"SELECT line FROM {lines(inp)} ORDER BY line", out)


def join(con, fact, dim, out):
    copy_out(con, f"SELECT f.fact_id, d.name, f.amount FROM read_csv('{fact}', header = true) f "
                  f"JOIN read_csv('{dim}', header = true) d USING (dim_id)", out)


if __name__ == "__main__":
    name, args = sys.argv[1], sys.argv[2:]
    globals()[name](connect(), *args)
