"""The `beir` loader and `translate-beir`, on a small BEIR folder built from real AfriQA data.

The folder: the English (pivot) questions of AfriQA's Hausa test split as queries, their gold
passages plus distractors as corpus. The translation model is a random tiny T5 with a tokenizer
trained on those texts, built here: it checks the plumbing (batching, splitting, resuming, files,
definition, mteb evaluation), not translation quality.
"""

from __future__ import annotations

import json
from pathlib import Path

import mteb
import pytest
from click.testing import CliRunner
from mteb.cache import ResultCache
from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

import xlr_bench
from xlr_bench.tasks import translate_beir as tb
from xlr_bench.tasks.beir import read_folder
from xlr_bench.cli.app import main
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.definitions.tasks import TASKS_ENV

N_QUERIES, N_DOCS, BATCH = 8, 16, 8


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def beir_dir(tmp_path_factory, data_dir) -> Path:
    afriqa = data_dir / "afriqa"
    questions = _read_jsonl(afriqa / "queries/hau/queries.afriqa.hau.en.test.json")
    passages = [p for p in _read_jsonl(afriqa / "gold_passages/hau/gold_span_passages.afriqa.hau.en.test.json")
                if p["context"] and p["title"]][:N_DOCS]
    folder = tmp_path_factory.mktemp("hau-beir")
    _jsonl(folder / "corpus.jsonl", [{"_id": f"d{p['id']}", "title": p["title"], "text": p["context"]} for p in passages])
    by_id = {str(q["id"]): q for q in questions}
    judged = passages[:N_QUERIES]
    _jsonl(folder / "queries.jsonl", [{"_id": f"q{p['id']}", "text": by_id[p["id"]]["translated_question"]} for p in judged])
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{p['id']}\td{p['id']}\t1\n" for p in judged), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tiny_mt(tmp_path_factory, beir_dir) -> Path:
    """A random 1-layer T5 and a BPE tokenizer trained on the folder's texts (no language codes)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    texts = [r["text"] for r in _read_jsonl(beir_dir / "corpus.jsonl") + _read_jsonl(beir_dir / "queries.jsonl")]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "</s>", "<unk>"]))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    config = T5Config(vocab_size=tok.get_vocab_size(), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                      pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    out = tmp_path_factory.mktemp("tiny-mt")
    T5ForConditionalGeneration(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


@pytest.fixture
def one_thread():
    """Tiny matrices: one torch thread is faster, and much faster when other processes share the cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _definition(folder: Path, name: str = "HauBeir") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'''name = "{name}"
loader = "beir"
[source]
directory = "."
[languages]
eng = "eng-Latn"
[metadata]
description = "AfriQA Hausa test questions (English translations) against their gold passages."
type = "Retrieval"
eval_splits = ["test"]
main_score = "ndcg_at_10"
license = "cc-by-4.0"
sample_creation = "found"
''', encoding="utf-8")
    return path


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_beir_folder_loads_through_a_definition(beir_dir, tmp_path, monkeypatch):
    folder = _copy(beir_dir, tmp_path / "hau")
    _definition(folder)
    monkeypatch.setenv(TASKS_ENV, str(folder))
    xlr_bench.register_all()
    task = mteb.get_task("HauBeir")
    assert task.hf_subsets == ["default"] and task.metadata.eval_langs == ["eng-Latn"]
    assert task.metadata.dataset["path"] == str(folder.resolve())
    task.load_data()
    split = task.dataset["default"]["test"]
    assert len(split["corpus"]) == N_DOCS and len(split["queries"]) == N_QUERIES
    assert split["corpus"][0]["title"] and split["relevant_docs"][split["queries"][0]["id"]] == {split["corpus"][0]["id"]: 1}


def test_qrels_with_unknown_ids_and_missing_files_are_named(beir_dir, tmp_path):
    folder = _copy(beir_dir, tmp_path / "bad")
    qrels = folder / "qrels" / "test.tsv"
    qrels.write_text(qrels.read_text(encoding="utf-8") + "q0\tnope\t1\n", encoding="utf-8")
    with pytest.raises(XLRBenchError, match=rf"{qrels}, line {N_QUERIES + 2}: corpus id 'nope' is not in corpus.jsonl"):
        read_folder(folder, "test")
    qrels.write_text("query-id\tcorpus-id\tscore\nghost\td0\t1\n", encoding="utf-8")
    with pytest.raises(XLRBenchError, match=r"line 2: query id 'ghost' is not in queries.jsonl"):
        read_folder(folder, "test")
    with pytest.raises(XLRBenchError, match=rf"Missing BEIR file {folder / 'qrels' / 'dev.tsv'}"):
        read_folder(folder, "dev")
    (folder / "corpus.jsonl").unlink()
    with pytest.raises(XLRBenchError, match=rf"Missing BEIR file {folder / 'corpus.jsonl'}"):
        read_folder(folder, "test")


def test_long_texts_are_split_at_sentences_and_rejoined(tiny_mt, beir_dir, one_thread):
    translator = tb.Translator(str(tiny_mt), "swa", max_tokens=24)
    assert translator.target_code is None  # no language codes: plain generation
    text = max((r["text"] for r in _read_jsonl(beir_dir / "corpus.jsonl")), key=len)
    pieces = translator._segments(text)
    assert len(pieces) > 1 and " ".join(pieces).split() == text.split()
    assert all(translator._n_tokens(p) <= 24 for p in pieces if len(p.split()) > 1)
    out = translator.translate([text, "", "Short one."])
    assert len(out) == 3 and out[1] == ""
    assert tb.nllb_code("swa") == "swh_Latn" and tb.nllb_code("hau") == "hau_Latn"


def test_a_model_with_language_codes_is_forced_to_the_target_language(tiny_mt, tmp_path, one_thread):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_mt)
    tokenizer.add_special_tokens({"additional_special_tokens": ["eng_Latn", "swh_Latn", "hau_Latn"]})
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_mt)
    model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    translator = tb.Translator(str(tmp_path), "swa")  # NLLB-style codes: swa is NLLB's swh_Latn
    swh = tokenizer.convert_tokens_to_ids("swh_Latn")
    assert translator.target_code == "swh_Latn" and translator.generate_kwargs == {"forced_bos_token_id": swh}
    enc = translator.tokenizer(["A short sentence."], return_tensors="pt")
    assert translator.model.generate(**enc, max_new_tokens=3, **translator.generate_kwargs)[0, 1] == swh
    with pytest.raises(XLRBenchError, match="no language code 'yor_Latn'"):
        tb.Translator(str(tmp_path), "yor")


def _run(beir_dir: Path, out: Path, tiny_mt: Path, lang: str = "swa"):
    return CliRunner().invoke(main, ["translate-beir", "--source", str(beir_dir), "--lang", lang, "--out", str(out),
                                     "--mt-model", str(tiny_mt), "--batch-size", str(BATCH), "--max-tokens", "32"])


def test_translate_beir_resumes_after_a_kill_and_yields_an_mteb_task(beir_dir, tiny_mt, tmp_path, monkeypatch, tiny_st,
                                                                     one_thread):
    out = tmp_path / "hau-swa"
    real_translate = tb.Translator.translate
    calls = {"n": 0}

    def dies_in_the_third_batch(self, texts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # what a kill looks like from inside: the run stops mid-file
        return real_translate(self, texts)

    monkeypatch.setattr(tb.Translator, "translate", dies_in_the_third_batch)
    killed = _run(beir_dir, out, tiny_mt)
    assert killed.exit_code != 0 and not (out / "corpus.jsonl").exists()
    assert len(_read_jsonl(out / "queries.jsonl")) == N_QUERIES  # batch 1 finished the queries
    assert len(_read_jsonl(out / "corpus.jsonl.partial")) == BATCH  # batch 2; batch 3 died
    assert json.loads((out / "provenance.json").read_text())["complete"] is False
    with (out / "corpus.jsonl.partial").open("a", encoding="utf-8") as handle:
        handle.write('{"_id": "d-torn", "te')  # a record torn by the kill

    monkeypatch.setattr(tb.Translator, "translate", real_translate)
    resumed = _run(beir_dir, out, tiny_mt)
    assert resumed.exit_code == 0, resumed.output
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["complete"] and provenance["lang"] == "swa-Latn" and provenance["model"] == str(tiny_mt)
    assert provenance["translated_this_run"] == {"queries": 0, "corpus": N_DOCS - BATCH}  # nothing translated twice
    assert not list(out.glob("*.partial"))
    for name in ("queries.jsonl", "corpus.jsonl"):
        source, translated = _read_jsonl(beir_dir / name), _read_jsonl(out / name)
        assert [r["_id"] for r in translated] == [r["_id"] for r in source]  # complete, in order, no duplicates
        assert all(t["text"] != s["text"] for s, t in zip(source, translated))
    assert (out / "qrels" / "test.tsv").read_bytes() == (beir_dir / "qrels" / "test.tsv").read_bytes()

    before = sorted(p.name for p in out.rglob("*"))
    refused = _run(beir_dir, out, tiny_mt, lang="yor")
    assert refused.exit_code == 2 and "lang 'swa-Latn'" in refused.output and "nothing was written" in refused.output
    assert sorted(p.name for p in out.rglob("*")) == before

    definition = out / "hau-beir0-swa.toml"  # named after the source folder (no English mteb task)
    assert definition.is_file(), sorted(p.name for p in out.iterdir())
    assert CliRunner().invoke(main, ["tasks", "validate", str(definition)]).exit_code == 0
    monkeypatch.setenv(TASKS_ENV, str(out))
    xlr_bench.register_all()
    task = mteb.get_task("hau-beir0-swa")
    assert task.metadata.sample_creation == "machine-translated" and task.metadata.eval_langs == ["swa-Latn"]
    result = mteb.evaluate(SentenceTransformerEncoderWrapper(tiny_st), [task], cache=ResultCache(tmp_path / "results"),
                           show_progress_bar=False, encode_kwargs={"batch_size": 32, "show_progress_bar": False})
    score = result.task_results[0].scores["test"][0]
    assert 0 <= score["ndcg_at_10"] <= 1 and score["hf_subset"] == "default"


def test_translate_beir_from_hugging_face_offline_fails_clearly(tmp_path, tiny_mt):
    out = tmp_path / "scifact-swa"
    result = CliRunner().invoke(main, ["translate-beir", "--source", "mteb/scifact", "--lang", "swa", "--out", str(out),
                                       "--mt-model", str(tiny_mt)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "mteb/scifact" in result.output and "offline" in result.output and "source.directory" in result.output
    assert not out.exists()
