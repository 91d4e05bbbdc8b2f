"""The per-phase time table of a sweep, from the ``timings.jsonl`` files it wrote.

A long sweep runs over several invocations (the 300-step study keeps one file per invocation under
``reports/alpha-sweep-300steps/timings/``); this prints every phase once, in the order run, with
its wall time, the seconds per training step, the seconds inside forward and backward passes and
the share outside them (the fast-path target is < 10 %), then the totals. Phases logged before the
sweep had its compute clock carry no forward/backward figures and are shown with "–".

Run: python benchmarks/phase_table.py reports/alpha-sweep-300steps/timings/*.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def rows_of(files: list[Path]) -> list[dict]:
    """Every phase line of the files, in file order (the names sort by start time)."""
    return [json.loads(line) for path in sorted(files) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def table(rows: list[dict]) -> str:
    lines = ["| phase | run | wall s | steps | s/step | forward s | backward s | outside forward/backward |",
             "|---|---|---|---|---|---|---|---|"]
    timed_wall = timed_compute = 0.0
    for row in rows:
        steps = row.get("steps")
        done = steps - row.get("from_step", 0) if row["phase"] == "train" and steps else None
        per_step = f"{row['seconds'] / done:.2f}" if done else ""
        steps_text = f"{row.get('from_step', 0)}→{steps}" if done else ""
        if "forward" in row:
            compute = row["forward"] + row["backward"]
            timed_wall += row["seconds"]
            timed_compute += compute
            clocks = f"{row['forward']:.1f} | {row['backward']:.1f} | {1 - compute / row['seconds']:.1%}"
        else:
            clocks = "– | – | –"
        lines.append(f"| {row['phase']} | {row.get('run', '')} | {row['seconds']:.1f} | {steps_text} | {per_step} | {clocks} |")
    total = sum(row["seconds"] for row in rows)
    outside = f"{1 - timed_compute / timed_wall:.1%} of the {timed_wall:.0f} s with clocks" if timed_wall else "–"
    lines.append(f"| **total** | | **{total:.1f}** | | | | | {outside} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, help="timings.jsonl files of one sweep")
    print(table(rows_of(parser.parse_args().files)))


if __name__ == "__main__":
    main()
