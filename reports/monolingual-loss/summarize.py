"""Tables of the monolingual-loss probes: mean mAP@20 over the Mo. and Cr. subsets and Mo. per language, Δ to the base.

Usage: python reports/monolingual-loss/summarize.py reports/monolingual-loss/results
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SETTINGS = {"XQuADRSentenceMonolingualRetrieval": "Mo.", "XQuADRSentenceCrossLingualRetrieval": "Cr."}


def scores(results: Path) -> dict[str, float]:
    """Mean main score per setting over the subsets in one probe's results root, and Mo. per language."""
    out = {}
    for path in results.rglob("*.json"):
        if path.stem in SETTINGS:
            subsets = json.loads(path.read_text(encoding="utf-8"))["scores"]["test"]
            out[SETTINGS[path.stem]] = sum(s["main_score"] for s in subsets) / len(subsets)
            if SETTINGS[path.stem] == "Mo.":
                out |= {f"Mo. {s['hf_subset'].split('-')[0]}": s["main_score"] for s in subsets}
    return out


def main(root: Path) -> None:
    rows = {p.name: scores(p) for p in sorted(root.iterdir()) if p.is_dir()}
    base = rows.get("base", {})
    columns = list(SETTINGS.values()) + sorted(k for k in base if k.startswith("Mo. "))
    print("| probe | " + " | ".join(f"{c} mAP@20 | Δ base" for c in columns) + " |\n|---|" + "---|---|" * len(columns))
    for name, row in rows.items():
        cells = []
        for setting in columns:
            value = row.get(setting)
            delta = f"{value - base[setting]:+.4f}" if value is not None and setting in base and name != "base" else ""
            cells += [f"{value:.4f}" if value is not None else "–", delta]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
