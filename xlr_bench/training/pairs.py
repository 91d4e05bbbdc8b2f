"""Training pairs (question, passage) from real parallel QA data, with zero-shot hygiene.

A :class:`Pair` is one (question in language X, passage in language Y) row; ``group`` identifies
the underlying question across languages, so the batch sampler can keep a question's parallel
versions out of one batch (they would be false in-batch negatives). Sources:

* ``mlqa-r`` / ``xquad-r`` (LAReQA files): for each question id, its question in every language X
  and its answer sentence with context in every language Y, for every X and Y present;
* ``afriqa`` (train split): the African-language question -> its English/French gold passage
  (cross-lingual) and the human-translated question -> the same passage (monolingual);
* a user JSONL file of ``{id, lang_q, question, lang_p, passage}``.

Zero-shot hygiene: a source that an evaluation task is built from (XQuAD-R for the XQuAD-R tasks,
MLQA-R for MLQA-R's, AfriQA test for AfriQA's) is refused unless explicitly allowed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from xlr_bench.data import files as datafiles
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.data.lareqa import candidate_text, load_lareqa

LAREQA_LANGS = {
    "xquad-r": ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"],
    "mlqa-r": ["ar", "de", "en", "es", "hi", "vi", "zh"],
}
AFRIQA_TRAIN_LANGS = {"bem": "en", "fon": "fr", "hau": "en", "ibo": "en", "kin": "en", "twi": "en", "yor": "en", "zul": "en"}
_JSONL_FIELDS = ("id", "lang_q", "question", "lang_p", "passage")


@dataclass(frozen=True)
class Pair:
    """One training row."""

    group: str  # the question across languages (no two rows of a batch share it)
    lang_q: str
    question: str
    lang_p: str
    passage: str
    source: str
    negative: str | None = None  # a hard negative passage (another sentence of the same paragraph)

    @property
    def monolingual(self) -> bool:
        return self.lang_q == self.lang_p


@dataclass
class TrainingData:
    """Pairs plus what produced them (for the training record)."""

    pairs: list[Pair]
    checksums: dict[str, str]  # file -> sha256


def lareqa_pairs(dataset: str) -> TrainingData:
    """Every (question_X, answer sentence_Y + context) of a LAReQA dataset.

    The hard negative of a row is the next sentence of the answer's paragraph in language Y (the
    candidate a model most easily confuses with the answer), when the paragraph has one.
    """
    files = {lang: f"lareqa/{dataset}/{lang}.json" for lang in LAREQA_LANGS[dataset]}
    data = load_lareqa(files)
    by_id = {c.id: c for lang in data.languages for c in data.candidates[lang]}
    pairs = []
    for lang_q in data.languages:
        for question in data.questions[lang_q]:
            for lang_p in data.languages:
                answer_id = data.answer_of.get((lang_p, question.qid))
                if answer_id is None:
                    continue
                answer = by_id[answer_id]
                lang, a, p, s = answer_id.split(":")
                neighbour = by_id.get(f"{lang}:{a}:{p}:{int(s) + 1}") or by_id.get(f"{lang}:{a}:{p}:{int(s) - 1}")
                pairs.append(Pair(
                    group=f"{dataset}:{question.qid}", lang_q=lang_q, question=question.text, lang_p=lang_p,
                    passage=candidate_text(answer), source=dataset,
                    negative=candidate_text(neighbour) if neighbour else None,
                ))
    return TrainingData(pairs, {f: datafiles.registry()[f].sha256 for f in files.values()})


def afriqa_pairs(split: str = "train") -> TrainingData:
    """AfriQA: African-language question -> gold passage (cross), translated question -> passage (mono)."""
    pairs, checksums = [], {}
    for lang, pivot in AFRIQA_TRAIN_LANGS.items():
        q_rel = f"afriqa/queries/{lang}/queries.afriqa.{lang}.{pivot}.{split}.json"
        p_rel = f"afriqa/gold_passages/{lang}/gold_span_passages.afriqa.{lang}.{pivot}.{split}.json"
        if q_rel not in datafiles.registry() or p_rel not in datafiles.registry():
            continue
        passages = {str(row["id"]): row for row in datafiles.read_jsonl(datafiles.locate(p_rel))}
        for row in datafiles.read_jsonl(datafiles.locate(q_rel)):
            gold = passages.get(str(row["id"]))
            if gold is None:
                continue
            passage = f"{gold['title']} {gold['context']}".strip()
            group = f"afriqa:{lang}:{row['id']}"
            pairs.append(Pair(group, lang, row["question"], pivot, passage, "afriqa"))
            pairs.append(Pair(group, pivot, row["translated_question"], pivot, passage, "afriqa"))
        checksums[q_rel] = datafiles.registry()[q_rel].sha256
        checksums[p_rel] = datafiles.registry()[p_rel].sha256
    return TrainingData(pairs, checksums)


def jsonl_pairs(path: Path) -> TrainingData:
    """A user file of ``{id, lang_q, question, lang_p, passage}`` lines."""
    if not path.is_file():
        raise XLRBenchError(f"Training data file {path} does not exist.")
    rows = datafiles.read_jsonl(path)
    if not rows:
        raise XLRBenchError(f"Training data file {path} is empty.")
    pairs = []
    for n, row in enumerate(rows, 1):
        missing = [f for f in _JSONL_FIELDS if not row.get(f) and row.get(f) != 0]
        if missing:
            raise XLRBenchError(f"{path}, record {n}: missing field(s) {', '.join(missing)} (need {', '.join(_JSONL_FIELDS)}).")
        pairs.append(Pair(f"{path.stem}:{row['id']}", row["lang_q"], row["question"], row["lang_p"], row["passage"], path.stem))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return TrainingData(pairs, {path.name: digest})


def load_training_data(names: Iterable[str]) -> TrainingData:
    """Pairs of every named source (``mlqa-r``, ``xquad-r``, ``afriqa`` or a ``.jsonl`` path)."""
    pairs, checksums = [], {}
    for name in names:
        if name in LAREQA_LANGS:
            part = lareqa_pairs(name)
        elif name == "afriqa":
            part = afriqa_pairs("train")
        elif name.endswith(".jsonl"):
            part = jsonl_pairs(Path(name))
        else:
            raise XLRBenchError(f"Unknown training data {name!r}: use mlqa-r, xquad-r, afriqa or a .jsonl file.")
        pairs += part.pairs
        checksums.update(part.checksums)
    return TrainingData(pairs, checksums)


def eval_overlap(train_names: Iterable[str], eval_tasks: Iterable[str]) -> list[str]:
    """``"<task> (built from <source>)"`` for every evaluation task built from one of the training sources.

    Every task must be known to mteb (a misspelt or missing name would otherwise switch the check off).
    AfriQA counts as no overlap: training reads its train split, evaluation its test split.
    """
    from xlr_bench.definitions.tasks import load_definitions
    from xlr_bench.evaluation import select_tasks

    eval_tasks = list(eval_tasks)
    if not eval_tasks:
        raise XLRBenchError("No evaluation tasks given (--eval-tasks / --tasks is empty): the zero-shot check needs "
                            "the tasks the model will be scored on.")
    select_tasks(eval_tasks)
    definitions = load_definitions()
    clashes = []
    for task in eval_tasks:
        definition = definitions.get(task)
        source = definition.source.get("dataset") if definition else None
        if source in set(train_names) and source != "afriqa":
            clashes.append(f"{task} (built from {source})")
    return clashes


def check_zero_shot(train_names: Iterable[str], eval_tasks: Iterable[str], allow_overlap: bool) -> None:
    """Refuse training data that shares a source with an evaluation task (unless allowed)."""
    clashes = eval_overlap(train_names, eval_tasks)
    if clashes and not allow_overlap:
        raise XLRBenchError(
            "Training data shares a source with evaluation task(s): " + ", ".join(clashes) + ". That would not be "
            "zero-shot. Train on another source (the default recipe trains on mlqa-r,afriqa and evaluates on "
            "XQuAD-R and AfriQA) or pass --allow-eval-overlap to do it anyway."
        )
