"""The ``beir`` loader: one-language retrieval tasks in the BEIR format, from a folder or Hugging Face.

A BEIR folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
``text``) and ``qrels/<split>.tsv`` (header ``query-id corpus-id score``). It is parsed here rather
than with ``beir``'s ``GenericDataLoader`` because that loader accepts qrels naming ids that exist
nowhere (they silently become unanswerable queries or unreachable documents); here such a line is
an error naming the file, line and id. As in BEIR, a split's queries are those its qrels name.

A Hugging Face source (``source.hf_repo`` + ``source.revision``) is read with mteb's own retrieval
loader (``datasets.load_dataset`` on the ``corpus``/``queries``/``default`` configs of mteb's BEIR
copies); offline it fails with an XLRBenchError that says how to use a local folder instead.

Also here: :func:`definition_toml`, the filled-in ``beir`` definition that ``xlr-bench tasks new`` and
``xlr-bench translate-beir`` write for a translation of an English mteb task.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from datasets import Dataset

from xlr_bench.data.files import dataset_reference, read_jsonl
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.tasks.full_rank import FullRankRetrieval
from xlr_bench.definitions.tasks import TaskDefinition

QRELS_HEADER = ("query-id", "corpus-id", "score")


@dataclass
class BeirSplit:
    """One split of a BEIR dataset in mteb's v2 shape (plain Python, so translation can reuse it)."""

    corpus: list[dict[str, str]]  # {"id", "title", "text"}
    queries: list[dict[str, str]]  # {"id", "text"}
    qrels: dict[str, dict[str, int]]

    def to_mteb(self) -> dict[str, Any]:
        """The split as ``AbsTaskRetrieval.dataset[subset][split]`` wants it."""
        return {
            "corpus": Dataset.from_list(self.corpus),
            "queries": Dataset.from_list(self.queries),
            "relevant_docs": self.qrels,
            "top_ranked": None,
        }


def _required(path: Path) -> Path:
    if not path.is_file():
        raise XLRBenchError(
            f"Missing BEIR file {path}. A BEIR folder needs corpus.jsonl, queries.jsonl and "
            f"qrels/<split>.tsv; check source.directory of the definition."
        )
    return path


def read_records(path: Path, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """``corpus.jsonl``/``queries.jsonl`` rows as ``{"id", *fields}`` with string ids (BEIR ids may be numbers)."""
    records, first_seen = [], {}
    for lineno, row in enumerate(read_jsonl(_required(path)), 1):
        if "_id" not in row:
            raise XLRBenchError(
                f"{path}, record {lineno}: no '_id' field (BEIR records need _id, {', '.join(fields)})."
            )
        record_id = str(row["_id"])
        if record_id in first_seen:  # the last would silently win, and its qrels would point at either
            raise XLRBenchError(f"{path}, record {lineno}: _id {record_id!r} repeats record {first_seen[record_id]}; "
                                "ids must be unique.")
        first_seen[record_id] = lineno
        records.append({"id": record_id, **{f: row.get(f) or "" for f in fields}})
    if not records:
        raise XLRBenchError(f"{path} holds no records.")
    return records


def read_qrels(path: Path, query_ids: set[str], corpus_ids: set[str]) -> dict[str, dict[str, int]]:
    """Parse a qrels TSV; an unknown query or document id is an error naming the file, line and id."""
    qrels: dict[str, dict[str, int]] = {}
    try:
        lines = _required(path).read_text(encoding="utf-8").splitlines(keepends=True)
    except UnicodeDecodeError as exc:
        raise XLRBenchError(f"{path} is not UTF-8 text (byte {exc.start}); convert it to UTF-8.") from exc
    for lineno, line in enumerate(lines, 1):
        cols = line.rstrip("\r\n").split("\t")
        if lineno == 1 and tuple(cols) == QRELS_HEADER or not line.strip():
            continue
        if len(cols) != 3 or not cols[2].lstrip("-").isdigit():
            raise XLRBenchError(
                f"{path}, line {lineno}: expected `query-id<TAB>corpus-id<TAB>integer score`, got {line.strip()!r}."
            )
        qid, did, score = cols
        if qid not in query_ids:
            raise XLRBenchError(f"{path}, line {lineno}: query id {qid!r} is not in queries.jsonl.")
        if did not in corpus_ids:
            raise XLRBenchError(f"{path}, line {lineno}: corpus id {did!r} is not in corpus.jsonl.")
        qrels.setdefault(qid, {})[did] = int(score)
    if not qrels:
        raise XLRBenchError(f"{path} holds no judgements (after the header `query-id corpus-id score`).")
    return qrels


def read_folder(folder: Path, split: str) -> BeirSplit:
    """One split of a BEIR folder; queries are those the split's qrels name."""
    if not folder.is_dir():
        raise XLRBenchError(f"BEIR folder {folder} does not exist; check source.directory of the definition.")
    corpus = read_records(folder / "corpus.jsonl", ("title", "text"))
    queries = read_records(folder / "queries.jsonl", ("text",))
    qrels = read_qrels(folder / "qrels" / f"{split}.tsv", {q["id"] for q in queries}, {d["id"] for d in corpus})
    return BeirSplit(corpus=corpus, queries=[q for q in queries if q["id"] in qrels], qrels=qrels)


def read_hf(repo: str, revision: str, split: str) -> BeirSplit:
    """One split of a BEIR-style Hugging Face dataset (mteb's layout), pinned to ``revision``."""
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalDatasetLoader

    try:
        data = RetrievalDatasetLoader(hf_repo=repo, revision=revision, split=split).load()
    except Exception as exc:  # datasets/huggingface_hub raise many types for "not reachable / not cached"
        offline = any(os.environ.get(v) == "1" for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
        raise XLRBenchError(
            f"Could not load the Hugging Face dataset {repo} at revision {revision} (split {split}): "
            f"{type(exc).__name__}: {exc}. "
            + ("This machine is offline (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE=1) and the dataset is not in the "
               "Hugging Face cache. " if offline else "")
            + "To use a local copy, export it as a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) "
            "and set source.directory = \"<folder>\" instead of source.hf_repo."
        ) from exc
    corpus = [{"id": str(r["id"]), "title": r.get("title") or "", "text": r.get("text") or ""} for r in data["corpus"]]
    queries = [{"id": str(r["id"]), "text": r["text"]} for r in data["queries"]]
    return BeirSplit(corpus=corpus, queries=queries, qrels={str(q): dict(d) for q, d in data["relevant_docs"].items()})


def read_source(definition: TaskDefinition, split: str) -> BeirSplit:
    """One split of a ``beir`` definition's source (folder or Hugging Face)."""
    if definition.source_kind == "directory":
        return read_folder(Path(definition.source["directory"]), split)
    if definition.source_kind == "hf_repo":
        return read_hf(definition.source["hf_repo"], definition.source["revision"], split)
    raise XLRBenchError(
        f"{definition.path}: the beir loader reads source.directory or source.hf_repo, not a registered "
        f"dataset (source.dataset = {definition.source['dataset']!r})."
    )


class BeirRetrieval(FullRankRetrieval):
    """Base class; :func:`xlr_bench.tasks.factory.build_task_class` makes one subclass per definition."""

    definition: ClassVar[TaskDefinition]

    @staticmethod
    def eval_langs(definition: TaskDefinition) -> list[str]:
        """A single-language task: mteb's plain list, one subset ``default``."""
        return list(dict.fromkeys(definition.languages.values()))

    @staticmethod
    def dataset_reference(definition: TaskDefinition) -> dict[str, str]:
        """mteb's ``dataset`` field: the HF repository and revision, or the folder (revision from
        ``source.revision`` when given, e.g. the translation's provenance, else ``local``)."""
        source = definition.source
        if definition.source_kind == "hf_repo":
            return {"path": source["hf_repo"], "revision": source["revision"]}
        if definition.source_kind == "directory":
            return {"path": source["directory"], "revision": source.get("revision", "local")}
        return dataset_reference(source["dataset"])

    def load_native(self) -> None:
        splits = self.metadata.eval_splits
        self.dataset = {"default": {split: read_source(self.definition, split).to_mteb() for split in splits}}


# -- definition files for translated tasks ---------------------------------------------------------

#: mteb metadata fields copied from the English task (the rest describe the translation, not the source).
COPIED_FIELDS = ("reference", "type", "category", "modalities", "eval_splits", "main_score", "date", "domains",
                 "task_subtypes", "license", "annotations_creators", "dialect", "bibtex_citation", "prompt")


def iso_script(lang: str) -> str:
    """``swa`` -> ``swa-Latn`` with mteb's default-script table; an unknown code is an error."""
    from mteb.languages.iso_mappings import ISO_TO_LANGUAGE

    from xlr_bench.core.mteb_adapter import iso3_default_scripts

    if lang not in ISO_TO_LANGUAGE:
        raise XLRBenchError(f"--lang {lang!r} is not an ISO 639-3 code mteb knows (e.g. swa, hau, yor).")
    script = iso3_default_scripts().get(lang)
    if script is None:
        raise XLRBenchError(
            f"mteb knows no default script for {lang!r}; give it as --lang {lang}-<Script>, e.g. {lang}-Latn."
        )
    return f"{lang}-{script}"


def split_lang(lang: str) -> tuple[str, str]:
    """``swa`` or ``swa-Latn`` -> (``swa``, ``swa-Latn``)."""
    if "-" in lang:
        return lang.split("-", 1)[0], lang
    return lang, iso_script(lang)


def translated_task_fields(lang: str, *, english_task: str | None = None, source_name: str | None = None,
                           directory: str = "data", note: str | None = None,
                           eval_splits: list[str] | None = None) -> dict[str, Any]:
    """A ``beir`` definition for a machine translation into ``lang`` (ISO 639-3, optionally ``-Script``).

    Named ``<EnglishTask>-<lang>`` after mteb's convention for translated tasks (``SciFact-PL``). With
    an English mteb task, its ``ignore_identical_ids`` (the translation keeps the ids, so the same
    self-matches must be ignored) and the metadata that still hold for a translation are copied;
    without one (a BEIR folder named ``source_name`` that is no mteb task) the metadata are generic
    placeholders to edit. ``note`` says how the translation was made (default: a reminder to say so).
    """
    code, iso = split_lang(lang)
    note = note or "Edit this sentence to name the translation model and its revision."
    if english_task is not None:
        task = _mteb_task(english_task)
        md = task.metadata.model_dump(mode="json")
        name, ignore_identical_ids = english_task, bool(task.ignore_identical_ids)
        description = f"{md['description']} Machine-translated into {iso} from the English {english_task}. {note}"
    else:
        name, ignore_identical_ids = source_name or "MyDataset", False
        md = {"type": "Retrieval", "category": "t2t", "modalities": ["text"], "eval_splits": eval_splits or ["test"],
              "main_score": "ndcg_at_10", "license": "not specified"}
        description = f"The BEIR-format retrieval dataset {name}, machine-translated into {iso}. {note}"
    metadata = {"description": description, **{k: md[k] for k in COPIED_FIELDS if md.get(k) not in (None, [], {})},
                "sample_creation": "machine-translated"}
    if english_task is not None:
        metadata["adapted_from"] = [english_task]
    return {
        "name": f"{name}-{code}",
        "loader": "beir",
        "ignore_identical_ids": ignore_identical_ids,
        "source": {"directory": directory},
        "languages": {code: iso},
        "metadata": metadata,
    }


def _mteb_task(name: str) -> Any:
    import mteb

    try:
        return mteb.get_task(name)
    except KeyError as exc:
        raise XLRBenchError(f"{name!r} is not an mteb task ({exc.args[0]}).") from exc


def definition_toml(fields: dict[str, Any], comment: str) -> str:
    """Render a definition as TOML (top-level values, then one table per dict) with a leading comment."""
    lines = [f"# {line}" if line else "#" for line in comment.splitlines()]
    lines += [f"{key} = {_toml_value(value)}" for key, value in fields.items() if not isinstance(value, dict)]
    for key, table in fields.items():
        if isinstance(table, dict):
            lines += ["", f"[{key}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
            for sub, subtable in ((k, v) for k, v in table.items() if isinstance(v, dict)):
                lines += ["", f"[{key}.{sub}]", *(f"{k} = {_toml_value(v)}" for k, v in subtable.items())]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    # JSON string escapes are valid TOML basic strings; multi-line text becomes a readable literal block.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and "\n" in value and "'''" not in value:
        return "'''\n" + value.lstrip("\n") + "'''"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
