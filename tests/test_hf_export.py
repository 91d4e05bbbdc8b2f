"""`tasks export-hf`: mteb's hub layout, byte-stable, read back by mteb's own loader with equal scores."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mteb
import pytest
from click.testing import CliRunner
from mteb.abstasks.retrieval import AbsTaskRetrieval
from mteb.abstasks.task_metadata import TaskMetadata
from mteb.cache import ResultCache
from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

import xlr_bench  # noqa: F401
from xlr_bench.cli import main
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.tasks.hf_export import HF_DATA_ENV, PROVENANCE

TASK = "XQuADRSentenceCrossLingualRetrieval"
SUBSETS = ["th-en", "de-en"]  # two subsets that share the English corpus


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _export(out: Path, *extra: str) -> object:
    args = ["tasks", "export-hf", TASK, "--out", str(out), *[a for s in SUBSETS for a in ("--subset", s)], *extra]
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def export_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hf")
    result = _export(root / TASK)
    assert result.exit_code == 0, result.output
    return root


def test_export_is_mtebs_layout_with_card_and_shared_corpus(export_root):
    folder = export_root / TASK
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "license: cc-by-sa-4.0" in card and "roy-etal-2020-lareqa" in card
    assert "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c" in card and "## Provenance" in card
    for subset in SUBSETS:
        for kind in ("corpus", "queries", "qrels"):
            assert f"config_name: {subset}-{kind}" in card
    files = _digests(folder)
    assert len([f for f in files if "/corpus/" in f]) == 1  # th-en and de-en point to one English corpus file
    assert len([f for f in files if "/queries/" in f]) == 2
    provenance = json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))
    assert provenance["task"] == TASK and provenance["subsets"] == sorted(SUBSETS)
    assert provenance["upstream"]["files"]["lareqa/xquad-r/th.json"]["sha256"]
    assert all(oct(p.stat().st_mode)[-3:] == "644" for p in folder.rglob("*") if p.is_file())


def test_export_is_byte_stable_and_refuses_a_non_empty_folder(export_root, tmp_path):
    again = tmp_path / TASK
    assert _export(again).exit_code == 0
    assert _digests(again) == _digests(export_root / TASK)
    refused = _export(again)
    assert refused.exit_code == 2 and "not empty; pass --overwrite" in refused.output
    assert _export(again, "--overwrite").exit_code == 0 and _digests(again) == _digests(export_root / TASK)


def test_export_bad_input_is_one_clear_line(tmp_path, monkeypatch):
    runner = CliRunner()
    unknown = runner.invoke(main, ["tasks", "export-hf", "NoSuchTask", "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 2 and "Unknown task 'NoSuchTask'" in unknown.output
    bad_subset = runner.invoke(main, ["tasks", "export-hf", TASK, "--subset", "xx-yy", "--out", str(tmp_path / "y")])
    assert bad_subset.exit_code == 2 and "no subset xx-yy" in bad_subset.output
    monkeypatch.setenv("XLR_BENCH_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XLR_BENCH_CACHE", str(tmp_path / "cache"))
    missing = runner.invoke(main, ["tasks", "export-hf", "AfriQARetrieval", "--out", str(tmp_path / "z")])
    assert missing.exit_code == 2 and "Missing data file afriqa/" in missing.output
    assert not (tmp_path / "z").exists() and not list(tmp_path.glob(".z.*"))


def test_loading_from_a_folder_that_is_no_export_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv(HF_DATA_ENV, str(tmp_path))
    task = mteb.get_task(TASK, hf_subsets=["de-en"])
    with pytest.raises(XLRBenchError, match="is an export of XQuADRSentenceCrossLingualRetrieval"):
        task.load_data()


def _scores(result) -> dict[str, dict[str, float]]:
    return {s["hf_subset"]: {k: v for k, v in s.items() if isinstance(v, float)}
            for task_result in result.task_results for s in task_result.scores["test"]}


def test_export_loaded_by_mtebs_loader_scores_as_the_native_path(export_root, tiny_st, tmp_path, monkeypatch):
    wrapper = SentenceTransformerEncoderWrapper(tiny_st)
    kwargs = dict(show_progress_bar=False, encode_kwargs={"batch_size": 64, "show_progress_bar": False},
                  overwrite_strategy="always")
    native = mteb.evaluate(wrapper, mteb.get_task(TASK, hf_subsets=SUBSETS), cache=ResultCache(tmp_path / "n"), **kwargs)

    monkeypatch.setenv(HF_DATA_ENV, str(export_root))
    exported_task = mteb.get_task(TASK, hf_subsets=SUBSETS)
    exported = mteb.evaluate(wrapper, exported_task, cache=ResultCache(tmp_path / "e"), **kwargs)
    assert _scores(exported) == _scores(native)  # every metric, full-ranking ones included

    # mteb alone: a plain AbsTaskRetrieval whose dataset.path is the export, scored by mteb's evaluator
    metadata = exported_task.metadata.model_dump()
    metadata.update(name="XLRExportCheck", dataset={"path": str(export_root / TASK), "revision": "main"},
                    eval_langs={s: exported_task.metadata.eval_langs[s] for s in SUBSETS}, adapted_from=None)
    plain = type("XLRExportCheck", (AbsTaskRetrieval,), {"metadata": TaskMetadata(**metadata)})()
    monkeypatch.delenv(HF_DATA_ENV)
    by_mteb = _scores(mteb.evaluate(wrapper, plain, cache=ResultCache(tmp_path / "m"), **kwargs))
    ours = _scores(native)
    for subset in SUBSETS:
        for metric in ("ndcg_at_10", "map_at_20", "recall_at_100", "mrr_at_10"):
            assert by_mteb[subset][metric] == pytest.approx(ours[subset][metric], abs=1e-6), (subset, metric)


def test_loading_from_the_hub_offline_names_the_repo_and_what_to_check(monkeypatch):
    monkeypatch.setenv(HF_DATA_ENV, "hub")
    task = mteb.get_task(TASK, hf_subsets=["de-en"])
    assert task.metadata.dataset["path"] == f"xlr-bench/{TASK}"
    with pytest.raises(XLRBenchError,
                       match=f"from xlr-bench/{TASK} at revision 9bc8c7fb.*hub.json.*HF_HUB_OFFLINE"):
        task.load_data()
