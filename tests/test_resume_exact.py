"""The resume contract: a run interrupted at any point and rerun with the same command ends with the
weights of the uninterrupted run, bit for bit; and a rerun refuses what would break that.

Kills are simulated in-process (KeyboardInterrupt, what Ctrl-C raises) at the points where a real
kill leaves a distinct state on disk: before the first checkpoint (the untrained model's validation
loss already cached), in the middle of writing a checkpoint, in the middle of the final save, and
after the run finished. Anything that changes what checkpoints hold (e.g. dropping optimizer or
random state for speed) must keep this test passing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.models.encoder import resolve_source, weights_hash
from xlr_bench.training import trainer as trainer_module
from xlr_bench.training.trainer import CONFIG_FILE, INPUTS_FILE, TrainConfig, train


@pytest.fixture(scope="module")
def pairs_file(xquad, tmp_path_factory):
    """Real XQuAD-R training pairs (questions × answer sentences over three languages) as a user JSONL."""
    from xlr_bench.data.lareqa import candidate_text

    by_id = {c.id: c for lang in ("de", "en", "es") for c in xquad.candidates[lang]}
    rows = []
    for question in xquad.questions["en"][:60]:
        for lang_q in ("de", "en", "es"):
            text = next((q.text for q in xquad.questions[lang_q] if q.qid == question.qid), None)
            for lang_p in ("de", "en", "es"):
                answer = xquad.answer_of.get((lang_p, question.qid))
                if text and answer:
                    rows.append({"id": question.qid, "lang_q": lang_q, "question": text, "lang_p": lang_p,
                                 "passage": candidate_text(by_id[answer])})
    path = tmp_path_factory.mktemp("pairs") / "xquad-pairs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def config(tiny_model_dir, pairs_file) -> TrainConfig:
    return TrainConfig(base=str(tiny_model_dir), train_data=[str(pairs_file)], alpha=0.5, steps=4, batch_size=8,
                       eval_fraction=0.1, eval_steps=2, save_steps=2, learning_rate=1e-3,
                       eval_tasks=["AfriQARetrieval"])


@pytest.fixture(scope="module")
def reference(config, tmp_path_factory):
    """The uninterrupted run."""
    return train(config, tmp_path_factory.mktemp("reference") / "run")


def _weights(folder) -> dict[str, np.ndarray]:
    return load_file(folder / "model.safetensors")


def _interrupted(monkeypatch, target, name, when):
    """Patch ``target.name`` to raise KeyboardInterrupt when ``when(self)`` holds."""
    original = getattr(target, name)

    def patched(self, *args, **kwargs):
        if when(self):
            raise KeyboardInterrupt(f"simulated kill in {name}")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(target, name, patched)


def test_killed_at_every_point_the_rerun_ends_bit_identical(config, reference, tmp_path, monkeypatch):
    from sentence_transformers import SentenceTransformerTrainer
    from transformers import TrainerState

    run = tmp_path / "run"
    # 1. Killed during step 2, before the first checkpoint: the untrained model's validation loss is
    #    cached, so the rerun skips that evaluation (and its draw from torch's generator).
    with monkeypatch.context() as m:
        _interrupted(m, SentenceTransformerTrainer, "compute_loss", lambda t: t.model.training and t.state.global_step == 1)
        with pytest.raises(KeyboardInterrupt):
            train(config, run)
    assert (run / trainer_module.BASE_EVAL_FILE).is_file() and not (run / "checkpoints" / "checkpoint-2").exists()
    # 2. Killed while writing checkpoint-4, the last (its weights written, its trainer state not).
    with monkeypatch.context() as m:
        _interrupted(m, TrainerState, "save_to_json", lambda s: s.global_step == 4)
        with pytest.raises(KeyboardInterrupt):
            train(config, run)
    assert (run / "checkpoints" / "checkpoint-4" / "model.safetensors").is_file()
    assert not (run / "checkpoints" / "checkpoint-4" / "trainer_state.json").exists()
    # 3. Killed in the middle of the final save (two files of the model moved into place).
    moved = []

    def move_twice(source, target):
        if len(moved) == 2:
            raise KeyboardInterrupt("simulated kill in the final save")
        moved.append(target)
        original_move(source, target)

    original_move = trainer_module._move
    with monkeypatch.context() as m:
        m.setattr(trainer_module, "_move", move_twice)
        with pytest.raises(KeyboardInterrupt):
            train(config, run)
    assert not (run / "xlr_bench_training.json").exists() and (run / trainer_module.FINAL_STAGING).is_dir()
    with pytest.raises(XLRBenchError, match="unfinished training run"):  # not scored half-saved
        resolve_source(str(run))
    # 4. The rerun finishes: same weights as the uninterrupted run, bit for bit.
    train(config, run)
    record = json.loads((run / "xlr_bench_training.json").read_text())
    assert record["steps"] == 4 and record["resumed_from_step"] == 4
    assert not (run / trainer_module.FINAL_STAGING).exists()
    expected, got = _weights(reference), _weights(run)
    assert expected.keys() == got.keys()
    assert [k for k in expected if not np.array_equal(expected[k], got[k])] == []
    # 5. Rerun after it finished: nothing is written again.
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    train(config, run)
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before


def test_the_last_checkpoint_holds_weights_and_trainer_state_only(reference):
    """Nothing resumes from the last step's checkpoint (a rerun finds the run finished), so it has no
    optimizer, schedule or random state; the checkpoint before it, which a rerun may resume from, has
    all of them. The final model is the best checkpoint's weights, bit for bit, whether transformers
    reloaded them (best before the end) or kept those in memory (best at the end)."""
    from transformers import TrainerState

    checkpoints, resume_state = reference / "checkpoints", ("optimizer.pt", "scheduler.pt", "rng_state.pth")
    assert [name for name in resume_state if not (checkpoints / "checkpoint-2" / name).is_file()] == []
    last = checkpoints / "checkpoint-4"
    assert [name for name in resume_state if (last / name).exists()] == []
    assert (last / "model.safetensors").is_file() and (last / "trainer_state.json").is_file()
    state = TrainerState.load_from_json(str(last / "trainer_state.json"))
    best = checkpoints / Path(state.best_model_checkpoint).name
    expected, got = _weights(best), _weights(reference)
    assert expected.keys() == got.keys()
    assert [k for k in expected if not np.array_equal(expected[k], got[k])] == []


def test_a_rerun_on_edited_data_is_refused(config, pairs_file, tmp_path):
    run = tmp_path / "run"
    edited = tmp_path / pairs_file.name
    shutil.copy(pairs_file, edited)
    moved = TrainConfig(**{**asdict(config), "train_data": [str(edited)]})
    run.mkdir()
    (run / CONFIG_FILE).write_text(json.dumps(asdict(moved)))
    (run / INPUTS_FILE).write_text(json.dumps({"data_checksums": {edited.name: "0" * 64},
                                               "base_model_hash": weights_hash(Path(config.base))}))
    with pytest.raises(XLRBenchError, match=r"xquad-pairs.jsonl: sha256 000000000000… when it started, [0-9a-f]{12}… now"):
        train(moved, run)
    assert not (run / "checkpoints").exists()


@pytest.mark.parametrize("missing", ["optimizer.pt", "rng_state.pth", "scheduler.pt"])
def test_a_checkpoint_without_its_resume_state_is_refused(config, reference, tmp_path, missing):
    run = tmp_path / "run"
    run.mkdir()
    for name in (CONFIG_FILE, INPUTS_FILE, trainer_module.BASE_EVAL_FILE):
        shutil.copy(reference / name, run / name)
    shutil.copytree(reference / "checkpoints" / "checkpoint-2", run / "checkpoints" / "checkpoint-2")
    (run / "checkpoints" / "checkpoint-2" / missing).unlink()
    with pytest.raises(XLRBenchError, match=f"checkpoint-2 lacks {missing}"):
        train(config, run)
    assert not (run / "checkpoints" / "checkpoint-4").exists()


def test_a_full_disk_while_checkpointing_is_one_message(config, tmp_path, monkeypatch):
    """torch's writer reports a full disk as "unexpected pos"; the run stops with what to do, and the
    half-written checkpoint (no trainer state) is what a rerun discards."""
    from transformers import Trainer

    def full_disk(self, output_dir):
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 921664 vs 921552")

    monkeypatch.setattr(Trainer, "_save_optimizer_and_scheduler", full_disk)
    with pytest.raises(XLRBenchError, match="is the disk full.*resumes from the last complete checkpoint"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints" / "checkpoint-2" / "trainer_state.json").exists()
