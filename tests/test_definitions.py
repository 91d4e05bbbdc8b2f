"""Declarative definitions: hand-written ones, `tasks validate/new/describe`, source kinds, the XLR suite."""

from __future__ import annotations

import tomllib
from pathlib import Path

import mteb
import pytest
from click.testing import CliRunner
from mteb.cache import ResultCache
from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

import xlr_bench
from xlr_bench.cli.app import main
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.definitions.tasks import BUILTIN_TASKS, TASKS_ENV, load_definition_file

# A hand-written AfriQA variant: Hausa and Yoruba questions against their two languages' passages only.
HAND_WRITTEN = '''
name = "HandAfriQARetrieval"
loader = "afriqa"

[source]
dataset = "afriqa"

[languages]
hau = "hau-Latn"
yor = "yor-Latn"

[metadata]
description = "Hausa and Yoruba AfriQA questions against their own gold passages."
type = "Retrieval"
eval_splits = ["test"]
main_score = "ndcg_at_10"
license = "cc-by-4.0"
sample_creation = "found"
'''

BEIR_MINIMAL = '''
name = "Tiny-beir"
loader = "beir"

[source]
directory = "data"

[languages]
hau = "hau-Latn"

[metadata]
description = "A tiny BEIR folder."
type = "Retrieval"
eval_splits = ["test"]
main_score = "ndcg_at_10"
license = "not specified"
sample_creation = "found"
'''


def _write(folder: Path, text: str, name: str = "task.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _validate(path: Path):
    return CliRunner().invoke(main, ["tasks", "validate", str(path)])


def test_hand_written_definition_is_registered_and_evaluated(tmp_path, monkeypatch, tiny_st):
    _write(tmp_path, HAND_WRITTEN)
    monkeypatch.setenv(TASKS_ENV, str(tmp_path))
    assert "HandAfriQARetrieval" in xlr_bench.register_all()
    task = mteb.get_task("HandAfriQARetrieval")
    assert task.hf_subsets == ["hau", "yor"]
    result = mteb.evaluate(SentenceTransformerEncoderWrapper(tiny_st), [task], cache=ResultCache(tmp_path / "results"),
                           show_progress_bar=False, encode_kwargs={"batch_size": 64, "show_progress_bar": False})
    scores = result.task_results[0].scores["test"]
    assert {s["hf_subset"] for s in scores} == {"hau", "yor"}
    assert all(0 <= s["ndcg_at_10"] <= 1 and s["recall_at_100"] > 0 for s in scores)  # a random tiny encoder

    described = CliRunner().invoke(main, ["tasks", "describe", "HandAfriQARetrieval", "--subset", "hau"])
    assert described.exit_code == 0, described.output
    row = next(line.split() for line in described.output.splitlines() if line.startswith("hau"))
    assert row[:4] == ["hau", "test", "300", str(300 + 253)]  # corpus: hau + yor non-empty gold passages


def test_validate_accepts_the_repository_definitions():
    for name in ("AfriQARetrieval.toml", "AfriQAPivotRetrieval.toml", "XQuADRCrossLingualRetrieval.toml"):
        result = _validate(BUILTIN_TASKS / name)
        assert result.exit_code == 0 and result.output.startswith("ok"), result.output


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t: t.replace('loader = "beir"', 'loader = "bier"'), ["field 'loader'", "'bier'", "known loaders: afriqa, beir, lareqa"]),
    (lambda t: t.replace('license = "not specified"\n', ""), ["metadata.license", "is missing", "Add it under [metadata]"]),
    (lambda t: t.replace('hau = "hau-Latn"', 'hau = "hausa-Latn"'), ["field 'languages'", "Invalid language code: hausa", "ISO 639-3"]),
    (lambda t: t.replace('directory = "data"', 'directory = "no/such/folder"'), ["field 'source.directory'", "no/such/folder", "does not exist"]),
    (lambda t: t.replace('directory = "data"', 'hf_repo = "mteb/scifact"'), ["field 'source.revision' is missing", "commit"]),
    (lambda t: t.replace('directory = "data"', 'dataset = "afriqa"\ndirectory = "data"'), ["field 'source' needs exactly one"]),
])
def test_validate_names_the_field_and_the_fix(tmp_path, edit, expected):
    (tmp_path / "data").mkdir()
    result = _validate(_write(tmp_path, edit(BEIR_MINIMAL)))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.startswith("error: ")
    assert str(tmp_path / "task.toml") in result.output
    for part in expected:
        assert part in result.output


def test_validate_ok_for_a_good_beir_definition(tmp_path, write_beir_folder):
    write_beir_folder(tmp_path / "data")
    result = _validate(_write(tmp_path, BEIR_MINIMAL))
    assert result.exit_code == 0 and result.output.strip() == "ok: Tiny-beir (beir, 1 subsets)"
    assert load_definition_file(tmp_path / "task.toml").source["directory"] == str(tmp_path / "data")


def test_hf_source_offline_says_what_is_missing_and_how_to_use_a_folder(tmp_path, monkeypatch):
    text = BEIR_MINIMAL.replace('directory = "data"', 'hf_repo = "mteb/scifact"\nrevision = "d56462d0e63a25450459c4f213e49ffdb866f7f9"')
    monkeypatch.setenv(TASKS_ENV, str(_write(tmp_path, text).parent))
    xlr_bench.register_all()
    task = mteb.get_task("Tiny-beir")
    assert task.metadata.dataset == {"path": "mteb/scifact", "revision": "d56462d0e63a25450459c4f213e49ffdb866f7f9"}
    with pytest.raises(XLRBenchError, match=r"offline.*source.directory"):
        task.load_data()


def test_tasks_new_writes_a_translation_definition_from_the_mteb_task(tmp_path, write_beir_folder):
    out = tmp_path / "SciFact-swa.toml"
    result = CliRunner().invoke(main, ["tasks", "new", "--from", "SciFact", "--lang", "swa", "--out", str(out)])
    assert result.exit_code == 0, result.output
    raw = tomllib.loads(out.read_text(encoding="utf-8"))
    english = mteb.get_task("SciFact")
    assert raw["name"] == "SciFact-swa" and raw["loader"] == "beir" and raw["languages"] == {"swa": "swa-Latn"}
    assert raw["ignore_identical_ids"] is english.ignore_identical_ids is False
    md = raw["metadata"]
    assert md["adapted_from"] == ["SciFact"] and md["sample_creation"] == "machine-translated"
    assert md["bibtex_citation"] == english.metadata.bibtex_citation.lstrip("\n")
    assert md["main_score"] == "ndcg_at_10" and md["domains"] == list(english.metadata.domains)
    assert raw["source"] == {"directory": "data"}
    assert _validate(out).exit_code == 2  # the placeholder folder does not exist yet
    (tmp_path / "data").mkdir()
    assert _validate(out).exit_code == 2  # an empty folder is no BEIR dataset
    write_beir_folder(tmp_path / "data")
    assert _validate(out).exit_code == 0
    again = CliRunner().invoke(main, ["tasks", "new", "--from", "SciFact", "--lang", "swa", "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.output


def test_tasks_new_copies_ignore_identical_ids_and_rejects_unknown_names(tmp_path):
    out = tmp_path / "fever.toml"
    assert CliRunner().invoke(main, ["tasks", "new", "--from", "FEVER", "--lang", "yor", "--out", str(out)]).exit_code == 0
    assert tomllib.loads(out.read_text(encoding="utf-8"))["ignore_identical_ids"] is True
    bad = CliRunner().invoke(main, ["tasks", "new", "--from", "SciFact", "--lang", "xqz", "--out", str(tmp_path / "x.toml")])
    assert bad.exit_code == 2 and "ISO 639-3" in bad.output


def test_ignore_identical_ids_reaches_the_task_class(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    _write(tmp_path, "ignore_identical_ids = true\n" + BEIR_MINIMAL)
    monkeypatch.setenv(TASKS_ENV, str(tmp_path))
    xlr_bench.register_all()
    assert mteb.get_task("Tiny-beir").ignore_identical_ids is True
