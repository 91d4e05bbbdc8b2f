"""Private mteb names live in one adapter, which says clearly when an mteb release changed one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from xlr_bench.core import mteb_adapter
from xlr_bench.core.errors import XLRBenchError

REPO = Path(__file__).resolve().parent.parent
ADAPTER = REPO / "xlr_bench" / "core" / "mteb_adapter.py"


def test_the_installed_mteb_has_every_private_name_we_use():
    assert mteb_adapter.check() == []


def test_a_changed_mteb_fails_with_a_message_naming_the_name(monkeypatch):
    gone = mteb_adapter.PrivateName("mteb._evaluators.retrieval_metrics", "calculate_retrieval_scores_v2",
                                    why="mteb's standard retrieval metrics")
    reshaped = mteb_adapter.PrivateName("mteb._create_dataloaders", "create_dataloader", ("corpus_only",),
                                        why="mteb's batches")
    missing_module = mteb_adapter.PrivateName("mteb._no_such_module", "x", why="nothing")
    monkeypatch.setattr(mteb_adapter, "PRIVATE_NAMES", (gone, reshaped, missing_module))
    problems = mteb_adapter.check()
    assert len(problems) == 3
    assert "mteb._evaluators.retrieval_metrics.calculate_retrieval_scores_v2 is gone" in problems[0]
    assert "create_dataloader no longer takes corpus_only" in problems[1]
    assert "module mteb._no_such_module is gone" in problems[2]
    with pytest.raises(XLRBenchError, match="mteb changed"):
        mteb_adapter._resolve(gone)
