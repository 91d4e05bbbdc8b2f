"""Parse LAReQA files (XQuAD-R, MLQA-R) into questions, candidates and relevance.

LAReQA (Roy et al., 2020) turns parallel extractive QA data into answer-*sentence* retrieval:

* every sentence of every paragraph, in every language, is a candidate (no de-duplication: two
  identical sentences in different paragraphs are distinct candidates with distinct ids);
* a candidate is encoded as its sentence with its paragraph as context (the protocol of the paper);
  ``sentence_only=True`` drops the context;
* the relevant candidates of a question are, in every language whose file has the question's id,
  the sentence whose ``[start, end)`` span holds the answer's ``answer_start``.

Questions are parallel across languages through their SQuAD ``id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xlr_bench.data.files import locate, read_json
from xlr_bench.core.errors import XLRBenchError


@dataclass(frozen=True)
class Candidate:
    """An answer sentence; ``id`` is ``<lang>:<article>:<paragraph>:<sentence>``."""

    id: str
    lang: str
    sentence: str
    context: str


@dataclass(frozen=True)
class Question:
    """A question in one language; ``id`` is ``<lang>:<squad id>``, ``qid`` the parallel id."""

    id: str
    qid: str
    lang: str
    text: str


@dataclass
class LAReQAData:
    """All languages of one LAReQA dataset.

    ``answer_of[(lang, qid)]`` is the candidate id holding the answer of question ``qid`` in
    ``lang``; the relevant set of a question is that id in every language that has ``qid``.
    """

    languages: list[str]
    questions: dict[str, list[Question]] = field(default_factory=dict)
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)
    answer_of: dict[tuple[str, str], str] = field(default_factory=dict)

    def relevant(self, qid: str, corpus_langs: list[str] | None = None) -> set[str]:
        """Ids of the answer sentences of ``qid`` in ``corpus_langs`` (default: all languages)."""
        langs = self.languages if corpus_langs is None else corpus_langs
        return {self.answer_of[(lang, qid)] for lang in langs if (lang, qid) in self.answer_of}


def parse_file(path: Path, lang: str) -> tuple[list[Question], list[Candidate], dict[str, str]]:
    """Parse one language file; returns questions, candidates and ``{qid: answer candidate id}``."""
    raw = read_json(path)
    try:
        articles = raw["data"]
    except (TypeError, KeyError) as exc:
        raise XLRBenchError(f"{path} is not a SQuAD-format LAReQA file: no top-level 'data' list.") from exc
    questions: list[Question] = []
    candidates: list[Candidate] = []
    answers: dict[str, str] = {}
    for a, article in enumerate(articles):
        for p, para in enumerate(article["paragraphs"]):
            context, sentences, breaks = para["context"], para["sentences"], para["sentence_breaks"]
            if len(sentences) != len(breaks):
                raise XLRBenchError(
                    f"{path}: article {a} paragraph {p} has {len(sentences)} sentences but "
                    f"{len(breaks)} sentence_breaks."
                )
            ids = [f"{lang}:{a}:{p}:{s}" for s in range(len(sentences))]
            candidates.extend(Candidate(cid, lang, sent, context) for cid, sent in zip(ids, sentences))
            for qa in para["qas"]:
                start = qa["answers"][0]["answer_start"]
                hit = [cid for cid, (b, e) in zip(ids, breaks) if b <= start < e]
                if not hit:
                    raise XLRBenchError(
                        f"{path}: answer_start {start} of question {qa['id']} lies in no sentence span."
                    )
                if qa["id"] in answers:
                    raise XLRBenchError(f"{path}: question id {qa['id']} occurs twice.")
                answers[qa["id"]] = hit[0]
                questions.append(Question(f"{lang}:{qa['id']}", qa["id"], lang, qa["question"]))
    return questions, candidates, answers


def load_lareqa(files: dict[str, str], data_dir: str | Path | None = None) -> LAReQAData:
    """Load a LAReQA dataset from ``{lang: registered relative path}`` through the data layer."""
    data = LAReQAData(languages=sorted(files))
    for lang in data.languages:
        questions, candidates, answers = parse_file(locate(files[lang], data_dir), lang)
        data.questions[lang] = questions
        data.candidates[lang] = candidates
        data.answer_of.update({(lang, qid): cid for qid, cid in answers.items()})
    return data


def candidate_text(candidate: Candidate, sentence_only: bool = False) -> str:
    """The text a model reads for a candidate: the sentence, then its paragraph as context.

    Encoders with one input segment (E5, XLM-R with mean pooling) read the LAReQA pair as one string;
    the sentence goes first so that truncation at the model's maximum length cuts context, never the
    answer sentence.
    """
    return candidate.sentence if sentence_only else f"{candidate.sentence} {candidate.context}"

