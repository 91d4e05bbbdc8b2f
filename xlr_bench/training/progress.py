"""Training progress as a person reads it: transformers' progress bar, with each log as one line.

transformers' ``ProgressCallback`` writes every log as a raw Python dict
(``{'loss': '1.23', 'grad_norm': '3.4', 'learning_rate': '2e-05', 'epoch': '0.004'}``); this one
keeps the bar and writes ``step 3/5: loss 1.2300, learning rate 2.0e-05`` instead.
"""

from __future__ import annotations

from typing import Any

from transformers.trainer_callback import ProgressCallback


def format_log(step: int, max_steps: int, logs: dict[str, Any]) -> str:
    """One line for a training, validation or final log of the trainer."""
    where = f"step {step}/{max_steps}" if max_steps else "before training"
    if "train_runtime" in logs:
        loss = f", mean training loss {logs['train_loss']:.4f}" if "train_loss" in logs else ""
        return f"{where}: training done in {logs['train_runtime']:.1f} s{loss}"
    if "eval_loss" in logs:
        return f"{where}: validation loss {logs['eval_loss']:.4f} ({logs.get('eval_runtime', 0):.1f} s)"
    parts = [f"loss {logs['loss']:.4f}"] if "loss" in logs else []
    if "learning_rate" in logs:
        parts.append(f"learning rate {logs['learning_rate']:.1e}")
    if "grad_norm" in logs:
        parts.append(f"gradient norm {logs['grad_norm']:.2f}")
    return f"{where}: " + ", ".join(parts) if parts else where


class ReadableProgress(ProgressCallback):
    """``ProgressCallback`` whose log lines are :func:`format_log`'s."""

    def on_log(self, args, state, control, logs=None, **kwargs) -> None:
        if state.is_world_process_zero and self.training_bar is not None and logs:
            self.training_bar.write(format_log(state.global_step, state.max_steps, logs))
