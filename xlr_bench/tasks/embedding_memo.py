"""Encode each distinct (text, role) once per model, across subsets and tasks of one run.

The three settings of a LAReQA dataset reuse the same texts: XQuAD-R's 11 pooled subsets share
one 13k-candidate corpus, and its 110 cross-lingual subsets reuse every question 10 times. mteb's
``CachedEmbeddingWrapper`` caches per task name on disk; what is missing is an in-process store
shared by *all* tasks of a family, so that a full XQuAD-R evaluation encodes each text exactly
once. The memo is attached to the model object (weakly), so it works the same under
``mteb.evaluate``, ``mteb run`` and xlr-bench's own commands, for any encoder.

Texts are keyed by role (query / document) and by the encode kwargs that change embeddings
(e.g. precision); a model whose prompts differ per task *name* (instruction models) must not be
shared across tasks and is keyed by task name as well.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
from datasets import Dataset
from mteb.abstasks.task_metadata import TaskMetadata
from mteb.types import PromptType

from xlr_bench.core.mteb_adapter import create_dataloader, retrieval_texts


class EmbeddingMemo:
    """In-memory embeddings of one model, keyed by (scope, role, text)."""

    def __init__(self) -> None:
        self._store: dict[tuple[str, str, str], np.ndarray] = {}
        self._texts: dict[tuple[str, str], list[str]] = {}
        self.encoded = 0  # texts actually sent to the model
        self.requested = 0  # texts asked for (with repeats)

    def texts(self, dataset: Dataset, prompt_type: PromptType) -> list[str]:
        """mteb's text of each entry of a corpus or query set, as a plain list, once per dataset.

        mteb's ``_retrieval_texts`` re-maps the whole dataset on every call, and the subsets of a task
        share their corpora (XQuAD-R's 110 cross-lingual subsets use 11 of them); its column is a lazy
        ``Column`` that iterates row by row. Slicing makes one Arrow call, and the datasets fingerprint
        (same fingerprint, same content) keys the cache.
        """
        key = (getattr(dataset, "_fingerprint", None), prompt_type.value)
        if key[0] is None:
            return list(retrieval_texts(dataset, prompt_type)[:])
        if key not in self._texts:
            self._texts[key] = list(retrieval_texts(dataset, prompt_type)[:])
        return self._texts[key]

    def __len__(self) -> int:
        return len(self._store)

    def encode(
        self,
        model: Any,
        texts: list[str],
        *,
        prompt_type: PromptType,
        task_metadata: TaskMetadata,
        hf_split: str,
        hf_subset: str,
        encode_kwargs: dict[str, Any],
    ) -> np.ndarray:
        """Embeddings of ``texts`` in order, encoding only those not seen before."""
        scope = _scope(model, task_metadata, encode_kwargs)
        self.requested += len(texts)
        missing = list(dict.fromkeys(t for t in texts if (scope, prompt_type.value, t) not in self._store))
        if missing:
            loader = create_dataloader(
                Dataset.from_dict({"id": [str(i) for i in range(len(missing))], "text": missing}),
                task_metadata=task_metadata,
                prompt_type=prompt_type,
                batch_size=encode_kwargs.get("batch_size", 32),
            )
            vectors = model.encode(
                loader,
                task_metadata=task_metadata,
                hf_split=hf_split,
                hf_subset=hf_subset,
                prompt_type=prompt_type,
                **encode_kwargs,
            )
            if hasattr(vectors, "detach"):  # a torch tensor (torch itself is not imported to register tasks)
                vectors = vectors.detach().float().cpu().numpy()
            vectors = np.asarray(vectors, dtype=np.float32)
            for text, vector in zip(missing, vectors, strict=True):
                self._store[(scope, prompt_type.value, text)] = vector
            self.encoded += len(missing)
        return np.stack([self._store[(scope, prompt_type.value, t)] for t in texts]) if texts else np.empty((0, 0))


def _scope(model: Any, task_metadata: TaskMetadata, encode_kwargs: dict[str, Any]) -> str:
    settings = ",".join(f"{k}={v}" for k, v in sorted(encode_kwargs.items()) if k not in {"batch_size", "show_progress_bar"})
    prompts = getattr(model, "model_prompts", None) or {}
    per_task = task_metadata.name in prompts
    return f"{task_metadata.name if per_task else 'shared'}|{settings}"


_MEMOS: weakref.WeakKeyDictionary[Any, EmbeddingMemo] = weakref.WeakKeyDictionary()


def memo_for(model: Any) -> EmbeddingMemo:
    """The memo attached to ``model`` (created on first use, freed with the model)."""
    memo = _MEMOS.get(model)
    if memo is None:
        memo = _MEMOS[model] = EmbeddingMemo()
    return memo
