"""The XLR benchmarks: described, cited, and complete on the committed results."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import mteb
from mteb.results import TaskResult

import xlr_bench  # noqa: F401

RESULTS = Path(__file__).resolve().parent.parent / "results"


def test_xlr_is_described_cited_and_offline():
    bench = mteb.get_benchmark("XLR")
    names = [t.metadata.name for t in bench.tasks]
    assert len(names) == 5 and "AfriQARetrieval" in names and "XQuADRSentenceRetrieval" in names
    assert "MIRACLRetrieval" not in names and all(getattr(t, "definition", None) for t in bench.tasks)
    assert "roy-etal-2020-lareqa" in bench.citation and "ogundepo-etal-2023-afriqa" in bench.citation
    assert bench.citation.count("@inproceedings") == 2 and len(bench.description) > 200
    hub = mteb.get_benchmark("XLR-MIRACL")
    assert [t.metadata.name for t in hub.tasks] == ["MIRACLRetrieval"] and hub.citation
    assert sorted(hub.tasks[0].hf_subsets) == ["bn", "hi", "sw", "te", "th", "yo"]


def test_every_committed_model_has_a_benchmark_mean():
    """Each scored model (one folder of result files) has every XLR task, so its mean is a number."""
    names = [t.metadata.name for t in mteb.get_benchmark("XLR").tasks]
    by_model: dict[Path, dict[str, float]] = defaultdict(dict)
    for name in names:
        for path in RESULTS.rglob(f"{name}.json"):
            by_model[path.parent][name] = TaskResult.from_disk(path).get_score()
    assert len(by_model) >= 9
    for folder, scores in by_model.items():
        assert sorted(scores) == sorted(names), folder
        mean = sum(scores.values()) / len(scores)
        assert math.isfinite(mean) and 0 < mean < 1, folder
