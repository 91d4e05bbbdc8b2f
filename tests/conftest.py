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
def tiny_model_dir(tmp_path_factory, data_dir) -> Path:
    """A random tiny BERT whose tokenizer is trained on real XQuAD-R text."""
    from xlr_bench.testing import build_tiny_xquad_model

    return build_tiny_xquad_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_st(tiny_model_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_model_dir), device="cpu")


@pytest.fixture(scope="session")
def small_pairs_file(tmp_path_factory, data_dir) -> Path:
    """200 MLQA-R questions in de/en/es with every language pair (monolingual and cross-lingual rows),
    as a training JSONL: small enough for each process of a multi-process test to load in a blink."""
    import json

    from xlr_bench.training.pairs import lareqa_pairs

    pairs = [p for p in lareqa_pairs("mlqa-r").pairs if {p.lang_q, p.lang_p} <= {"de", "en", "es"}]
    keep = set(sorted({p.group for p in pairs})[:200])
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for p in pairs:
            if p.group in keep:
                handle.write(json.dumps({"id": p.group.split(":", 1)[1], "lang_q": p.lang_q, "question": p.question,
                                         "lang_p": p.lang_p, "passage": p.passage[:300]}) + "\n")
    return path


@pytest.fixture(scope="session")
def write_beir_folder(xquad):
    """Writes a small BEIR folder of real German XQuAD-R questions and answer sentences into a path."""
    import json

    def write(folder: Path) -> Path:
        (folder / "qrels").mkdir(parents=True, exist_ok=True)
        by_id = {c.id: c for c in xquad.candidates["de"]}
        questions = xquad.questions["de"][:5]
        answers = {q.id: xquad.answer_of[("de", q.qid)] for q in questions}
        docs = sorted(set(answers.values()) | set(list(by_id)[:20]))
        (folder / "corpus.jsonl").write_text("".join(
            json.dumps({"_id": d, "title": "", "text": by_id[d].sentence}, ensure_ascii=False) + "\n" for d in docs),
            encoding="utf-8")
        (folder / "queries.jsonl").write_text("".join(
            json.dumps({"_id": q.id, "text": q.text}, ensure_ascii=False) + "\n" for q in questions), encoding="utf-8")
        (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
            f"{q}\t{d}\t1\n" for q, d in answers.items()), encoding="utf-8")
        return folder

    return write
