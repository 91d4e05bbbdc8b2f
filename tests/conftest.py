"""Shared fixtures: the real shared data and a tiny model trained on it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("XLR_BENCH_DATA", str(REPO.parent / "shared" / "data"))
# The user's own definitions (~/.config/xlr-bench) must not leak into the tests.
os.environ["XLR_BENCH_CONFIG"] = tempfile.mkdtemp(prefix="xlr-bench-config-")

DATA = Path(os.environ["XLR_BENCH_DATA"])


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA / "lareqa" / "xquad-r" / "en.json").is_file():
        pytest.fail(f"shared data not found at {DATA}; set XLR_BENCH_DATA")
    return DATA


@pytest.fixture(scope="session")
def xquad(data_dir):
    from xlr_bench.data.lareqa import load_lareqa

    return load_lareqa({lang: f"lareqa/xquad-r/{lang}.json" for lang in
                        ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]})


@pytest.fixture(scope="session")
def mlqa(data_dir):
    from xlr_bench.data.lareqa import load_lareqa

    return load_lareqa({lang: f"lareqa/mlqa-r/{lang}.json" for lang in ["ar", "de", "en", "es", "hi", "vi", "zh"]})


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, xquad) -> Path:
    """A random tiny BERT whose tokenizer is trained on real XQuAD-R text."""
    from xlr_bench.testing import build_tiny_model

    texts = [c.sentence for cands in xquad.candidates.values() for c in cands]
    texts += [q.text for qs in xquad.questions.values() for q in qs]
    return build_tiny_model(tmp_path_factory.mktemp("tiny"), texts)


@pytest.fixture(scope="session")
def tiny_st(tiny_model_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_model_dir), device="cpu")
