"""Reads and writes Parquet with pyarrow and DuckDB for Spindle's frame tests.

  interop.py read PATH          print PATH's rows (a file or a directory), one a line
  interop.py write PATH         write a file of many types with pyarrow, print its rows
  interop.py revenue PATH       print DuckDB's sum(revenue) by region over PATH
  interop.py sql PATH QUERY     print DuckDB's rows of QUERY, where {t} is PATH's table

Values print as the Go test renders them: null, true/false, integers, floats with
9 significant digits, decimals with their scale, ISO dates, UTC timestamps.
"""
import datetime
import decimal
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def cell(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "%.9g" % v
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S") + (".%06d" % v.microsecond if v.microsecond else "")
    if isinstance(v, datetime.date):
        return v.isoformat()
    return str(v)


def dump(table):
    print("|".join(table.column_names))
    for row in table.to_pylist():
        print("|".join(cell(row[c]) for c in table.column_names))


def write(path):
    n = 5000
    def nth(i, k):
        return i % k == 0
    t = pa.table({
        "i8": pa.array([None if nth(i, 7) else (i % 200) - 100 for i in range(n)], pa.int8()),
        "i32": pa.array([None if nth(i, 11) else i * 3 for i in range(n)], pa.int32()),
        "i64": pa.array([i * 1000003 for i in range(n)], pa.int64()),
        "f32": pa.array([None if nth(i, 13) else i / 4 for i in range(n)], pa.float32()),
        "f64": pa.array([None if nth(i, 5) else i / 3 for i in range(n)], pa.float64()),
        "s": pa.array([None if nth(i, 9) else "name-%d" % (i % 37) for i in range(n)], pa.string()),
        "b": pa.array([None if nth(i, 17) else i % 3 == 0 for i in range(n)], pa.bool_()),
        "d": pa.array([None if nth(i, 19) else datetime.date(2024, 1, 1) + datetime.timedelta(days=i) for i in range(n)], pa.date32()),
        "ts": pa.array([datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=i * 37, microseconds=i) for i in range(n)], pa.timestamp("us")),
        "dec": pa.array([None if nth(i, 23) else decimal.Decimal(i * 7 - 9000).scaleb(-3) for i in range(n)], pa.decimal128(12, 3)),
    })
    pq.write_table(t, path, row_group_size=1000, compression="zstd", use_dictionary=["s"])
    dump(t)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "read":
        dump(pq.read_table(path))
    elif mode == "write":
        write(path)
    elif mode == "revenue":
        import duckdb
        glob = path if path.endswith(".parquet") else path + "/*.parquet"
        for region, total in duckdb.sql(
                "SELECT region, sum(revenue) FROM read_parquet('%s') GROUP BY region" % glob).fetchall():
            print("%s|%s" % (region, total))
    elif mode == "sql":
        import duckdb
        glob = path if path.endswith(".parquet") else path + "/*.parquet"
        for row in duckdb.sql(sys.argv[3].replace("{t}", "read_parquet('%s')" % glob)).fetchall():
            print("|".join(cell(v) for v in row))
    else:
        sys.exit("unknown mode " + mode)


main()
