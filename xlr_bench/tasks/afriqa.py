"""The ``afriqa`` loader: AfriQA as cross-lingual retrieval (African-language questions, English/French passages).

One subset per African language (``hau``, ``yor``, ...). Its queries are that language's questions of
the split; the corpus is the *pooled* gold passages of the split across all languages (title +
context, English for most languages, French for fon and wol), so a question must find its passage
among every language's passages. Document ids are ``<lang>:<id>`` because AfriQA numbers questions
per language file.

A language has a subset only when the registry holds gold passages for every evaluated split (wol
has none at all; swa has them for test only, yor for train and test): without gold passages its
questions cannot be judged, so it is skipped rather than scored as all-miss.

Two cleaning rules, both because the raw gold-passage files would otherwise mis-score a model:

* a gold passage with an empty context (the annotators found none) is not a document, and its
  question is not a query;
* the same passage is often the gold passage of several questions (in one language or across
  languages). Every copy of a question's passage text is relevant to it; otherwise a model would be
  penalised for ranking an identical copy first, and the tie-break would decide the score.

``source.query_field`` picks the query text: ``question`` (the African-language question, the
default) or ``translated_question`` (its human translation into the pivot language, the upper
reference of AfriQAPivotRetrieval).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, ClassVar

from datasets import Dataset

from xlr_bench.data.files import locate, read_jsonl, registry
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.tasks.full_rank import FullRankRetrieval
from xlr_bench.tasks.hf_export import hub_reference
from xlr_bench.definitions.tasks import TaskDefinition

DATASET = "afriqa"
PIVOT_ISO = {"en": "eng-Latn", "fr": "fra-Latn"}
QUERY_FIELDS = ("question", "translated_question")


@dataclass(frozen=True)
class LanguageFiles:
    """The registered files of one language and split, and the pivot language of its passages."""

    queries: str
    passages: str
    pivot: str


def language_files(lang: str, split: str) -> LanguageFiles | None:
    """The files of ``lang`` for ``split`` from the data registry, or None without gold passages.

    Read from the registry (not the disk) so that subsets are known at ``import xlr_bench`` without data.
    """
    for pivot in PIVOT_ISO:
        queries = f"afriqa/queries/{lang}/queries.afriqa.{lang}.{pivot}.{split}.json"
        passages = f"afriqa/gold_passages/{lang}/gold_span_passages.afriqa.{lang}.{pivot}.{split}.json"
        if queries in registry():
            return LanguageFiles(queries, passages, pivot) if passages in registry() else None
    return None


def subsets(definition: TaskDefinition) -> dict[str, dict[str, LanguageFiles]]:
    """``{language: {split: files}}`` for the definition's languages that have gold passages in every split."""
    splits = definition.metadata["eval_splits"]
    found = {lang: {split: language_files(lang, split) for split in splits} for lang in sorted(definition.languages)}
    usable = {lang: files for lang, files in found.items() if all(files.values())}
    if not usable:
        raise XLRBenchError(
            f"{definition.path}: no language of field 'languages' has AfriQA gold passages for "
            f"metadata.eval_splits = {splits}; use \"test\" (bem fon hau ibo kin swa twi yor zul) or \"train\"/\"dev\"."
        )
    return usable


def _query_field(definition: TaskDefinition) -> str:
    field = definition.source.get("query_field", "question")
    if field not in QUERY_FIELDS:
        raise XLRBenchError(
            f"{definition.path}: field 'source.query_field' is {field!r}; use one of {', '.join(QUERY_FIELDS)}."
        )
    return field


class AfriQARetrieval(FullRankRetrieval):
    """Base class; :func:`xlr_bench.tasks.factory.build_task_class` makes one subclass per definition."""

    definition: ClassVar[TaskDefinition]

    @staticmethod
    def eval_langs(definition: TaskDefinition) -> dict[str, list[str]]:
        """A subset's query language (the African language, or its pivot for translated questions),
        then the languages of the pooled corpus (English, plus French when fon is in it)."""
        found = subsets(definition)
        corpus = sorted({PIVOT_ISO[f.pivot] for files in found.values() for f in files.values()})
        translated = _query_field(definition) == "translated_question"
        langs = {}
        for lang, files in found.items():
            query = PIVOT_ISO[next(iter(files.values())).pivot] if translated else definition.languages[lang]
            langs[lang] = list(dict.fromkeys([query, *corpus]))
        return langs

    @staticmethod
    def dataset_reference(definition: TaskDefinition) -> dict[str, str]:
        """mteb's ``dataset`` field: the task's hub repo id and revision (see :func:`hub_reference`)."""
        kind = definition.source_kind
        if definition.source.get("dataset") != DATASET:
            raise XLRBenchError(
                f"{definition.path}: the afriqa loader reads the registered AfriQA files; set "
                f"source.dataset = \"{DATASET}\" (found source.{kind} = {definition.source[kind]!r})."
            )
        return hub_reference(definition)

    def load_native(self) -> None:
        found = subsets(self.definition)
        field = _query_field(self.definition)
        self.dataset = {lang: {} for lang in found if lang in self.hf_subsets}
        for split in self.metadata.eval_splits:
            passages = {lang: read_jsonl(locate(files[split].passages)) for lang, files in found.items()}
            corpus, copies = _pooled_corpus(passages)
            for lang in self.dataset:
                questions = read_jsonl(locate(found[lang][split].queries))
                gold = {str(p["id"]): _passage_key(p) for p in passages[lang]}
                kept = [q for q in questions if gold.get(str(q["id"])) in copies and (q[field] or "").strip()]
                self.dataset[lang][split] = {
                    "corpus": corpus,
                    "queries": Dataset.from_dict({"id": [str(q["id"]) for q in kept],
                                                  "text": [q[field] for q in kept]}),
                    "relevant_docs": {str(q["id"]): dict.fromkeys(copies[gold[str(q["id"])]], 1) for q in kept},
                    "top_ranked": None,
                }


def _passage_key(passage: dict[str, Any]) -> tuple[str, str]:
    return (passage.get("title") or "").strip(), (passage.get("context") or "").strip()


def _pooled_corpus(passages: dict[str, list[dict[str, Any]]]) -> tuple[Dataset, dict[tuple[str, str], list[str]]]:
    """The pooled corpus of all languages' non-empty gold passages, and the doc ids of each distinct passage."""
    ids, titles, texts = [], [], []
    copies: dict[tuple[str, str], list[str]] = defaultdict(list)
    for lang, rows in passages.items():
        for row in rows:
            title, text = _passage_key(row)
            if not text:
                continue
            ids.append(f"{lang}:{row['id']}")
            titles.append(title)
            texts.append(text)
            copies[(title, text)].append(ids[-1])
    return Dataset.from_dict({"id": ids, "text": texts, "title": titles}), dict(copies)
