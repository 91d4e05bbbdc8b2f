"""Agreement of two encodings of one model on whole tasks, from committed result files alone.

A model scored in fp32 (``<revision>/<Task>.json``) and in another precision or backend
(``<revision>/experiments/<name>/<Task>.json``) is compared subset by subset: the mean of each
metric under both, their difference and the largest per-subset difference.

    python benchmarks/compare_precisions.py results/xlr-bench__me5-small/<revision> --experiment precision_bf16

``--other-root`` reads the experiment from another results root with the same layout (re-scores of some
tasks only, kept out of ``results/`` so the leaderboard's rows stay complete), e.g.
``--other-root benchmarks/results-openvino-bf16 --experiment backend_openvino__precision_bf16``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

METRICS = ("map_at_20", "map", "rank_distance", "ndcg_at_10")


def subsets(path: Path) -> dict[str, dict]:
    """hf_subset -> its scores, for the test split of one mteb result file."""
    return {s["hf_subset"]: s for s in json.loads(path.read_text(encoding="utf-8"))["scores"]["test"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision_folder", type=Path)
    parser.add_argument("--experiment", default="precision_bf16")
    parser.add_argument("--other-root", type=Path, default=None,
                        help="a results root holding the experiment (default: beside the fp32 results)")
    args = parser.parse_args()
    revision = args.revision_folder
    other_revision = revision if args.other_root is None else args.other_root / revision.parent.name / revision.name
    other_folder = other_revision / "experiments" / args.experiment
    print(f"| task | subsets | metric | fp32 | {args.experiment} | Δ | max per-subset abs Δ |\n|---|---|---|---|---|---|---|")
    for reference in sorted(args.revision_folder.glob("*.json")):
        other = other_folder / reference.name
        if reference.name == "model_meta.json" or not other.is_file():
            continue
        a, b = subsets(reference), subsets(other)
        shared = sorted(set(a) & set(b))
        for metric in METRICS:
            if metric not in a[shared[0]]:
                continue
            fa, fb = np.mean([a[s][metric] for s in shared]), np.mean([b[s][metric] for s in shared])
            worst = max(abs(a[s][metric] - b[s][metric]) for s in shared)
            digits = 1 if metric == "rank_distance" else 4
            print(f"| {reference.stem} | {len(shared)} | {metric} | {fa:.{digits}f} | {fb:.{digits}f} | {fb - fa:+.{digits}f} "
                  f"| {worst:.{digits}f} |")


if __name__ == "__main__":
    main()
