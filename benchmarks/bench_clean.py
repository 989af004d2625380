"""Throughput and memory of `sieve clean` against the reference pipeline, on a corpus built
from the project's dev data.

Usage:
  python benchmarks/bench_clean.py [--copies 2] [--shards 4] [--repeats 1] [--warc] [--parquet] [--outputs] [--json]
  python benchmarks/bench_clean.py --memory 100,1000      # peak RSS at 100 MB and 1 GB of input
  python benchmarks/bench_clean.py --memory 100 --warc    # the same of WARC input (--parquet: Parquet)
  python benchmarks/bench_clean.py --short                # a record per paragraph: many short records

Throughput: the documents of ../shared/data/{aeb,traf,mixed}-dev.jsonl.gz (gold stripped, blocks as
strings) repeated ``--copies`` times and cut into ``--shards`` JSONL shards. Timed as child
processes, wall clock, start-up included, alternating in each round:

* ``ref``: ../shared/eval/ref_pipeline.py (jusText on the blocks, then fastText lid.176 on each
  kept block; one process);
* ``sieve-1`` / ``sieve-2``: ``sieve clean CORPUS -o OUT --workers 1`` / ``--workers 2``;
* after each round, the machine's ``parallel_ceiling``: the same pure-Python work twice in a
  row, then in two processes side by side; the 2-workers ratio cannot beat it;
* ``floor``: ``_floor_ref.py clean``, what any one-process clean must do with no block model
  (read, fastText once per distinct block text of the run, write gzip shards): how much
  of the 1-worker target (half the reference's time) is left for a block model.

With ``--warc`` the raw pages of ../shared/data/html are written as WARC response records
(``.warc.gz`` shards, repeated the same way) and ``sieve clean`` is timed on them too. With
``--parquet`` the same records are written as Parquet shards too (``blocks`` a list of strings,
snappy, row groups of 1,000 rows) and timed the same way; with ``--memory``, the corpus is Parquet
(with ``--warc``, WARC: the raw pages repeated to about N MB of uncompressed WARC records).
With ``--outputs``, ``sieve-1`` is timed again writing ``--compression zst`` and ``--format parquet``
outputs, and the size of each output is given.

Memory (``--memory``): a corpus of about N MB (repeated shards) is cleaned with 2 workers while
the resident set size of the whole process tree (the command and its workers) is sampled every
50 ms; the peak is reported per size. Beside it, the peak of the tree's proportional set size
(PSS: a page shared by processes, such as the code of a library or what a forked worker still
shares with the command, counted once in all, not once per process): what the tree takes
of the machine's memory.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SIEVE_SHARED") or REPO.parent / "shared")  # data + reference runs
DATA = SHARED / "data"
REF_PIPELINE = SHARED / "eval" / "ref_pipeline.py"
FLOOR_HELPER = Path(__file__).resolve().parent / "_floor_ref.py"
PARTS = ("aeb-dev", "traf-dev", "mixed-dev")


def sieve_command() -> list[str]:
    script = Path(sysconfig.get_path("scripts")) / "sieve"
    return [str(script)] if script.is_file() else [shutil.which("sieve") or "sieve"]


#: With ``--short``: a record per paragraph of at least this many characters.
SHORT_MIN_CHARS = 40


def load_records(short: bool = False) -> list[dict]:
    """The dev documents as records; with ``short``, each of their paragraphs of
    ``SHORT_MIN_CHARS`` or more a record of its own (a corpus of tweets, comments,
    short posts: what a record costs besides its blocks)."""
    records = []
    for part in PARTS:
        with gzip.open(DATA / f"{part}.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                texts = [b["text"] for b in d["blocks"]]
                if short:
                    records += [{"id": f"{d['id']}/{i}", "url": d.get("url"), "html": None, "blocks": [t]}
                                for i, t in enumerate(texts) if len(t) >= SHORT_MIN_CHARS]
                else:
                    records.append({"id": d["id"], "url": d.get("url"), "html": d.get("html"), "blocks": texts})
    return records


def write_jsonl_corpus(records: list[dict], folder: Path, copies: int, shards: int) -> tuple[int, int]:
    folder.mkdir(parents=True, exist_ok=True)
    outs = [open(folder / f"shard-{i:03d}.jsonl", "w", encoding="utf-8") for i in range(shards)]
    n = size = 0
    for k in range(copies):
        for rec in records:
            line = json.dumps({"id": f"{rec['id']}#{k}", "url": rec["url"], "blocks": rec["blocks"]},
                              ensure_ascii=False) + "\n"
            outs[n % shards].write(line)
            n += 1
            size += len(line.encode("utf-8"))
    for f in outs:
        f.close()
    return n, size


def write_parquet_corpus(records: list[dict], folder: Path, copies: int, shards: int) -> tuple[int, int]:
    """The corpus of ``write_jsonl_corpus`` as Parquet shards: the same rows, the same shards,
    written 1,000 rows at a time (a row group each)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("id", pa.string()), ("url", pa.string()), ("blocks", pa.list_(pa.string()))])
    writers = [pq.ParquetWriter(folder / f"shard-{i:03d}.parquet", schema) for i in range(shards)]
    pending: list[list[dict]] = [[] for _ in range(shards)]

    def flush(i: int) -> None:
        writers[i].write_table(pa.Table.from_pylist(pending[i], schema=schema))
        pending[i] = []

    n = 0
    for k in range(copies):
        for rec in records:
            pending[n % shards].append({"id": f"{rec['id']}#{k}", "url": rec["url"], "blocks": rec["blocks"]})
            if len(pending[n % shards]) == 1000:
                flush(n % shards)
            n += 1
    for i, writer in enumerate(writers):
        if pending[i]:
            flush(i)
        writer.close()
    return n, sum(path.stat().st_size for path in folder.glob("*.parquet"))


def _warc_record(uri: str, body: bytes, n: int) -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\n"
            f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{n:012d}>\r\n"
            f"WARC-Date: 2024-01-01T00:00:00Z\r\nContent-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http)}\r\n\r\n").encode()
    return head + http + b"\r\n\r\n"


def warc_pages(records: list[dict]) -> list[tuple[str, bytes]]:
    """The raw page (../shared/data/html) of each record that has one, with its URL."""
    pages = []
    for rec in records:
        if rec.get("html"):
            path = DATA / rec["html"]
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rb") as f:
                pages.append((rec["url"] or rec["id"], f.read()))
    return pages


def write_warc_corpus(records: list[dict], folder: Path, copies: int, shards: int,
                      limit: int | None = None) -> tuple[int, int]:
    """The raw pages as WARC response records, repeated ``copies`` times (with ``limit``:
    until that many bytes are written, whatever ``copies``), in ``shards`` ``.warc.gz``
    shards: the records written, and their bytes before compression."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = warc_pages(records)
    outs = [gzip.open(folder / f"shard-{i:03d}.warc.gz", "wb", compresslevel=1) for i in range(shards)]
    n = size = 0
    for _ in range(copies if limit is None else limit // sum(len(body) for _, body in pages) + 1):
        for uri, body in pages:
            if limit is not None and size >= limit:
                break
            record = _warc_record(uri, body, n)
            outs[n % shards].write(record)
            n += 1
            size += len(record)
    for f in outs:
        f.close()
    return n, size


def tree_rss_mb(pid: int, pss: bool = False, each: dict[int, float] | None = None) -> float:
    """Resident set size of ``pid`` and all its descendants (Linux /proc), MB; with
    ``pss``, their proportional set size (shared pages divided among the processes
    sharing them; 0 where /proc/PID/smaps_rollup cannot be read). ``each`` keeps each
    process's largest figure seen, by pid."""
    total = 0
    todo = [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        p = todo.pop()
        try:
            if pss:
                with open(f"/proc/{p}/smaps_rollup", encoding="ascii") as f:
                    total += next((int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:")), 0)
            else:
                with open(f"/proc/{p}/statm", encoding="ascii") as f:
                    own = int(f.read().split()[1]) * page
                total += own
                if each is not None:
                    each[p] = max(each.get(p, 0.0), own / 2**20)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", encoding="ascii") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total / 2**20


def timed(cmd: list[str], env: dict[str, str] | None = None, sample: bool = False) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    peak = peak_pss = 0.0
    each: dict[int, float] = {}  # each process's own peak RSS
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak, peak_pss
        while not stop.is_set():
            peak = max(peak, tree_rss_mb(proc.pid, each=each))
            peak_pss = max(peak_pss, tree_rss_mb(proc.pid, pss=True))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    if sample:
        watcher.start()
    out, err = proc.communicate()
    stop.set()
    if sample:
        watcher.join()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"bench_clean: {' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": peak, "peak_pss_mb": peak_pss, "stdout": out.decode(),
            "process_peaks_mb": sorted(each.values(), reverse=True)}


CEILING_CHILD = r"""
import sys, time
from multiprocessing import get_context
def burn(n):
    s = 0
    for i in range(n):
        s += i * i
    return s
if __name__ == "__main__":
    n = int(sys.argv[1])
    t = time.perf_counter(); burn(n); burn(n); serial = time.perf_counter() - t
    with get_context("spawn").Pool(2) as pool:
        pool.map(burn, [1000, 1000])  # workers started before the clock
        t = time.perf_counter(); pool.map(burn, [n, n]); parallel = time.perf_counter() - t
    print(serial / parallel)
"""


def parallel_ceiling() -> float:
    """What this machine gives two processes at once: the speedup of the same pure-Python
    work run twice in a row and then in two processes side by side (1.0 to 2.0; on a
    shared VM often well under 2), the ceiling of the 2-workers-vs-1 ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "ceiling.py"
        script.write_text(CEILING_CHILD)
        out = subprocess.run([sys.executable, str(script), "20000000"], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def throughput(args: argparse.Namespace, work: Path, records: list[dict]) -> dict:
    corpus = work / "jsonl"
    n_docs, size = write_jsonl_corpus(records, corpus, args.copies, args.shards)
    env = dict(os.environ, LID=str(REPO / "models" / "lid.ftz"))
    sides = {
        "ref": lambda: timed([sys.executable, str(REF_PIPELINE), str(corpus)], env=env),
        "sieve-1": lambda: timed([*sieve_command(), "-q", "clean", str(corpus), "-o", str(work / "out1"),
                                  "--workers", "1", "--overwrite"]),
        "sieve-2": lambda: timed([*sieve_command(), "-q", "clean", str(corpus), "-o", str(work / "out2"),
                                  "--workers", "2", "--overwrite"]),
        "floor": lambda: timed([sys.executable, str(FLOOR_HELPER), "clean", str(corpus), str(work / "outf"),
                                str(REPO / "models" / "lid.ftz")]),
    }
    warc_docs = 0
    if args.warc:
        warc_docs, _ = write_warc_corpus(records, work / "warc", args.copies, args.shards)
        sides["sieve-1-warc"] = lambda: timed([*sieve_command(), "-q", "clean", str(work / "warc"), "-o",
                                               str(work / "outw1"), "--workers", "1", "--overwrite"])
        sides["sieve-2-warc"] = lambda: timed([*sieve_command(), "-q", "clean", str(work / "warc"), "-o",
                                               str(work / "outw2"), "--workers", "2", "--overwrite"])
    if args.parquet:
        write_parquet_corpus(records, work / "parquet", args.copies, args.shards)
        for workers in (1, 2):
            sides[f"sieve-{workers}-parquet"] = (
                lambda w=workers: timed([*sieve_command(), "-q", "clean", str(work / "parquet"), "-o",
                                         str(work / f"outp{w}"), "--workers", str(w), "--overwrite"]))
    if args.outputs:  # the same run as sieve-1, writing zstd JSON lines or Parquet
        for name, flags in (("zst", ["--compression", "zst"]), ("parquet-out", ["--format", "parquet"])):
            sides[f"sieve-1-{name}"] = (
                lambda n=name, f=flags: timed([*sieve_command(), "-q", "clean", str(corpus), "-o",
                                               str(work / f"out-{n}"), "--workers", "1", "--overwrite", *f]))
    runs: dict[str, list[float]] = {k: [] for k in sides}
    ceilings = []
    for _ in range(args.repeats):
        for name, fn in sides.items():
            runs[name].append(fn()["seconds"])
        ceilings.append(parallel_ceiling())
    med = {k: statistics.median(v) for k, v in runs.items()}
    docs = {k: (warc_docs if "warc" in k else n_docs) for k in med}
    shard_files = (".gz", ".zst", ".parquet")
    written = {name: sum(f.stat().st_size for f in (work / folder).rglob("*") if f.suffix in shard_files)
               for name, folder in (("gz", "out1"), ("zst", "out-zst"), ("parquet", "out-parquet-out"))
               if (work / folder).is_dir()}
    return {
        "output_bytes": written,
        "documents": n_docs, "bytes": size, "warc_documents": warc_docs, "shards": args.shards,
        "seconds": med, "docs_per_s": {k: docs[k] / med[k] for k in med}, "runs": runs,
        "ratio_sieve1_vs_ref": med["ref"] / med["sieve-1"],
        "ratio_sieve2_vs_sieve1": med["sieve-1"] / med["sieve-2"],
        "floor_share_of_target": med["floor"] / (med["ref"] / 2),
        "parallel_ceiling": statistics.median(ceilings), "parallel_ceiling_runs": ceilings,
    }


def memory(args: argparse.Namespace, work: Path, records: list[dict]) -> list[dict]:
    out = []
    fmt = "warc" if args.warc else "parquet" if args.parquet else "jsonl"
    if fmt == "warc":  # the size of a copy: its WARC records, uncompressed
        one_copy = sum(len(_warc_record(uri, body, 0)) for uri, body in warc_pages(records))
    else:
        one_copy = sum(len(json.dumps({"id": r["id"], "url": r["url"], "blocks": r["blocks"]}, ensure_ascii=False))
                       for r in records)
    for mb in (int(x) for x in args.memory.split(",")):
        copies = max(1, round(mb * 2**20 / one_copy))
        corpus = work / f"mem-{mb}"
        if fmt == "warc":  # the pages repeated to N MB
            n_docs, size = write_warc_corpus(records, corpus, copies, max(args.shards, 4), limit=mb * 2**20)
        else:
            write = write_parquet_corpus if fmt == "parquet" else write_jsonl_corpus
            n_docs, size = write(records, corpus, copies, max(args.shards, 4))
        on_disk = sum(f.stat().st_size for f in corpus.iterdir())
        res = timed([*sieve_command(), "-q", "clean", str(corpus), "-o", str(work / f"memout-{mb}"),
                     "--workers", "2", "--overwrite"], sample=True)
        out.append({"input_mb": size / 2**20, "on_disk_mb": on_disk / 2**20, "format": fmt,
                    "documents": n_docs, "seconds": res["seconds"],
                    "peak_rss_mb_all_processes": res["peak_rss_mb"], "peak_pss_mb_all_processes": res["peak_pss_mb"],
                    # each process's own peak (the largest first): whether a process grows with the
                    # input, or the processes' peaks coincide more often in a longer run
                    "peak_rss_mb_each_process": [round(m, 1) for m in res["process_peaks_mb"]]})
        shutil.rmtree(corpus)
        shutil.rmtree(work / f"memout-{mb}", ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=1, help="times the dev documents are repeated [default: 1]")
    ap.add_argument("--shards", type=int, default=4, help="JSONL shards of the corpus [default: 4]")
    ap.add_argument("--repeats", type=int, default=1, help="timed rounds [default: 1]")
    ap.add_argument("--warc", action="store_true",
                    help="also time WARC input of the raw pages (with --memory: a WARC corpus)")
    ap.add_argument("--parquet", action="store_true",
                    help="also time Parquet shards of the same records (with --memory: a Parquet corpus)")
    ap.add_argument("--outputs", action="store_true",
                    help="also time 1 worker writing zstd JSON lines (--compression zst) and Parquet (--format "
                         "parquet), and give each output's size")
    ap.add_argument("--memory", default=None, help="comma-separated input sizes in MB for the memory run")
    ap.add_argument("--short", action="store_true",
                    help=f"a record per paragraph ({SHORT_MIN_CHARS}+ characters) of the dev documents: "
                         "the cost of many short records")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    if args.short and (args.warc or args.memory):
        sys.exit("bench_clean: --short is for the JSONL throughput run")
    if args.memory and args.warc and args.parquet:
        sys.exit("bench_clean: the memory run is of one format: --warc or --parquet")
    if not DATA.is_dir() or not REF_PIPELINE.is_file():
        sys.exit(f"bench_clean: needs the project's dev data and reference pipeline in {SHARED}")
    records = load_records(args.short)
    with tempfile.TemporaryDirectory(prefix="sieve-bench-clean-") as tmp:
        work = Path(tmp)
        figures: dict = {}
        if args.memory:
            figures["memory"] = memory(args, work, records)
        else:
            figures["throughput"] = throughput(args, work, records)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    buf = io.StringIO()
    if "throughput" in figures:
        t = figures["throughput"]
        print(f"{t['documents']:,} documents ({t['bytes'] / 2**20:.0f} MB JSONL) in {t['shards']} shards; "
              f"median of {args.repeats} round(s), wall clock incl. start-up", file=buf)
        for k in t["seconds"]:
            print(f"  {k:<13} {t['seconds'][k]:7.1f} s  {t['docs_per_s'][k]:7.1f} docs/s", file=buf)
        print(f"  sieve 1 worker vs reference: {t['ratio_sieve1_vs_ref']:.2f}x (target >= 2x)", file=buf)
        print(f"  sieve 2 workers vs 1 worker: {t['ratio_sieve2_vs_sieve1']:.2f}x (target >= 1.8x); this machine gives "
              f"two processes of pure-Python work {t['parallel_ceiling']:.2f}x one (median; runs "
              f"{' '.join(f'{c:.2f}' for c in t['parallel_ceiling_runs'])})", file=buf)
        print(f"  floor (no block model) takes {t['floor_share_of_target']:.0%} of the 1-worker target "
              f"(reference / 2 = {t['seconds']['ref'] / 2:.1f} s)", file=buf)
        if len(t["output_bytes"]) > 1:
            print("  outputs: " + ", ".join(f"{k} {v / 2**20:.2f} MB" for k, v in t["output_bytes"].items()), file=buf)
    for m in figures.get("memory", []):
        disk = f", {m['on_disk_mb']:.0f} MB on disk" if m["format"] == "warc" else ""
        print(f"  {m['input_mb']:7.0f} MB input ({m['format']}{disk}), {m['documents']:,} documents, 2 workers: peak "
              f"RSS {m['peak_rss_mb_all_processes']:.0f} MB (all processes; PSS "
              f"{m['peak_pss_mb_all_processes']:.0f} MB), {m['seconds']:.0f} s; each process's own peak: "
              f"{' / '.join(f'{x:.0f}' for x in m['peak_rss_mb_each_process'][:4])} MB", file=buf)
    print(buf.getvalue(), end="")


if __name__ == "__main__":
    main()
