"""Hybrid batch sampler and trainer on real MLQA-R / AfriQA pairs and a tiny local model."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from safetensors.numpy import load_file
from scipy.stats import binom
from sentence_transformers import SentenceTransformer

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.training.sampler import HybridBatchSampler
from xlr_bench.training.trainer import TrainConfig, train
from xlr_bench.training.pairs import Pair, afriqa_pairs, check_zero_shot, jsonl_pairs, lareqa_pairs


@pytest.fixture(scope="module")
def mlqa_pairs(data_dir):
    return lareqa_pairs("mlqa-r").pairs


@pytest.fixture(scope="module")
def mixed_pairs(mlqa_pairs):
    return mlqa_pairs + afriqa_pairs().pairs


def test_lareqa_pairs_cover_every_language_pair(mlqa_pairs):
    kinds = Counter(p.monolingual for p in mlqa_pairs)
    assert kinds[True] == 517 + 512 + 1148 + 500 + 507 + 511 + 504  # one mono pair per question
    assert kinds[False] > kinds[True]
    assert {f"{p.lang_q}-{p.lang_p}" for p in mlqa_pairs if not p.monolingual} >= {"de-en", "en-de", "zh-hi"}


def test_afriqa_pairs_are_cross_and_pivot_mono(data_dir):
    pairs = afriqa_pairs().pairs
    cross = [p for p in pairs if not p.monolingual]
    mono = [p for p in pairs if p.monolingual]
    assert len(cross) == len(mono) > 0
    assert {p.lang_q for p in cross} <= {"bem", "fon", "hau", "ibo", "kin", "twi", "yor", "zul"}
    assert {p.lang_p for p in pairs} == {"en", "fr"}


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_batches_follow_alpha_and_the_rules(mixed_pairs, alpha):
    sampler = HybridBatchSampler(None, 32, True, seed=3, pairs=mixed_pairs, alpha=alpha)
    batches = sampler.plan(0)
    n = len(batches)
    mono = [b for b in batches if b.monolingual]
    lo, hi = binom.ppf(0.0005, n, alpha), binom.ppf(0.9995, n, alpha)
    assert lo <= len(mono) <= hi, (len(mono), n, alpha)
    for batch in batches:
        rows = [mixed_pairs[i] for i in batch.indices]
        assert len({r.group for r in rows}) == len(rows)  # no parallel duplicates
        assert len({r.source for r in rows}) == 1
        if batch.monolingual:
            assert all(r.lang_q == r.lang_p == batch.key for r in rows)
        else:
            assert all(r.lang_q != r.lang_p for r in rows)
    assert sum(len(b.indices) == 32 for b in batches) >= 0.99 * n
    # sources are mixed in proportion to their size
    share_afriqa = sum(b.source == "afriqa" for b in batches) / n
    assert 0.0 < share_afriqa < 0.5 or alpha in (0.0, 1.0)


def test_cross_mode_batch_uses_one_pair_and_size_sampling(mlqa_pairs):
    sampler = HybridBatchSampler(None, 16, True, seed=1, pairs=mlqa_pairs, alpha=0.5, cross_mode="batch",
                                 language_sampling="size")
    for batch in sampler.plan(0)[:200]:
        rows = [mlqa_pairs[i] for i in batch.indices]
        if not batch.monolingual:
            assert {f"{r.lang_q}-{r.lang_p}" for r in rows} == {batch.key}
    mono_langs = Counter(b.key for b in sampler.plan(0) if b.monolingual)
    assert mono_langs["en"] > mono_langs["es"]  # English has twice the questions


def test_deterministic_and_ddp_ranks_agree(mlqa_pairs):
    one = HybridBatchSampler(None, 16, True, seed=5, pairs=mlqa_pairs, alpha=0.5)
    again = HybridBatchSampler(None, 16, True, seed=5, pairs=mlqa_pairs, alpha=0.5)
    assert [b.indices for b in one.plan(2)] == [b.indices for b in again.plan(2)]
    assert [b.indices for b in one.plan(0)] != [b.indices for b in one.plan(1)]
    ddp = HybridBatchSampler(None, 16, True, seed=5, pairs=mlqa_pairs, alpha=0.5, world_size=2)
    plan = ddp.plan(0)
    for rank0, rank1 in zip(plan[0::2], plan[1::2]):  # accelerate deals batch i to rank i % 2
        assert (rank0.monolingual, rank0.key) == (rank1.monolingual, rank1.key)
        groups0 = {mlqa_pairs[i].group for i in rank0.indices}
        assert not groups0 & {mlqa_pairs[i].group for i in rank1.indices}
        assert not set(rank0.indices) & set(rank1.indices)


def test_bad_sampler_input_is_refused(mlqa_pairs, tmp_path):
    cross_only = [p for p in mlqa_pairs if not p.monolingual]
    with pytest.raises(XLRBenchError, match="no monolingual pairs"):
        HybridBatchSampler(None, 8, True, pairs=cross_only, alpha=0.5)
    with pytest.raises(XLRBenchError, match="no cross-lingual pairs"):
        HybridBatchSampler(None, 8, True, pairs=[p for p in mlqa_pairs if p.monolingual], alpha=0.2)
    with pytest.raises(XLRBenchError, match=r"\[0, 1\]"):
        HybridBatchSampler(None, 8, True, pairs=mlqa_pairs, alpha=-0.1)
    few = [Pair(f"g{i % 3}", "de", "q", "de", "p", "x") for i in range(30)]
    with pytest.raises(XLRBenchError, match="exceeds the 3 distinct questions"):
        HybridBatchSampler(None, 8, True, pairs=few, alpha=1.0)
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(XLRBenchError, match="empty"):
        jsonl_pairs(tmp_path / "empty.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"id": 1, "lang_q": "de"}\n')
    with pytest.raises(XLRBenchError, match="record 1: missing field"):
        jsonl_pairs(tmp_path / "bad.jsonl")
    (tmp_path / "broken.jsonl").write_text('{"id": 1,\n')
    with pytest.raises(XLRBenchError, match="broken.jsonl, line 1"):
        jsonl_pairs(tmp_path / "broken.jsonl")


def test_zero_shot_hygiene():
    with pytest.raises(XLRBenchError, match="XQuADRRetrieval .built from xquad-r"):
        check_zero_shot(["xquad-r"], ["XQuADRRetrieval"], allow_overlap=False)
    check_zero_shot(["xquad-r"], ["XQuADRRetrieval"], allow_overlap=True)
    check_zero_shot(["mlqa-r", "afriqa"], ["XQuADRRetrieval", "XQuADRCrossLingualRetrieval"], allow_overlap=False)


def _config(**overrides) -> TrainConfig:
    base = dict(train_data=["mlqa-r"], alpha=0.5, steps=6, batch_size=8, eval_fraction=0.02, max_pairs=600,
                eval_tasks=["XQuADRRetrieval"], save_steps=3, eval_steps=3, learning_rate=1e-3)
    base.update(overrides)
    return TrainConfig(**base)


def test_training_lowers_validation_loss_and_writes_a_record(tiny_model_dir, tmp_path, capsys):
    out = train(_config(base=str(tiny_model_dir), steps=30, eval_steps=30, save_steps=30, max_pairs=2000), tmp_path / "run")
    record = json.loads((out / "xlr_bench_training.json").read_text())
    assert record["steps"] == 30 and record["alpha"] == 0.5
    assert record["validation_loss"]["after"] < record["validation_loss"]["before"]
    printed = capsys.readouterr()
    shown = printed.out + printed.err
    # progress lines a person reads, not the trainer's raw log dicts
    assert f"step 30/30: validation loss {record['validation_loss']['after']:.4f}" in shown
    assert "step 30/30: training done in" in shown and "{'loss'" not in shown and "{'eval_loss'" not in shown
    assert 0 < record["sampler"]["monolingual_share"] < 1
    assert record["data_checksums"] and record["versions"]["sentence-transformers"]


def test_resume_reproduces_the_uninterrupted_run(tiny_model_dir, tmp_path, monkeypatch):
    from sentence_transformers import SentenceTransformerTrainer

    full = train(_config(base=str(tiny_model_dir)), tmp_path / "full")
    original = SentenceTransformerTrainer.compute_loss

    def crash_after_checkpoint(self, *args, **kwargs):
        if self.state.global_step == 4:
            raise KeyboardInterrupt("simulated kill")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformerTrainer, "compute_loss", crash_after_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        train(_config(base=str(tiny_model_dir)), tmp_path / "killed")
    monkeypatch.setattr(SentenceTransformerTrainer, "compute_loss", original)
    resumed = train(_config(base=str(tiny_model_dir)), tmp_path / "killed")
    record = json.loads((resumed / "xlr_bench_training.json").read_text())
    assert record["resumed_from_step"] == 3
    a, b = load_file(full / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-6, err_msg=key)


def test_runs_killed_while_saving_or_after_the_last_checkpoint_finish_the_same(tiny_model_dir, tmp_path):
    run = train(_config(base=str(tiny_model_dir), max_length=64), tmp_path / "run")
    finished = load_file(run / "model.safetensors")

    def killed_before_the_record() -> None:
        (run / "xlr_bench_training.json").unlink()
        (run / "model.safetensors").unlink()

    # Killed while writing checkpoint-6: the trainer writes trainer_state.json last.
    killed_before_the_record()
    (run / "checkpoints" / "checkpoint-6" / "trainer_state.json").unlink()
    train(_config(base=str(tiny_model_dir), max_length=64), run)
    record = json.loads((run / "xlr_bench_training.json").read_text())
    assert record["steps"] == 6 and record["resumed_from_step"] == 3
    # Killed after checkpoint-6, before the final model and record: no step is trained again.
    killed_before_the_record()
    train(_config(base=str(tiny_model_dir), max_length=64), run)
    record = json.loads((run / "xlr_bench_training.json").read_text())
    assert record["steps"] == 6 and record["resumed_from_step"] == 6
    # Trained on 64 tokens, scored like the base model (128): no truncation artefact against the base.
    assert record["max_length"] == {"training": 64, "scoring": 128}
    assert SentenceTransformer(str(run), device="cpu").max_seq_length == 128
    again = load_file(run / "model.safetensors")
    for key in finished:
        np.testing.assert_allclose(finished[key], again[key], atol=1e-6, err_msg=key)


def test_runs_of_a_sweep_share_the_base_validation_loss(tiny_model_dir, tmp_path):
    shared = tmp_path / "base_validation_loss.json"
    quick = dict(base=str(tiny_model_dir), steps=2, save_steps=2, eval_steps=2)
    first = json.loads((train(_config(**quick), tmp_path / "a", shared) / "xlr_bench_training.json").read_text())
    (key, loss), = json.loads(shared.read_text()).items()
    assert loss == first["validation_loss"]["before"]
    shared.write_text(json.dumps({key: 99.0}))  # a marker: a run that reads the shared loss reports it
    other_alpha = train(_config(**quick, alpha=0.25, seed=7), tmp_path / "b", shared)
    assert json.loads((other_alpha / "xlr_bench_training.json").read_text())["validation_loss"]["before"] == 99.0
    # another validation setting (shorter texts) is another key: computed, not borrowed
    shorter = train(_config(**quick, max_length=64), tmp_path / "c", shared)
    assert json.loads((shorter / "xlr_bench_training.json").read_text())["validation_loss"]["before"] != 99.0
    assert len(json.loads(shared.read_text())) == 2
    # checkpoints do not carry the training pairs in the pickled trainer arguments
    assert (tmp_path / "c" / "checkpoints" / "checkpoint-2" / "training_args.bin").stat().st_size < 20_000


def test_rerun_with_another_configuration_is_refused(tiny_model_dir, tmp_path):
    train(_config(base=str(tiny_model_dir), steps=2, save_steps=2, eval_steps=2), tmp_path / "run")
    with pytest.raises(XLRBenchError, match="alpha: 0.5 there, 0.25 now"):
        train(_config(base=str(tiny_model_dir), steps=2, save_steps=2, eval_steps=2, alpha=0.25), tmp_path / "run")
