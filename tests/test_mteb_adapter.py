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


def _private_mteb_uses(path: Path) -> list[str]:
    """``mteb._x`` modules imported, and ``_name``s imported from mteb, by one source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("mteb") and "._" in a.name]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mteb"):
            if "._" in node.module:
                found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            found += [a.value for a in node.args if isinstance(a, ast.Constant) and "._" in str(a.value)]
    return found


def test_no_private_mteb_import_outside_the_adapter():
    files = [p for d in ("xlr_bench", "tests", "benchmarks") for p in (REPO / d).rglob("*.py") if p != ADAPTER]
    offenders = {str(p.relative_to(REPO)): uses for p in files if (uses := _private_mteb_uses(p))}
    assert offenders == {}
    assert _private_mteb_uses(ADAPTER) == []  # the adapter reaches them by name, checked by check()
