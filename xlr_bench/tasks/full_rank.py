"""An mteb retrieval task that ranks the *whole* corpus, for metrics a top-k run cannot give.

Subclasses only load data (``load_native`` filling ``self.dataset`` in mteb's v2 format from the
pinned files; ``XLR_BENCH_HF_DATA`` switches to an export or the hub, read by mteb's own loader); scoring
is shared here. For an encoder, queries and corpus are embedded through the model's
:class:`~xlr_bench.tasks.embedding_memo.EmbeddingMemo` (each distinct text once per run), every query is
scored against every document in blocks, and the result holds mteb's standard metrics (from the
top-k run: pytrec_eval and the rest of mteb's scorer computed on arrays, same numbers,
:mod:`xlr_bench.tasks.standard_scores`) plus full-ranking metrics: LAReQA's ``map`` and,
on pooled subsets, ``rank_distance``; and the per-query values behind them (``per_query``, in
query-id order, with a hash of that order) so reports can bootstrap and pair models query by query. Search models and cross-encoders cannot be ranked in full and
fall back to mteb's standard evaluation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

from mteb.abstasks.retrieval import AbsTaskRetrieval
from mteb.models import EncoderProtocol, SearchProtocol
from mteb.types import PromptType

from xlr_bench.core.mteb_adapter import make_score_dict
from xlr_bench.tasks.standard_scores import standard_scores
from xlr_bench.tasks.embedding_memo import memo_for
from xlr_bench.tasks.hf_export import hf_data_setting, load_with_mteb
from xlr_bench.metrics import encode_values, full_rank_scores, rank_corpus


def _column(dataset: Any, name: str) -> list[Any]:
    """A whole column as a list, honouring ``select``-ed rows (row-wise iteration is ~50x slower)."""
    return dataset.select_columns([name])[:][name]


def _with_positives(relevant_docs: dict[str, dict[str, int]], queries: Any) -> tuple[dict[str, dict[str, int]], Any]:
    """mteb's rule before scoring: drop queries whose relevance judgements are empty (reading the id
    column in one call; mteb's ``_filter_queries_without_positives`` walks it row by row)."""
    kept = {qid: docs for qid, docs in relevant_docs.items() if len(docs) > 0}
    return kept, queries.select([i for i, qid in enumerate(_column(queries, "id")) if qid in kept])


class FullRankRetrieval(AbsTaskRetrieval):
    """Base of xlr-bench's retrieval tasks; ``pooled`` tasks also get the rank-distance metric."""

    k_values = (1, 3, 5, 10, 20, 100)
    pooled: ClassVar[bool] = False

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """The pinned raw files (:meth:`load_native`), or an export / the hub via mteb's own loader
        when ``XLR_BENCH_HF_DATA`` says so (see :mod:`xlr_bench.tasks.hf_export`)."""
        if self.data_loaded:
            return
        setting = hf_data_setting()
        if setting is None:
            self.load_native()
        else:
            self.dataset = load_with_mteb(self, setting)
        self.data_loaded = True

    def load_native(self) -> None:
        """Fill ``self.dataset`` (mteb's v2 format) from the task's pinned source; one per loader."""
        raise NotImplementedError

    @classmethod
    def score_names(cls, pooled: bool) -> list[str]:
        """The scores a subset's result holds that can serve as ``main_score`` (mteb's standard ones at
        ``k_values``, the full-ranking mAP and, on pooled subsets, the rank distance)."""
        standard = [f"{metric}_at_{k}" for metric in ("ndcg", "map", "recall", "precision", "mrr", "hit_rate")
                    for k in cls.k_values]
        return standard + ["accuracy", "map"] + (["rank_distance"] if pooled else [])

    def _evaluate_subset(
        self,
        model: Any,
        data_split: Any,
        *,
        encode_kwargs: Any,
        hf_split: str,
        hf_subset: str,
        prediction_folder: Path | None = None,
        num_proc: int | None = None,
        timer: Any,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if not isinstance(model, EncoderProtocol) or isinstance(model, SearchProtocol):
            return super()._evaluate_subset(
                model, data_split, encode_kwargs=encode_kwargs, hf_split=hf_split, hf_subset=hf_subset,
                prediction_folder=prediction_folder, num_proc=num_proc, timer=timer, **kwargs,
            )
        qrels, queries = _with_positives(data_split["relevant_docs"], data_split["queries"])
        corpus = data_split["corpus"]
        memo = memo_for(model)
        common = dict(task_metadata=self.metadata, hf_split=hf_split, hf_subset=hf_subset, encode_kwargs=dict(encode_kwargs))
        with timer("Encoding queries", split=hf_split, subset=hf_subset):
            query_emb = memo.encode(model, memo.texts(queries, PromptType.query), prompt_type=PromptType.query, **common)
        with timer("Encoding corpus", split=hf_split, subset=hf_subset):
            # mteb's own text of a document: its title and text joined
            corpus_emb = memo.encode(model, memo.texts(corpus, PromptType.document), prompt_type=PromptType.document, **common)
        with timer("Scoring", split=hf_split, subset=hf_subset):
            ranking = rank_corpus(
                _column(queries, "id"), query_emb, _column(corpus, "id"), corpus_emb, qrels,
                top_k=self._top_k, similarity=model.similarity, ignore_identical_ids=self.ignore_identical_ids,
            )
            standard = standard_scores(ranking.run, qrels, list(self.k_values))
            full, per_query = full_rank_scores(ranking, pooled=self.pooled)
            ids = "\n".join(sorted(ranking.relevant_ranks)).encode()
            # kept per query: what reports test (mAP@20, rank distance) and the task's main score
            kept = {"map_at_20", "rank_distance", self.metadata.main_score}
            full |= {"per_query": {name: encode_values(v) for name, v in per_query.items() if name in kept},
                     "per_query_ids_sha256": hashlib.sha256(ids).hexdigest()}
        if prediction_folder:
            self._save_task_predictions(ranking.run, model, prediction_folder, hf_subset=hf_subset, hf_split=hf_split)
        return make_score_dict(
            ndcg=standard.ndcg, _map=standard.map, recall=standard.recall, precision=standard.precision,
            mrr=standard.mrr, naucs=standard.naucs, naucs_mrr=standard.naucs_mrr, hit_rate=standard.hit_rate,
            task_scores=full,
        )
