"""Speed of `sieve score` against jusText and the project's reference pipeline, on the same documents.

Usage:
  python benchmarks/bench_score.py [--data ../shared/data/aeb-dev.jsonl.gz] [--repeats 3] [--omp-threads N] [--json]

Every side runs as a child process, timed by wall clock from start to exit (interpreter start,
imports and model load included), in alternating order (sieve, jusText, ref, sieve, ...) so that
background load hits all sides alike. Reported: the median and every run, documents/s, blocks/s,
speed ratios (>1: sieve is faster) and each child's peak RSS (from os.wait4).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = Path(os.environ.get("SIEVE_SHARED") or Path(__file__).resolve().parents[2] / "shared")
DEFAULT_DATA = SHARED / "data" / "aeb-dev.jsonl.gz"
REF_PIPELINE = SHARED / "eval" / "ref_pipeline.py"
JUSTEXT_HELPER = HERE / "_justext_ref.py"
FLOOR_HELPER = HERE / "_floor_ref.py"
LID_MODEL = REPO / "models" / "lid.ftz"


def strip_gold(src: Path, dst: Path, scale: int = 1) -> tuple[int, int]:
    """Like shared/eval/strip.py: keep id, url and blocks as [{"text": ...}], the whole set
    ``scale`` times over (ids suffixed #k). Returns (documents, blocks)."""
    opener = gzip.open if src.name.endswith(".gz") else open
    docs = blocks = 0
    with opener(src, "rt", encoding="utf-8") as inp:
        records = [json.loads(line) for line in inp if line.strip()]
    with open(dst, "w", encoding="utf-8") as out:
        for k in range(scale):
            for d in records:
                rec = {"id": d["id"] if k == 0 else f"{d['id']}#{k}", "url": d.get("url"),
                       "blocks": [{"text": b["text"]} for b in d["blocks"]]}
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                docs += 1
                blocks += len(rec["blocks"])
    return docs, blocks


def sieve_command() -> list[str]:
    """The installed console script of this interpreter (not a pyenv shim, which adds a bash hop)."""
    script = Path(sysconfig.get_path("scripts")) / "sieve"
    if script.is_file():
        return [str(script)]
    found = shutil.which("sieve")
    if found:
        return [found]
    sys.exit("bench_score: the `sieve` console script is not installed; run `pip install -e .[bench]` first")


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run one child; return wall seconds, peak RSS (MiB, from wait4) and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; tell Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"bench_score: {' '.join(cmd)} failed with status {proc.returncode}:\n{stderr[-2000:]}")
    return {"seconds": wall, "max_rss_mib": usage.ru_maxrss / 1024, "stdout": stdout, "stderr": stderr}


def count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def summarise(runs: list[dict], docs: int, blocks: int) -> dict:
    secs = [r["seconds"] for r in runs]
    med = statistics.median(secs)
    return {
        "median_seconds": med,
        "runs_seconds": secs,
        "docs_per_s": docs / med,
        "blocks_per_s": blocks / med,
        "max_rss_mib": max(r["max_rss_mib"] for r in runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help=f"labelled JSONL(.gz) documents (SCHEMA.md) [default: {DEFAULT_DATA}]")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each side [default: 3]")
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed rounds first, to warm the page cache [default: 1]")
    ap.add_argument("--omp-threads", type=int, default=None,
                    help="set OMP_NUM_THREADS for the sieve child (scikit-learn's tree predictor is OpenMP; "
                         "on a busy machine its threads can spin) [default: unset, as users run it]")
    ap.add_argument("--scale", type=int, default=1,
                    help="repeat the documents this many times, so that start-up (interpreter, imports, "
                         "model load) weighs less and throughput shows [default: 1]")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")

    if not args.data.is_file():
        where = args.data.parent
        what = "data folder" if not where.is_dir() else "data file"
        sys.exit(f"bench_score: {what} missing: {where if not where.is_dir() else args.data} not found.\n"
                 f"The default is the shared data folder next to the repository ({DEFAULT_DATA});\n"
                 f"pass another labelled JSONL file with --data PATH.jsonl.gz")
    try:
        import justext  # noqa: F401  (only to fail early; the children import it themselves)
    except ImportError:
        sys.exit("bench_score: jusText is not installed; pip install -e '.[bench]'")
    if not LID_MODEL.is_file():
        sys.exit(f"bench_score: {LID_MODEL} not found (the reference pipeline needs it as LID)")
    if not REF_PIPELINE.is_file():
        sys.exit(f"bench_score: reference pipeline {REF_PIPELINE} not found")

    with tempfile.TemporaryDirectory(prefix="bench_score-") as tmp:
        stripped = Path(tmp) / "stripped.jsonl"
        out = Path(tmp) / "scored.jsonl"
        docs, blocks = strip_gold(args.data, stripped, max(args.scale, 1))
        if docs == 0:
            sys.exit(f"bench_score: no documents in {args.data}")

        py = sys.executable
        ref_env = dict(os.environ, LID=str(LID_MODEL))
        sieve_env = None if args.omp_threads is None else dict(os.environ, OMP_NUM_THREADS=str(args.omp_threads))
        sides = {
            "sieve": (sieve_command() + ["score", str(stripped), "-o", str(out)], sieve_env),
            "justext": ([py, str(JUSTEXT_HELPER), str(stripped)], None),
            "ref_pipeline": ([py, str(REF_PIPELINE), str(stripped)], ref_env),
            # what any sieve score must do without a block model (read, fastText per block, write)
            "floor": ([py, str(FLOOR_HELPER), "score", str(stripped), str(Path(tmp) / "floor.jsonl"),
                       str(LID_MODEL)], None),
        }
        runs: dict[str, list[dict]] = {name: [] for name in sides}
        for i in range(args.warmup + args.repeats):
            for name, (cmd, env) in sides.items():  # alternating: A B C A B C ...
                r = run_child(cmd, env)
                if i >= args.warmup:
                    runs[name].append(r)
                if not args.json:
                    tag = "warm-up" if i < args.warmup else f"run {i - args.warmup + 1}/{args.repeats}"
                    print(f"  {tag:<9} {name:<13} {r['seconds']:7.2f} s", file=sys.stderr, flush=True)

        written = count_lines(out)
        if written != docs:
            print(f"bench_score: warning: sieve wrote {written} of {docs} documents", file=sys.stderr)
        seen = json.loads(runs["justext"][-1]["stdout"])
        if seen["documents"] != docs:
            print(f"bench_score: warning: jusText saw {seen['documents']} of {docs} documents", file=sys.stderr)

    figures = {name: summarise(r, docs, blocks) for name, r in runs.items()}
    ref_own = [float(r["stdout"].strip().splitlines()[-1]) for r in runs["ref_pipeline"]]
    figures["ref_pipeline"]["own_seconds_median"] = statistics.median(ref_own)
    figures["ref_pipeline"]["own_seconds_runs"] = ref_own
    sieve_med = figures["sieve"]["median_seconds"]
    phases = [json.loads(r["stdout"].strip().splitlines()[-1]) for r in runs["floor"]]
    figures["floor"]["own_phases_median"] = {
        k: statistics.median(p[k] for p in phases) for k in ("start_s", "read_s", "fasttext_s", "write_s")}
    budget = figures["justext"]["median_seconds"] / 2  # issue 2's target: 2x jusText
    result = {
        "data": str(args.data),
        "documents": docs,
        "blocks": blocks,
        "scale": args.scale,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "sieve_omp_threads": args.omp_threads,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_1m": os.getloadavg()[0]},
        "sides": figures,
        "ratio_sieve_vs_justext": figures["justext"]["median_seconds"] / sieve_med,
        "ratio_sieve_vs_ref_pipeline": figures["ref_pipeline"]["median_seconds"] / sieve_med,
        "ratio_floor_vs_justext": figures["justext"]["median_seconds"] / figures["floor"]["median_seconds"],
        "target_2x_justext_seconds": budget,
        "floor_share_of_target": figures["floor"]["median_seconds"] / budget,
    }

    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"\n{docs} documents, {blocks} blocks from {args.data} (x{args.scale}); {args.repeats} timed runs each "
          f"(+{args.warmup} warm-up), alternating; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
          f"{'' if args.omp_threads is None else f'; sieve with OMP_NUM_THREADS={args.omp_threads}'}")
    print(f"{'side':<13} {'median s':>9} {'docs/s':>9} {'blocks/s':>10} {'peak MiB':>9}  all runs (s)")
    for name, f in figures.items():
        all_runs = " ".join(f"{s:.2f}" for s in f["runs_seconds"])
        print(f"{name:<13} {f['median_seconds']:9.2f} {f['docs_per_s']:9.1f} {f['blocks_per_s']:10.0f} "
              f"{f['max_rss_mib']:9.0f}  {all_runs}")
    own = figures["ref_pipeline"]
    print(f"ref_pipeline's own timer: median {own['own_seconds_median']:.2f} s "
          f"(runs {' '.join(f'{s:.2f}' for s in own['own_seconds_runs'])})")
    print(f"sieve vs jusText:      {result['ratio_sieve_vs_justext']:.2f}x  (>1: sieve is faster)")
    print(f"sieve vs ref_pipeline: {result['ratio_sieve_vs_ref_pipeline']:.2f}x  (>1: sieve is faster)")
    ph = figures["floor"]["own_phases_median"]
    print(f"floor (no block model: start, read, fastText once per distinct block text, write): "
          f"{figures['floor']['median_seconds']:.2f} s = {result['ratio_floor_vs_justext']:.2f}x jusText; its own "
          f"phases: start {ph['start_s']:.2f}, read {ph['read_s']:.2f}, fastText {ph['fasttext_s']:.2f}, "
          f"write {ph['write_s']:.2f} s")
    print(f"2x jusText allows {budget:.2f} s: the floor alone takes {result['floor_share_of_target']:.0%} of it, "
          f"leaving {budget - figures['floor']['median_seconds']:.2f} s for the block model (its load, features, "
          f"the two passes) and the language layer's segments")
    print("Wall times of child processes (start, imports and model load included); noisy machine: "
          "compare medians and ratios, not absolute numbers.")


if __name__ == "__main__":
    main()
