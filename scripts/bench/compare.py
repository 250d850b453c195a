#!/usr/bin/env python3
"""Spindle against Apache Spark on the same machine, in one run (`make bench-compare`).

Installs PySpark (which ships Spark's jars) into a virtualenv under build/bench, builds
the Spindle binaries, generates seeded data, runs every workload on Spindle local[2]
and Spark local[2] alternately (A B A B ...), checks that both produced the same
result, measures the machine's limits, and writes BENCHMARKS.md and a chart.

    python3 scripts/bench/compare.py [--scale 1] [--runs 3]

--scale multiplies the data sizes; 1 finishes in well under 20 minutes on 2 cores,
8 gives the issue's nominal sizes (2 GB text and records, 20 M fact rows).
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build", "bench")
VENV = os.path.join(BUILD, "venv")
PYSPARK = "pyspark==4.3.0"
# The other peers, from PyPI into the same virtualenv: DuckDB (every workload as SQL)
# and Polars (revenue and join, lazy and streaming).
PEERS = ["duckdb==2.0.0", "polars==2.1.0"]
# The 1-minute load average before each local run: the machine may be shared, and the
# report says how busy it was.
LOADS = []


def venv_python():
    return os.path.join(VENV, "bin", "python")


def bootstrap(argv):
    """Re-runs this script inside the benchmark virtualenv, creating it first."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(venv_python()):
        os.makedirs(BUILD, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([venv_python(), "-m", "pip", "install", "-q", PYSPARK, "psutil", "matplotlib"] + PEERS, check=True)
    elif subprocess.run([venv_python(), "-c", "import duckdb, polars"], capture_output=True).returncode != 0:
        # A virtualenv made before the peers joined the comparison.
        subprocess.run([venv_python(), "-m", "pip", "install", "-q"] + PEERS, check=True)
    os.execv(venv_python(), [venv_python(), os.path.abspath(__file__)] + argv)


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, **kw)


# --- measurement ---------------------------------------------------------------

def measure(cmd, env=None, cwd=None):
    """Runs cmd and returns (wall s, CPU s, peak RSS bytes of the process tree, stdout)."""
    import psutil
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out_path = os.path.join(BUILD, "last-stdout.txt")
    err_path = os.path.join(BUILD, "last-stderr.txt")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
        root = psutil.Process(p.pid)
        cpu, peak = {}, 0
        while p.poll() is None:
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.NoSuchProcess:
                procs = []
            rss = 0
            for q in procs:
                try:
                    t = q.cpu_times()
                    cpu[q.pid] = t.user + t.system
                    rss += q.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            peak = max(peak, rss)
            # Sample densely at first: Spindle's small jobs end in a tenth of a second.
            time.sleep(0.005 if time.perf_counter() - start < 1 else 0.05)
        wall = time.perf_counter() - start
    # Processes the tree reaped count in the children's rusage; sampling catches those
    # it did not reap (Spark's JVM), and rusage those too short for sampling.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(out_path) as f:
        stdout = f.read()
    if p.returncode != 0:
        with open(err_path) as f:
            raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{f.read()[-3000:]}")
    return wall, max(sum(cpu.values()), reaped), peak, stdout


# --- result checks ---------------------------------------------------------------

def part_files(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.startswith("part-"))


def multiset(paths):
    """An order-independent digest of the lines of files: count and sum of hashes."""
    total, n = 0, 0
    for p in paths:
        with open(p, "rb") as f:
            for line in f:
                line = line.rstrip(b"\n")
                total = (total + int.from_bytes(hashlib.blake2b(line, digest_size=8).digest(), "little")) % (1 << 64)
                n += 1
    return n, total


def check_sorted(paths):
    prev = None
    for p in paths:
        with open(p, "rb") as f:
            for line in f:
                if prev is not None and line < prev:
                    raise AssertionError(f"{p}: not sorted: {line[:20]!r} after {prev[:20]!r}")
                prev = line


def spindle_revenue(stdout):
    rows = []
    for line in stdout.splitlines()[1:]:
        f = line.split()
        if len(f) == 3:
            rows.append(f"{f[1]}\t{f[2].replace('.', '')}")
    return rows


def spark_lines(stdout):
    return [l for l in stdout.splitlines() if l.strip()]


# --- the workloads ---------------------------------------------------------------

class Workload:
    """One workload: the command of each engine that runs it (Spindle first, then
    Spark, then the peers that have it) and check(engine, outs), which raises unless
    engine's result equals Spindle's; outs maps each engine to its stdout."""

    def __init__(self, name, desc, cmds, check, size_bytes=0, disk_factor=0, overhead=False):
        self.name, self.desc = name, desc
        self.cmds, self.check = cmds, check
        self.size_bytes, self.disk_factor = size_bytes, disk_factor
        # overhead: the workload measures per-task scheduling, not records; it runs
        # --overhead-runs times (see main).
        self.overhead = overhead


# Every engine, in the order the report lists them: Spindle, Spark, then the peers.
ENGINE_NAMES = {"spindle": "Spindle", "spark": "Spark", "duckdb": "DuckDB", "polars": "Polars",
                "go": "hand-written Go"}


def workloads(scale, data, bin_dir, out_dir):
    def od(engine, name):
        return os.path.join(out_dir, f"{engine}-{name}")

    sub = [os.path.join(bin_dir, "spindle"), "submit", "--master", "local[2]", "--driver-memory", "2g"]
    sp = [venv_python(), os.path.join(ROOT, "scripts", "bench", "spark_jobs.py")]
    duck = [venv_python(), os.path.join(ROOT, "scripts", "bench", "duckdb_jobs.py")]
    polars = [venv_python(), os.path.join(ROOT, "scripts", "bench", "polars_jobs.py")]
    gobase = [os.path.join(bin_dir, "baseline")]
    n_noop = 10000 * scale
    m_shuf = 1000  # the size: cheap on both engines

    def same_lines(name):
        def check(engine, outs):
            a, b = od("spindle", name), od(engine, name)
            if multiset(part_files(a)) != multiset(part_files(b)):
                raise AssertionError(f"outputs differ: {a} and {b}")
        return check

    def sort_check(engine, outs):
        want = multiset([data["records"]])
        for d in (od("spindle", "sort"), od(engine, "sort")):
            check_sorted(part_files(d))
            if multiset(part_files(d)) != want:
                raise AssertionError(f"{d} is not a permutation of the input")

    def revenue_check(engine, outs):
        _eq(spindle_revenue(outs["spindle"]), spark_lines(outs[engine]), f"revenue tables of Spindle and {engine}")

    def last_word(what):
        return lambda engine, outs: _eq(outs["spindle"].split()[-1:], outs[engine].split()[-1:], what)

    text, sales, records, fact, dim = data["text"], data["sales"], data["records"], data["fact"], data["dim"]
    return [
        Workload("wordcount", f"word count, {data['text_size'] >> 20} MiB of Zipf text", {
            "spindle": lambda: sub + [os.path.join(bin_dir, "wordcount"), text, od("spindle", "wordcount")],
            "spark": lambda: sp + ["wordcount", text, od("spark", "wordcount")],
            "duckdb": lambda: duck + ["wordcount", text, od("duckdb", "wordcount")],
            "go": lambda: gobase + ["wordcount", text, od("go", "wordcount")],
        }, same_lines("wordcount"), data["text_size"], 1),
        Workload("revenue", f"revenue by region, {data['sales_rows'] / 1e6:.1f} M CSV rows", {
            "spindle": lambda: sub + [os.path.join(bin_dir, "revenue"), sales],
            "spark": lambda: sp + ["revenue", sales],
            "duckdb": lambda: duck + ["revenue", sales],
            "polars": lambda: polars + ["revenue", sales],
            "go": lambda: gobase + ["revenue", sales],
        }, revenue_check, data["sales_size"], 1),
        Workload("sort", f"sort of {data['records_n'] / 1e6:.1f} M 100-byte records", {
            "spindle": lambda: sub + [os.path.join(bin_dir, "sort"), records, od("spindle", "sort")],
            "spark": lambda: sp + ["sort", records, od("spark", "sort")],
            "duckdb": lambda: duck + ["sort", records, od("duckdb", "sort")],
        }, sort_check, data["records_n"] * 100, 4),
        Workload("join", f"join of {data['fact_rows'] / 1e6:.1f} M facts with {data['dim_rows'] / 1e6:.2f} M dimension rows", {
            "spindle": lambda: sub + [os.path.join(bin_dir, "join"), fact, dim, od("spindle", "join")],
            "spark": lambda: sp + ["join", fact, dim, od("spark", "join")],
            "duckdb": lambda: duck + ["join", fact, dim, od("duckdb", "join")],
            "polars": lambda: polars + ["join", fact, dim, od("polars", "join")],
        }, same_lines("join"), os.path.getsize(fact) + os.path.getsize(dim), 1),
        Workload("noop-tasks", f"{n_noop} no-op tasks", {
            "spindle": lambda: sub + [os.path.join(bin_dir, "tasks"), "noop", str(n_noop)],
            "spark": lambda: sp + ["noop", str(n_noop)],
        }, last_word("task counts"), overhead=True),
        Workload("tiny-shuffle", f"{m_shuf} × {m_shuf} shuffle of tiny data", {
            "spindle": lambda: sub + [os.path.join(bin_dir, "tasks"), "shuffle", str(m_shuf), str(m_shuf)],
            "spark": lambda: sp + ["shuffle", str(m_shuf), str(m_shuf)],
        }, last_word("key counts"), overhead=True),
    ]


def _eq(a, b, what):
    if a != b or not a:
        raise AssertionError(f"{what} differ:\n{a[:5]}\n{b[:5]}")


def spark_conf(name, m_shuf):
    conf = {
        "spark.master": "local[2]",
        "spark.driver.memory": "2g",
        "spark.sql.adaptive.enabled": "true",
        "spark.ui.enabled": "false",
    }
    if name == "tiny-shuffle":
        # The workload measures per-task overhead: keep its reducers, as Spindle does.
        conf["spark.sql.shuffle.partitions"] = str(m_shuf)
        conf["spark.sql.adaptive.coalescePartitions.enabled"] = "false"
    return conf


# --- data ------------------------------------------------------------------------

def gen_data(scale, bin_dir):
    d = os.path.join(BUILD, f"data-x{scale}")
    os.makedirs(d, exist_ok=True)
    gen = os.path.join(bin_dir, "gen")
    spec = {
        "text": (["-kind", "text", "-size", f"{256 * scale}MB", "-seed", "7"], "text.txt"),
        "sales": (["-kind", "sales", "-size", f"{256 * scale}MB", "-seed", "5"], "sales.csv"),
        "records": (["-kind", "records", "-size", f"{128 * scale}MB", "-seed", "3"], "records.txt"),
        "fact": (["-kind", "fact", "-rows", str(2_000_000 * scale), "-dims", str(100_000 * scale), "-seed", "11"], "fact.csv"),
        "dim": (["-kind", "dim", "-rows", str(100_000 * scale), "-seed", "13"], "dim.csv"),
    }
    data = {}
    for key, (args, name) in spec.items():
        path = os.path.join(d, name)
        if not os.path.exists(path):
            sh(gen, *args, "-out", path)
        data[key] = path
    data["text_size"] = os.path.getsize(data["text"])
    data["sales_size"] = os.path.getsize(data["sales"])
    with open(data["sales"], "rb") as f:
        data["sales_rows"] = sum(1 for _ in f) - 1
    data["records_n"] = os.path.getsize(data["records"]) // 100
    data["fact_rows"] = 2_000_000 * scale
    data["dim_rows"] = 100_000 * scale
    return data


# --- workload 6: on YARN ---------------------------------------------------------

def yarn_compare(args, bin_dir):
    """Submit → first task running and submit → end of a small word count on the
    minicluster: Spindle cluster mode against spark-submit --deploy-mode cluster with
    Spark's jars pre-staged in HDFS (spark.yarn.archive), as a well-run cluster has them."""
    # A minicluster of the benchmark's own, so that nobody else's applications hold the
    # containers it waits for; it is stopped at the end unless it ran before.
    mc = [os.path.join(ROOT, "scripts", "minicluster")]
    mc_env = dict(os.environ, SPINDLE_MINICLUSTER_DIR=os.path.join(BUILD, "minicluster"))
    was_up = subprocess.run(mc + ["status"], env=mc_env, capture_output=True).returncode == 0
    up = subprocess.run(mc + ["up"], cwd=ROOT, env=mc_env, check=True, capture_output=True, text=True).stdout
    try:
        return _yarn_runs(args, bin_dir, up)
    finally:
        if not was_up and not args.keep_cluster:
            subprocess.run(mc + ["down"], env=mc_env, capture_output=True)


def _yarn_runs(args, bin_dir, up):
    import zipfile

    conf_dir = up.strip().split("HADOOP_CONF_DIR=")[-1]
    with open(os.path.join(conf_dir, "cluster.json")) as f:
        info = json.load(f)
    env = dict(os.environ, HADOOP_CONF_DIR=conf_dir, HADOOP_USER_NAME=os.environ.get("USER", "root"),
               PYSPARK_PYTHON=venv_python())
    hdfscp = os.path.join(bin_dir, "hdfscp")
    text = os.path.join(BUILD, "yarn-in.txt")
    if not os.path.exists(text):
        sh(os.path.join(bin_dir, "gen"), "-kind", "text", "-size", "16MB", "-seed", "17", "-out", text)
    sh(hdfscp, "put", text, "/bench/in.txt", env=env)
    import pyspark
    jars = os.path.join(os.path.dirname(pyspark.__file__), "jars")
    archive = os.path.join(BUILD, "spark-jars.zip")
    if not os.path.exists(archive):
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
            for j in sorted(os.listdir(jars)):
                z.write(os.path.join(jars, j), j)
    sh(hdfscp, "put", archive, "/bench/spark-jars.zip", env=env)
    events = os.path.join(BUILD, "spark-events")
    os.makedirs(events, exist_ok=True)
    spark_submit = os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-submit")
    sizes = ["--num-executors", "2", "--executor-memory", "512m", "--driver-memory", "512m"]
    res = {"spindle": {"first": [], "end": []}, "spark": {"first": [], "end": []}}
    tag = int(time.time())  # outputs of earlier runs stay apart
    for i in range(args.runs):
        for engine in ("spindle", "spark"):
            out = f"/bench/{tag}/out-{engine}-{i}"
            t0 = time.time()
            if engine == "spindle":
                cmd = [os.path.join(bin_dir, "spindle"), "submit", "--master", "yarn", "--deploy-mode", "cluster"] + sizes + [
                    "--conf", "spindle.yarn.maxAppAttempts=1", os.path.join(bin_dir, "wordcount"), "hdfs:///bench/in.txt", "hdfs://" + out]
            else:
                before = set(os.listdir(events))
                cmd = [spark_submit, "--master", "yarn", "--deploy-mode", "cluster"] + sizes + [
                    "--conf", "spark.yarn.archive=hdfs:///bench/spark-jars.zip",
                    "--conf", "spark.yarn.maxAppAttempts=1",
                    "--conf", "spark.eventLog.enabled=true", "--conf", "spark.eventLog.dir=file://" + events,
                    # One plain JSON file, which this script reads for the first task's launch.
                    "--conf", "spark.eventLog.compress=false", "--conf", "spark.eventLog.rolling.enabled=false",
                    "--conf", "spark.yarn.appMasterEnv.PYSPARK_PYTHON=" + venv_python(),
                    "--conf", "spark.executorEnv.PYSPARK_PYTHON=" + venv_python(),
                    "--conf", "spark.sql.adaptive.enabled=true",
                    # The minicluster's configuration names Hadoop's test-only StaticMapping
                    # for rack lookups, which Spark's shaded Hadoop client lacks.
                    "--conf", "spark.hadoop.net.topology.node.switch.mapping.impl=org.apache.hadoop.net.ScriptBasedMapping",
                    # Its core-site.xml and hdfs-site.xml are full dumps that hold YARN's
                    # defaults (${yarn.resourcemanager.hostname}:8030); in Spark's AM they
                    # load after yarn-site.xml and win, and the AM dials 0.0.0.0:8030 for
                    # ever. spark.hadoop.* settings are applied last.
                    "--conf", "spark.hadoop.yarn.resourcemanager.scheduler.address=" + info["scheduler"],
                    "--conf", "spark.hadoop.yarn.resourcemanager.address=" + info["rm"],
                    os.path.join(ROOT, "scripts", "bench", "spark_jobs.py"), "wordcount", "hdfs:///bench/in.txt", "hdfs://" + out]
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            end = time.time() - t0
            if p.returncode != 0:
                raise RuntimeError(f"{engine} on YARN exited {p.returncode}:\n{(p.stdout + p.stderr)[-3000:]}")
            if engine == "spindle":
                app = re.search(r"application_\d+_\d+", p.stdout + p.stderr).group(0)
                first = spindle_first_task(info, app)
            else:
                new = [e for e in os.listdir(events) if e not in before]
                first = spark_first_task(os.path.join(events, new[0]))
            res[engine]["first"].append(first - t0)
            res[engine]["end"].append(end)
            print(f"yarn run {i + 1} {engine}: first task after {first - t0:.2f}s, end after {end:.2f}s", flush=True)
        a, b = os.path.join(BUILD, "yarn-out-spindle"), os.path.join(BUILD, "yarn-out-spark")
        for d, engine in ((a, "spindle"), (b, "spark")):
            shutil.rmtree(d, ignore_errors=True)
            sh(hdfscp, "get", f"/bench/{tag}/out-{engine}-{i}", d, env=env)
        if multiset(part_files(a)) != multiset(part_files(b)):
            raise AssertionError("the word counts on YARN differ")
    return res


def spindle_first_task(info, app):
    """The earliest task start an executor of app logged, in seconds since the epoch."""
    first = None
    for node in info["nodes"]:
        for d in node["logDirs"]:
            base = os.path.join(d, app)
            for c in os.listdir(base) if os.path.isdir(base) else []:
                try:
                    with open(os.path.join(base, c, "stderr")) as f:
                        for line in f:
                            if '"task finished"' in line:
                                t = parse_time(json.loads(line)["started"])
                                first = t if first is None else min(first, t)
                except OSError:
                    pass
    if first is None:
        raise RuntimeError(f"no task start in the executor logs of {app}")
    return first


def parse_time(s):
    # RFC 3339 with nanoseconds, which Python's fromisoformat reads to microseconds.
    if "." in s:
        head, frac = s.split(".", 1)
        digits = "".join(ch for ch in frac if ch.isdigit())
        zone = frac[len(digits):]
        s = f"{head}.{digits[:6]}{zone}"
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def spark_first_task(path):
    """The earliest task launch in a Spark event log, in seconds since the epoch. Spark 4
    writes rolling logs by default: a directory of events_<n>_* files."""
    files = [path]
    if os.path.isdir(path):
        files = sorted((os.path.join(path, f) for f in os.listdir(path) if f.startswith("events_")),
                       key=lambda f: int(os.path.basename(f).split("_")[1]))
    first = None
    for name in files:
        with open(name) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("Event") == "SparkListenerTaskStart":
                    t = ev["Task Info"]["Launch Time"] / 1000
                    first = t if first is None else min(first, t)
    if first is None:
        raise RuntimeError(f"no task start in {path}")
    return first


# --- report ----------------------------------------------------------------------

def machine():
    import psutil
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    return (f"{cpu}, {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}; {go}; {java}; PySpark {PYSPARK.split('==')[1]}")


def write_report(results, limits, args, data, yarn=None, yarn_err=None):
    lines = [
        "# Benchmarks: Spindle, Apache Spark, DuckDB, Polars and hand-written Go side by side",
        "",
        f"Measured {datetime.date.today().isoformat()} by `make bench-compare` "
        f"(`python3 scripts/bench/compare.py --scale {args.scale} --runs {args.runs}`), "
        "every engine on the same machine in the same run, in turn.",
        "",
        f"Machine: {machine()}.",
        "",
        (f"Load average (1 min) before the local runs: {min(LOADS):.1f} to {max(LOADS):.1f}, median "
         f"{statistics.median(LOADS):.1f} on {os.cpu_count()} CPUs (other work on the machine shares them; "
         "taking the engines in turn spreads it over all)." if LOADS else ""),
        "",
        "Spindle runs `spindle submit --master local[2] --driver-memory 2g <job>`; Spark runs the "
        "same workload with the DataFrame API and built-in functions only, `local[2]`, "
        "`spark.driver.memory=2g`, adaptive execution on (as shipped). DuckDB (`duckdb_jobs.py`: one SQL "
        "query per workload, `SET threads = 2`) and Polars (`polars_jobs.py`: lazy API, streaming engine, "
        "`POLARS_MAX_THREADS=2`) run from PyPI in the same virtualenv as PySpark; the hand-written Go "
        "(`scripts/bench/baseline`, no engine: two goroutines, a byte scanner and a map each) is the "
        "yardstick of per-record cost. Times are of the whole "
        "command (JVM, Python or Go process start included); CPU is user+system of the process tree; RSS "
        "is the tree's peak. Every run's result was checked: each engine's output equals Spindle's "
        "(order-independent digest of the output lines; for sort, also sorted and a permutation "
        "of the input). Each run starts with the next engine in turn (A B C, B C A, ...). "
        f"The scheduling-overhead workloads (no-op tasks, tiny shuffle) run {min(args.runs, args.overhead_runs)} "
        "time(s) (`--overhead-runs`): their runs spread by a few per cent, and Spark's take over a minute each.",
        "",
        "| workload | engine | wall median (s) | min | max | CPU median (s) | peak RSS (MiB) "
        "| Spindle/engine wall | Spindle/engine CPU |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ratios = {}
    med = lambda m, k: statistics.median(m[k])
    for w, r in results:
        sw = r["spindle"]
        ratios[w.name] = med(sw, "wall") / med(r["spark"], "wall")
        for engine in ENGINE_NAMES:
            if engine not in r:
                continue
            m = r[engine]
            rel = ("", "") if engine == "spindle" else (fmt_ratio(med(sw, "wall") / med(m, "wall")),
                                                       fmt_ratio(med(sw, "cpu") / max(med(m, "cpu"), 1e-3)))
            lines.append(f"| {w.desc} | {ENGINE_NAMES[engine]} | {med(m, 'wall'):.2f} | {min(m['wall']):.2f} | "
                         f"{max(m['wall']):.2f} | {med(m, 'cpu'):.1f} | "
                         f"{max(m['rss']) / 2**20:.0f} | {rel[0]} | {rel[1]} |")
    lines += ["", "## The issue's goals in this run", "", *goals(results, args), ""]
    lines += ["", "## On YARN (the minicluster)", ""]
    if yarn:
        lines += [
            "A word count of 16 MB in HDFS, 2 executors of 512 MB, cluster mode: Spindle's `spindle submit "
            "--master yarn --deploy-mode cluster` against PySpark's `spark-submit --master yarn --deploy-mode "
            "cluster` with Spark's jars pre-staged in HDFS (`spark.yarn.archive`). First task: the earliest task "
            "start in the executors' logs (Spindle) or the event log (Spark), from the moment the submit command "
            "started. Both outputs were checked equal.",
            "",
            "| engine | submit → first task (s), median | min | max | submit → end (s), median | min | max |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for engine in ("spindle", "spark"):
            f, e = yarn[engine]["first"], yarn[engine]["end"]
            lines.append(f"| {engine.capitalize()} | {statistics.median(f):.2f} | {min(f):.2f} | {max(f):.2f} | "
                         f"{statistics.median(e):.2f} | {min(e):.2f} | {max(e):.2f} |")
        ratios["yarn-first-task"] = statistics.median(yarn["spindle"]["first"]) / statistics.median(yarn["spark"]["first"])
        ratios["yarn-end"] = statistics.median(yarn["spindle"]["end"]) / statistics.median(yarn["spark"]["end"])
    else:
        lines.append(f"Not measured in this run: {yarn_err or 'skipped (--no-yarn)'}.")
    lines += [
        "",
        "![Spindle/Spark wall-time ratio per workload](docs/bench-ratios.png)",
        "",
        "## Physical limits, measured in the same run",
        "",
        f"memcpy on one core {limits['memcpy_mbps']:.0f} MB/s; loopback TCP {limits['loopback_tcp_mbps']:.0f} MB/s; "
        f"sequential disk write {limits['disk_write_mbps']:.0f} MB/s (fsync'd), read {limits['disk_read_mbps']:.0f} MB/s "
        "(the kernel may serve it from the page cache).",
        "",
        "| workload | bytes through disk per second, Spindle | limit it is held against | share of the limit "
        "| input per CPU-second, Spindle | share of one core's memcpy |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for w, r in results:
        if not w.size_bytes:
            continue
        rate = w.size_bytes * w.disk_factor / statistics.median(r["spindle"]["wall"]) / 1e6
        # Reading jobs are held against the read rate, sort (which writes 3 times what
        # it reads) against the write rate.
        which, limit = ("disk write", limits["disk_write_mbps"]) if w.disk_factor > 1 else ("disk read", limits["disk_read_mbps"])
        # The input sits in the page cache, so the other bound is memory: how many input
        # bytes each CPU-second got through, against what one core can merely copy.
        per_cpu = w.size_bytes / max(statistics.median(r["spindle"]["cpu"]), 1e-3) / 1e6
        lines.append(f"| {w.name} | {rate:.0f} MB/s | {which} {limit:.0f} MB/s | {rate / limit * 100:.0f}% "
                     f"| {per_cpu:.0f} MB/s | {per_cpu / limits['memcpy_mbps'] * 100:.1f}% |")
    lines += [
        "",
        "Bytes through disk count the input once (word count, revenue, join), and for sort the "
        "input, the shuffle write and read, and the output (4 × input). Input files sit in the "
        "page cache after the first run, so reading them is bounded by memory, not disk.",
        "",
    ]
    # frames (issue 14): the seed's query on Parquet, from frames.py's last run's file.
    import frames
    lines.append(frames.saved_section(BUILD))
    if args.notes and os.path.exists(args.notes):
        with open(args.notes) as f:
            lines.append(f.read())
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    chart(ratios)


def goals(results, args):
    """The goals of issue 16, each met or not in this run (they are set for --scale 8)."""
    r = {w.name: (w, res) for w, res in results}
    med = lambda name, engine, k: statistics.median(r[name][1][engine][k])
    out = []

    def goal(text, ok, detail):
        out.append(f"- {'met' if ok else 'NOT met'}: {text} ({detail})")

    for name in r:
        ratio = med(name, "spindle", "wall") / med(name, "spark", "wall")
        goal(f"{name}: Spindle/Spark wall ≤ 0.3", ratio <= 0.3, f"{fmt_ratio(ratio)}")
    for name in ("wordcount", "revenue"):
        if name in r and "go" in r[name][1]:
            x = med(name, "spindle", "cpu") / med(name, "go", "cpu")
            goal(f"{name}: CPU within 1.5× the hand-written Go's", x <= 1.5,
                 f"{med(name, 'spindle', 'cpu'):.1f} s against {med(name, 'go', 'cpu'):.1f} s, {x:.2f}×")
    if "wordcount" in r and "duckdb" in r["wordcount"][1]:
        a, b = med("wordcount", "spindle", "cpu"), med("wordcount", "duckdb", "cpu")
        goal("word count: CPU below DuckDB's", a < b, f"{a:.1f} s against {b:.1f} s")
    if "sort" in r:
        w, res = r["sort"]
        x = max(res["spindle"]["rss"]) / w.size_bytes
        goal("sort: peak RSS ≤ 1.2× its input", x <= 1.2,
             f"{max(res['spindle']['rss']) / 2**20:.0f} MiB for {w.size_bytes / 2**20:.0f} MiB, {x:.2f}×")
    if args.scale != 8:
        out.append(f"\nThe goals are set for the nominal scale (`--scale 8`); this run is `--scale {args.scale}`, "
                   "where process start weighs more in every ratio.")
    return out


def fmt_ratio(r):
    """Two significant digits: the scheduler workloads' ratios are far below 0.01."""
    return f"{r:.2g}" if r < 0.1 else f"{r:.2f}"


def chart(ratios):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(ratios)
    vals = [ratios[n] for n in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(names, vals, color=["#2b8a3e" if v < 1 else "#c92a2a" for v in vals])
    ax.axhline(1, color="black", linewidth=0.8)
    ax.tick_params(axis="x", labelrotation=30)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.set_ylabel("Spindle / Spark wall time")
    ax.set_title("Below 1: Spindle faster")
    for i, v in enumerate(vals):
        ax.text(i, v, fmt_ratio(v), ha="center", va="bottom")
    fig.tight_layout()
    os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
    fig.savefig(os.path.join(ROOT, "docs", "bench-ratios.png"), dpi=100)


# --- main ------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--overhead-runs", type=int, default=1,
                    help="runs of the scheduling-overhead workloads (no-op tasks, tiny shuffle), at most --runs: "
                         "they spread by a few per cent between runs, and Spark's 10,000 tasks take over a minute each")
    ap.add_argument("--only", default="", help="comma-separated workloads to run")
    ap.add_argument("--no-yarn", action="store_true", help="skip workload 6 (YARN)")
    ap.add_argument("--keep-cluster", action="store_true",
                    help="leave the benchmark's minicluster (build/bench/minicluster) running")
    ap.add_argument("--notes", default=os.path.join(ROOT, "scripts", "bench", "notes.md"),
                    help="Markdown appended to BENCHMARKS.md (profiles, what remains)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite BENCHMARKS.md and the chart from the last run's build/bench/results.json")
    args = ap.parse_args(argv)
    bootstrap(argv)
    saved = os.path.join(BUILD, "results.json")
    if args.report_only:
        with open(saved) as f:
            run = json.load(f)
        args.scale, args.runs = run["scale"], run["runs"]
        args.overhead_runs = run.get("overhead_runs", args.runs)
        LOADS.extend(run["loads"])
        results = [(types.SimpleNamespace(**w), w["r"]) for w in run["workloads"]]
        write_report(results, run["limits"], args, None, run["yarn"], run["yarn_err"])
        print("wrote BENCHMARKS.md and docs/bench-ratios.png")
        return

    bin_dir = os.path.join(BUILD, "bin")
    sh("go", "build", "-o", bin_dir + "/", "./cmd/spindle", "./examples/wordcount", "./examples/revenue",
       "./examples/sort", "./examples/gen", "./examples/bench/join", "./examples/bench/tasks",
       "./scripts/bench/hdfscp", cwd=ROOT)
    sh("go", "build", "-o", os.path.join(bin_dir, "baseline"), "./scripts/bench/baseline", cwd=ROOT)
    data = gen_data(args.scale, bin_dir)
    out_dir = os.path.join(BUILD, "out")
    limits = json.loads(subprocess.run(["go", "run", "./scripts/bench/limits", "-dir", BUILD, "-size", "1GB"],
                                       cwd=ROOT, check=True, capture_output=True, text=True).stdout)

    m_shuf = 1000
    # Every engine gets 2 threads, as local[2] has 2 slots.
    env = dict(os.environ, PYSPARK_PYTHON=venv_python(), POLARS_MAX_THREADS="2")
    results = []
    for w in workloads(args.scale, data, bin_dir, out_dir):
        if args.only and w.name not in args.only.split(","):
            continue
        r = {e: {"wall": [], "cpu": [], "rss": []} for e in w.cmds}
        wenv = dict(env, SPARK_CONF_JSON=json.dumps(spark_conf(w.name, m_shuf)))
        engines = list(w.cmds)
        for i in range(min(args.runs, args.overhead_runs) if w.overhead else args.runs):
            outs = {}
            # Each run starts with another engine, so that none always runs first
            # (or always after the same one) on a machine others share.
            for engine in engines[i % len(engines):] + engines[:i % len(engines)]:
                shutil.rmtree(os.path.join(out_dir, f"{engine}-{w.name}"), ignore_errors=True)
                os.makedirs(out_dir, exist_ok=True)
                LOADS.append(os.getloadavg()[0])
                wall, cpu, rss, stdout = measure(w.cmds[engine](), env=wenv)
                outs[engine] = stdout
                for k, v in (("wall", wall), ("cpu", cpu), ("rss", rss)):
                    r[engine][k].append(v)
                print(f"{w.name} run {i + 1} {engine}: {wall:.2f}s wall, {cpu:.1f}s CPU, {rss / 2**20:.0f} MiB", flush=True)
            for engine in engines[1:]:
                w.check(engine, outs)
        results.append((w, r))
    # frames (issue 14): the seed's query on Parquet, Spindle frames, Spark and DuckDB.
    if not args.only or "frames" in args.only.split(","):
        import frames
        frames.save(BUILD, frames.run(BUILD, bin_dir, args.scale, args.runs, measure, venv_python(), env))
    yarn, yarn_err = None, None
    if not args.no_yarn:
        try:
            yarn = yarn_compare(args, bin_dir)
        except (subprocess.CalledProcessError, RuntimeError, OSError) as e:
            # Reported in BENCHMARKS.md as not measured, with the reason; the local
            # workloads stand on their own.
            yarn_err = str(e).strip().splitlines()[-1][:300] if str(e).strip() else repr(e)
            print(f"yarn: {e}", file=sys.stderr)
    with open(saved, "w") as f:
        json.dump({"scale": args.scale, "runs": args.runs, "overhead_runs": args.overhead_runs, "loads": LOADS, "limits": limits,
                   "yarn": yarn, "yarn_err": yarn_err,
                   "workloads": [{"name": w.name, "desc": w.desc, "size_bytes": w.size_bytes,
                                  "disk_factor": w.disk_factor, "r": r} for w, r in results]}, f)
    write_report(results, limits, args, data, yarn, yarn_err)
    print("wrote BENCHMARKS.md and docs/bench-ratios.png")


if __name__ == "__main__":
    main(sys.argv[1:])
