"""The model wrapper, model definitions and leaderboard-format results, on a tiny local model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import mteb
import numpy as np
import pytest
from click.testing import CliRunner
from mteb.types import PromptType

import xlr_bench
from xlr_bench.cli.app import main
from xlr_bench.tasks.embedding_memo import memo_for
from xlr_bench.models.encoder import TRAINING_RECORD, XLREncoder, load_xlr_encoder, weights_revision
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.results.validate import validate_results


@pytest.fixture()
def trained_dir(tiny_model_dir, tmp_path):
    """A checkpoint directory with the training record the trainer writes."""
    ckpt = tmp_path / "ckpt-a050"
    shutil.copytree(tiny_model_dir, ckpt)
    (ckpt / TRAINING_RECORD).write_text(json.dumps(
        {"alpha": 0.5, "seed": 7, "base_model": "xlr-bench/me5-small", "training_data": ["mlqa-r"], "steps": 20}))
    return ckpt


def test_meta_from_training_record(trained_dir):
    meta = XLREncoder(str(trained_dir)).mteb_model_meta
    assert meta.name == "xlr-bench/me5-small-hybrid-a050-s7"  # α and seed: two seeds never share a name
    assert meta.revision == weights_revision(trained_dir) and len(meta.revision) == 40
    assert meta.adapted_from == "xlr-bench/me5-small"  # what it was tuned from; mteb follows the chain
    assert meta.training_datasets == {"MLQARRetrieval", "MLQARMonolingualRetrieval", "MLQARCrossLingualRetrieval"}
    # trained on MLQA-R: not zero-shot there; through the base copy's lineage (mteb's own entry for
    # multilingual-e5-small lists XQuADRetrieval, which XQuAD-R is adapted from) not on XQuAD-R either
    assert not meta.is_zero_shot_on([mteb.get_task("MLQARCrossLingualRetrieval")])
    assert not meta.is_zero_shot_on(["XQuADRSentenceRetrieval"])
    assert meta.is_zero_shot_on(["AfriQARetrieval"])
    embedding = 32 * len(XLREncoder(str(trained_dir)).model.tokenizer)
    assert meta.n_parameters > meta.n_embedding_parameters == embedding and meta.embed_dim == 32
    assert meta.memory_usage_mb == meta.calculate_memory_usage_mb() and meta.release_date is not None
    assert meta.reference and meta.public_training_data and meta.similarity_fn_name.value == "cosine"


def test_revision_changes_when_weights_change(trained_dir, tmp_path):
    other = tmp_path / "retrained"
    shutil.copytree(trained_dir, other)
    weights = other / "hf" / "model.safetensors"
    if not weights.exists():
        weights = next(other.rglob("*.safetensors"))
    payload = bytearray(weights.read_bytes())
    payload[-1] ^= 1
    weights.write_bytes(bytes(payload))
    assert weights_revision(other) != weights_revision(trained_dir)


def test_prompts_follow_mteb_prompt_type(tiny_model_dir, tiny_st):
    encoder = XLREncoder(str(tiny_model_dir))
    task = mteb.get_task("XQuADRMonolingualRetrieval", hf_subsets=["en-en"])
    texts = ["Where is the Eiffel tower?", "Who wrote Faust?"]
    memo = memo_for(encoder)
    kwargs = dict(task_metadata=task.metadata, hf_split="test", hf_subset="en-en", encode_kwargs={"batch_size": 8})
    as_query = memo.encode(encoder, texts, prompt_type=PromptType.query, **kwargs)
    as_doc = memo.encode(encoder, texts, prompt_type=PromptType.document, **kwargs)
    np.testing.assert_allclose(as_query, tiny_st.encode(texts, prompt="query: "), atol=1e-5)
    np.testing.assert_allclose(as_doc, tiny_st.encode(texts, prompt="passage: "), atol=1e-5)
    assert not np.allclose(as_query, as_doc)


def test_evaluate_writes_valid_results_without_local_paths(trained_dir, tmp_path, monkeypatch):
    out = tmp_path / "results"
    monkeypatch.setenv("XLR_BENCH_RESULTS", str(out))  # checkpoints with results there are registered in mteb
    result = CliRunner().invoke(main, ["evaluate", str(trained_dir), "-t", "XQuADRMonolingualRetrieval",
                                       "--subsets", "th-th", "-o", str(out), "--batch-size", "64"])
    assert result.exit_code == 0, result.output
    assert "xlr-bench/me5-small-hybrid-a050-s7" not in {m.name for m in mteb.get_model_metas()}
    xlr_bench.register_all()  # what `import xlr_bench` does in a new process
    registered = mteb.get_model_meta("xlr-bench/me5-small-hybrid-a050-s7")
    assert registered.revision == weights_revision(trained_dir) and registered.embed_dim == 32
    folder = out / "xlr-bench__me5-small-hybrid-a050-s7" / weights_revision(trained_dir)
    assert {p.name for p in folder.iterdir()} == {"XQuADRMonolingualRetrieval.json", "model_meta.json", "run_settings.jsonl"}
    found = validate_results(out)
    assert found.checked == 1 and found.problems == []
    for path in folder.iterdir():
        assert str(tmp_path) not in path.read_text()
    settings = json.loads((folder / "run_settings.jsonl").read_text().splitlines()[0])
    assert settings["encode_kwargs"]["precision"] == "fp32"
    assert settings["encode_kwargs"]["device"].startswith("cpu (") and "threads)" in settings["encode_kwargs"]["device"]
    assert json.loads((folder / "model_meta.json").read_text())["training_datasets"]
    # bf16 runs land in mteb's experiments layout, recorded as such, and validate too
    bf16 = CliRunner().invoke(main, ["evaluate", str(trained_dir), "-t", "XQuADRMonolingualRetrieval",
                                     "--subsets", "th-th", "-o", str(out), "--precision", "bf16"])
    assert bf16.exit_code == 0, bf16.output
    experiment = folder / "experiments" / "precision_bf16"
    assert json.loads((experiment / "model_meta.json").read_text())["experiment_kwargs"] == {"precision": "bf16"}
    assert json.loads((experiment / "run_settings.jsonl").read_text().splitlines()[0])["encode_kwargs"]["precision"] == "bf16"
    found = validate_results(out)
    assert found.checked == 2 and found.problems == []
    # the revision folder keeps the default model_meta.json the results repository requires
    assert json.loads((folder / "model_meta.json").read_text())["experiment_kwargs"] is None


def test_validate_flags_a_renamed_folder(trained_dir, tmp_path):
    out = tmp_path / "results"
    CliRunner().invoke(main, ["evaluate", str(trained_dir), "-t", "XQuADRMonolingualRetrieval", "--subsets", "th-th", "-o", str(out)])
    model_dir = next(out.iterdir())
    model_dir.rename(out / "someone__else")
    assert "structure" in {p.rule for p in validate_results(out).problems}
    assert CliRunner().invoke(main, ["results", "validate", str(out)]).exit_code == 1


def test_models_add_then_mteb_run_by_name(trained_dir, tmp_path, monkeypatch):
    folder = tmp_path / "defs"
    folder.mkdir()
    monkeypatch.setenv("XLR_BENCH_MODELS", str(folder))
    added = CliRunner().invoke(main, ["models", "add", str(trained_dir), "--folder", str(folder)])
    assert added.exit_code == 0, added.output
    # the weights' revision is recorded: mteb run files results by the registry's revision, not the weights'
    assert f'revision = "{weights_revision(trained_dir)}"' in (folder / "me5-small-hybrid-a050-s7.toml").read_text()
    listed = CliRunner().invoke(main, ["models", "list"])
    assert "xlr-bench/me5-small-hybrid-a050-s7" in listed.output and "alpha=0.50" in listed.output
    out = tmp_path / "mteb-out"
    run = subprocess.run(
        [sys.executable, "-m", "xlr_bench.cli.app", "mteb", "run", "-m", "xlr-bench/me5-small-hybrid-a050-s7",
         "-t", "XQuADRMonolingualRetrieval", "-l", "tha", "--output-folder", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    # --output-folder is the results root, as evaluate's -o: the two write into one revision folder
    folder = out / "xlr-bench__me5-small-hybrid-a050-s7" / weights_revision(trained_dir)
    subsets = {s["hf_subset"] for s in json.loads((folder / "XQuADRMonolingualRetrieval.json").read_text())["scores"]["test"]}
    assert subsets == {"th-th"}
    more = CliRunner().invoke(main, ["evaluate", str(trained_dir), "-t", "XQuADRSentenceMonolingualRetrieval",
                                     "--subsets", "th-th", "-o", str(out)])
    assert more.exit_code == 0, more.output
    assert sorted(p.name for p in folder.glob("*.json")) == [
        "XQuADRMonolingualRetrieval.json", "XQuADRSentenceMonolingualRetrieval.json", "model_meta.json"]
    found = validate_results(out)
    assert found.checked == 2 and found.problems == []
    # weights that are not the ones `models add` recorded are refused, not filed under the old revision
    with pytest.raises(XLRBenchError, match="changed since `xlr-bench models add` recorded revision 000000000000"):
        load_xlr_encoder("xlr-bench/me5-small-hybrid-a050-s7", revision="0" * 40)


def test_recipe_tag_makes_another_family(trained_dir):
    """A checkpoint of another recipe (--tag) gets its own name, and the report reads α, seed and family from it."""
    from xlr_bench.report.scores import HYBRID_RE, ModelRuns
    from xlr_bench.training.config import TrainConfig
    from xlr_bench.training.trainer import check_config

    record = json.loads((trained_dir / TRAINING_RECORD).read_text())
    record["config"] = {"tag": "300steps"}
    (trained_dir / TRAINING_RECORD).write_text(json.dumps(record))
    name = XLREncoder(str(trained_dir)).mteb_model_meta.name
    assert name == "xlr-bench/me5-small-hybrid-300steps-a050-s7"
    match = HYBRID_RE.search(name)
    assert (match["tag"], match["alpha"], match["seed"]) == ("-300steps", "050", "7")
    assert ModelRuns(name, 0.5, 7).family == "xlr-bench/me5-small-hybrid-300steps"
    assert ModelRuns("xlr-bench/me5-small-hybrid-a050-s7", 0.5, 7).family == "xlr-bench/me5-small-hybrid"
    for bad in ("300-steps", "Big", "a050", "s42"):  # would make the name ambiguous
        with pytest.raises(XLRBenchError, match="--tag"):
            check_config(TrainConfig(tag=bad))


def test_bad_checkpoints_and_names_are_clear_errors(tmp_path, tiny_model_dir):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    for weights in broken.rglob("*.safetensors"):
        weights.write_bytes(b"not a safetensors file")
    with pytest.raises(XLRBenchError, match="corrupt weights"):
        XLREncoder(str(broken))
    with pytest.raises(XLRBenchError, match="Known models: .*me5-small"):
        XLREncoder("no-such-model")
    assert "xlr-bench/me5-small" in [m.name for m in mteb.get_model_metas(model_names=["xlr-bench/me5-small"])]
    assert xlr_bench.TASK_NAMES
