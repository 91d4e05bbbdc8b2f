"""Benchmark: how long the command line takes to start, against the cost of importing mteb.

Each command runs in a fresh process, several times, side by side with ``python -c "import mteb"``
(what every command paid before the package stopped importing mteb at ``import xlr_bench``). Target:
``--help`` and the commands that load no model under 2 s. Prints the median wall time of each and
its ratio to the mteb import.

Run: XLR_BENCH_DATA=../shared/data python benchmarks/bench_cli_start.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = [
    ["--help"], ["train", "--help"], ["sweep", "--help"], ["data", "check"], ["models", "list"], ["tasks", "list"],
]


def _time(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cli = shutil.which("xlr-bench") or os.path.join(os.path.dirname(sys.executable), "xlr-bench")
    reference = _time([sys.executable, "-c", "import mteb"], args.repeat)
    print(f"{'command':28} {'median s':>9} {'× import mteb':>14}")
    label = 'python -c "import mteb"'
    print(f"{label:28} {reference:9.2f} {1.0:14.2f}")
    for command in COMMANDS:
        seconds = _time([cli, *command], args.repeat)
        print(f"{'xlr-bench ' + ' '.join(command):28} {seconds:9.2f} {seconds / reference:14.2f}")


if __name__ == "__main__":
    main()
