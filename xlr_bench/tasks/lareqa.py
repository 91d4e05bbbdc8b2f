"""The ``lareqa`` loader: XQuAD-R / MLQA-R in the multilingual, monolingual and cross-lingual settings.

Subset names: ``de`` (multilingual: German questions, pooled corpus of all languages), ``de-de``
(monolingual) and ``de-en`` (cross-lingual: German questions, English corpus) — always
``<query language>-<corpus language>``.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, ClassVar

from datasets import Dataset

from xlr_bench.tasks.full_rank import FullRankRetrieval
from xlr_bench.tasks.hf_export import hub_reference
from xlr_bench.data.lareqa import LAReQAData, candidate_text, load_lareqa
from xlr_bench.definitions.tasks import TaskDefinition

SPLIT = "test"


def subset_languages(definition: TaskDefinition) -> dict[str, tuple[str, list[str]]]:
    """``{subset: (query language, corpus languages)}`` for the definition's setting."""
    langs = sorted(definition.languages)
    if definition.setting == "multilingual":
        return {lang: (lang, langs) for lang in langs}
    if definition.setting == "monolingual":
        return {f"{lang}-{lang}": (lang, [lang]) for lang in langs}
    return {f"{x}-{y}": (x, [y]) for x, y in itertools.permutations(langs, 2)}


class LAReQARetrieval(FullRankRetrieval):
    """Base class; :func:`xlr_bench.tasks.factory.build_task_class` makes one subclass per definition.

    Candidates follow the LAReQA protocol (sentence + paragraph context) unless the definition says
    ``source.candidates = "sentence"`` (LAReQA's sentence-only ablation, a task of its own name so
    its results are never mixed with the protocol's); ``sentence_only=True`` forces it per instance.
    """

    definition: ClassVar[TaskDefinition]

    @staticmethod
    def eval_langs(definition: TaskDefinition) -> dict[str, list[str]]:
        """mteb's ``eval_langs``: a subset's query language, plus its corpus language when single."""
        iso = definition.languages
        return {
            subset: list(dict.fromkeys([iso[q], *(iso[c] for c in corpus)])) if len(corpus) == 1 else [iso[q]]
            for subset, (q, corpus) in subset_languages(definition).items()
        }

    @staticmethod
    def dataset_reference(definition: TaskDefinition) -> dict[str, str]:
        """mteb's ``dataset`` field: the task's hub repo id and revision (see :func:`hub_reference`)."""
        return hub_reference(definition)

    def __init__(self, sentence_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sentence_only = sentence_only or self.definition.source.get("candidates") == "sentence"

    def load_native(self) -> None:
        data = load_lareqa(_files(self.definition), os.environ.get("XLR_BENCH_DATA"))
        corpora: dict[tuple[str, ...], Dataset] = {}
        queries = {lang: Dataset.from_dict({"id": [q.id for q in qs], "text": [q.text for q in qs]})
                   for lang, qs in data.questions.items()}
        self.dataset = {}
        for subset, (qlang, clangs) in subset_languages(self.definition).items():
            if subset not in self.hf_subsets:
                continue
            key = tuple(clangs)
            if key not in corpora:
                corpora[key] = self._corpus(data, clangs)
            relevant = {q.id: {cid: 1 for cid in sorted(data.relevant(q.qid, clangs))} for q in data.questions[qlang]}
            answerable = [i for i, q in enumerate(data.questions[qlang]) if relevant[q.id]]
            # A question whose id has no answer in the corpus language (MLQA-R's X->Y pairs) is no query
            # of that subset: mteb would drop it when scoring, but the dataset and its statistics would not.
            subset_queries = queries[qlang] if len(answerable) == len(relevant) else queries[qlang].select(answerable)
            self.dataset[subset] = {SPLIT: {
                "corpus": corpora[key], "queries": subset_queries,
                "relevant_docs": {qid: docs for qid, docs in relevant.items() if docs}, "top_ranked": None}}

    def _corpus(self, data: LAReQAData, langs: list[str]) -> Dataset:
        cands = [c for lang in langs for c in data.candidates[lang]]
        return Dataset.from_dict({
            "id": [c.id for c in cands],
            "text": [candidate_text(c, self.sentence_only) for c in cands],
            "title": [""] * len(cands),
        })


def _files(definition: TaskDefinition) -> dict[str, str]:
    folder = f"lareqa/{definition.source['dataset']}"
    return {lang: f"{folder}/{lang}.json" for lang in definition.languages}
