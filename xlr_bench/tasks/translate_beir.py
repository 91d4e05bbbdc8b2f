"""``xlr-bench translate-beir``: machine-translate a BEIR dataset into a low-resource language.

Queries and documents (title and text) go through a transformers seq2seq model (NLLB by default).
What makes this usable on a real corpus rather than a demo:

* **Resumable.** Translated records are appended to ``<file>.partial`` (flushed per batch) and ids
  already there are skipped on the next run, so a killed run loses at most one batch; a torn last
  line (killed mid-write) is cut off. Only when a file is complete is it written into place
  atomically, in the source's order, and the ``.partial`` removed.
* **Long passages** are split at sentence boundaries into pieces that fit the model's input
  (a sentence still too long is halved by words), translated, and rejoined.
* **Faithful to the source.** Ids, extra record fields and qrels are kept verbatim, so the
  translation is judged by the English relevance labels.
* **Provenance.** ``provenance.json`` records model, revision, source, languages and date; it is
  written first, so a second run into the same folder with another language (or model, or source)
  is refused before anything is written.

The folder ends up with its own ``beir`` definition (``<Name>.toml``, ``source.directory = "."``):
``XLR_BENCH_TASKS=<folder>`` makes it an mteb task.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from xlr_bench.core.atomic import atomic_open, write_json
from xlr_bench.tasks.beir import definition_toml, read_folder, read_hf, split_lang, translated_task_fields
from xlr_bench.data.files import read_jsonl
from xlr_bench.core.errors import XLRBenchError

DEFAULT_MODEL = "facebook/nllb-200-distilled-600M"
#: NLLB codes that are not ``<ISO 639-3>_<Script>``: NLLB has individual languages where ISO has a macrolanguage.
NLLB_CODES = {"swa": "swh_Latn", "aka": "twi_Latn", "zho": "zho_Hans", "msa": "zsm_Latn", "fas": "pes_Arab",
              "ara": "arb_Arab", "est": "est_Latn", "lav": "lvs_Latn", "orm": "gaz_Latn", "uzb": "uzn_Latn"}
PROVENANCE = "provenance.json"
_SENTENCE_END = re.compile(r"(?<=[.!?;:。！？])\s+")


def nllb_code(lang: str) -> str:
    """NLLB's language code for an ISO 639-3 code (``swa`` -> ``swh_Latn``, ``hau`` -> ``hau_Latn``)."""
    code, iso = split_lang(lang)
    return NLLB_CODES.get(code, iso.replace("-", "_"))


class Translator:
    """A seq2seq model that translates batches of texts of any length.

    Models with language-code tokens (NLLB, M2M) get the source code on the tokenizer and the target
    code as ``forced_bos_token_id``; a model without them (a bilingual Marian model) generates plainly.
    """

    def __init__(self, model_name: str, lang: str, *, src_lang: str = "eng_Latn", revision: str | None = None,
                 batch_size: int = 16, max_tokens: int = 200, device: str | None = None) -> None:
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_name, revision=revision)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(model_name, revision=revision).to(self.device).eval()
        except OSError as exc:
            raise XLRBenchError(
                f"Could not load the translation model {model_name!r}: {exc}. Offline, pass --mt-model a local "
                f"folder holding the model (or put it in the Hugging Face cache first)."
            ) from exc
        self.model_name, self.revision = model_name, revision
        self.batch_size, self.max_tokens = batch_size, max_tokens
        vocab = self.tokenizer.get_vocab()
        target = nllb_code(lang)
        self.generate_kwargs: dict[str, Any] = {}
        if src_lang in vocab or target in vocab:
            if target not in vocab:
                raise XLRBenchError(f"The model {model_name!r} has no language code {target!r} for --lang {lang}.")
            self.tokenizer.src_lang = src_lang
            self.generate_kwargs["forced_bos_token_id"] = vocab[target]
        self.target_code = target if self.generate_kwargs else None

    def translate(self, texts: list[str]) -> list[str]:
        """Translate ``texts`` (empty ones stay empty); each long text is split, translated and rejoined."""
        pieces = [self._segments(t) for t in texts]
        flat = [p for ps in pieces for p in ps]
        out = [self._generate(flat[i : i + self.batch_size]) for i in range(0, len(flat), self.batch_size)]
        translated = iter(t for batch in out for t in batch)
        return [" ".join(next(translated) for _ in ps) for ps in pieces]

    def _generate(self, texts: list[str]) -> list[str]:
        import torch

        enc = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_tokens)
        enc = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        with torch.inference_mode():
            # room for a translation half as long again as its source (plus a margin for short inputs)
            budget = int(enc["input_ids"].shape[1] * 1.5) + 10
            ids = self.model.generate(**enc, max_new_tokens=budget, **self.generate_kwargs)
        return [t.strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    def _n_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def _segments(self, text: str) -> list[str]:
        """Sentence-packed pieces of ``text`` that each fit ``max_tokens`` (none for an empty text)."""
        if not text.strip():
            return []
        if self._n_tokens(text) <= self.max_tokens:
            return [text]
        pieces: list[str] = []
        for sentence in (s for part in _SENTENCE_END.split(text) for s in self._fit(part)):
            joined = f"{pieces[-1]} {sentence}" if pieces else sentence
            if pieces and self._n_tokens(joined) <= self.max_tokens:
                pieces[-1] = joined
            else:
                pieces.append(sentence)
        return pieces

    def _fit(self, sentence: str) -> list[str]:
        words = sentence.split()
        if len(words) <= 1 or self._n_tokens(sentence) <= self.max_tokens:
            return [sentence] if words else []
        half = len(words) // 2
        return self._fit(" ".join(words[:half])) + self._fit(" ".join(words[half:]))

    def commit_hash(self) -> str | None:
        """The resolved commit of a Hub model, for provenance (None for a local folder)."""
        from transformers.utils import cached_file
        from transformers.utils.hub import extract_commit_hash

        if Path(self.model_name).is_dir():
            return None
        try:
            return extract_commit_hash(cached_file(self.model_name, "config.json", revision=self.revision), None)
        except OSError:
            return None


@dataclass
class Source:
    """What to translate: raw BEIR rows (``_id`` and every other field, kept as they are) and qrels."""

    name: str
    corpus: list[dict[str, Any]]
    queries: list[dict[str, Any]]
    qrels: dict[str, str]  # file name under qrels/ -> its verbatim text
    splits: list[str]


def read_source(source: str, *, split: str = "test", revision: str | None = None) -> Source:
    """A BEIR folder (all its qrels files), or one split of a BEIR-style Hugging Face dataset."""
    folder = Path(source).expanduser()
    if folder.is_dir():
        qrels_files = sorted((folder / "qrels").glob("*.tsv"))
        if not qrels_files:
            raise XLRBenchError(f"{folder / 'qrels'} holds no <split>.tsv file; is {folder} a BEIR folder?")
        for path in qrels_files:  # fail on dangling ids now, not after hours of translation
            read_folder(folder, path.stem)
        return Source(name=folder.resolve().name, corpus=read_jsonl(folder / "corpus.jsonl"),
                      queries=read_jsonl(folder / "queries.jsonl"),
                      qrels={p.name: p.read_text(encoding="utf-8") for p in qrels_files},
                      splits=[p.stem for p in qrels_files])
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", source):
        raise XLRBenchError(f"--source {source!r} is neither an existing folder nor a Hugging Face dataset "
                            f"(owner/name).")
    data = read_hf(source, revision or "main", split)
    qrels = "".join(f"{q}\t{d}\t{s}\n" for q, docs in data.qrels.items() for d, s in docs.items())
    return Source(name=source.split("/")[-1],
                  corpus=[{"_id": r["id"], "title": r["title"], "text": r["text"]} for r in data.corpus],
                  queries=[{"_id": r["id"], "text": r["text"]} for r in data.queries],
                  qrels={f"{split}.tsv": "query-id\tcorpus-id\tscore\n" + qrels}, splits=[split])


def translate_beir(source: str, lang: str, out: Path, *, mt_model: str = DEFAULT_MODEL, task: str | None = None,
                   split: str = "test", source_revision: str | None = None, model_revision: str | None = None,
                   src_lang: str = "eng_Latn", batch_size: int = 16, max_tokens: int = 200) -> Path:
    """Translate ``source`` into ``lang`` under ``out``; returns the written definition file.

    ``task`` names the English mteb task whose metadata the definition copies (looked up by dataset
    path for a Hugging Face source when not given).
    """
    out = Path(out).expanduser()
    code, iso = split_lang(lang)
    is_folder = Path(source).expanduser().is_dir()
    provenance = {"tool": "xlr-bench translate-beir", "source": _source_label(source),
                  "source_revision": source_revision, "split": None if is_folder else split, "lang": iso,
                  "model": mt_model, "model_revision": model_revision, "src_lang": src_lang}
    _refuse_foreign_output(out, provenance)
    data = read_source(source, split=split, revision=source_revision)
    translator = Translator(mt_model, iso, src_lang=src_lang, revision=model_revision,
                            batch_size=batch_size, max_tokens=max_tokens)
    provenance.update(model_commit=translator.commit_hash(), tgt_lang=translator.target_code, started=_now(),
                      complete=False)
    if not (out / PROVENANCE).is_file():
        write_json(out / PROVENANCE, provenance)
    counts = {
        "queries": translate_records(data.queries, ("text",), out / "queries.jsonl", translator, f"queries -> {code}"),
        "corpus": translate_records(data.corpus, ("title", "text"), out / "corpus.jsonl", translator,
                                    f"corpus -> {code}"),
    }
    for name, text in data.qrels.items():
        with atomic_open(out / "qrels" / name, "w", encoding="utf-8") as handle:
            handle.write(text)
    definition = _write_definition(out, data, iso, english_task=task or _mteb_task_for(source), provenance=provenance)
    started = json.loads((out / PROVENANCE).read_text(encoding="utf-8"))
    write_json(out / PROVENANCE, {**started, "complete": True, "finished": _now(), "translated_this_run": counts,
                                  "records": {"queries": len(data.queries), "corpus": len(data.corpus)}})
    return definition


def _write_definition(out: Path, data: Source, iso: str, *, english_task: str | None,
                      provenance: dict[str, Any]) -> Path:
    """The folder's own ``beir`` definition (``source.directory = "."``), named ``<Task>-<lang>``."""
    commit = provenance["model_commit"] or provenance["model_revision"] or "unknown"
    fields = translated_task_fields(
        iso, english_task=english_task, source_name=data.name, directory=".", eval_splits=data.splits,
        note=f"Translated by xlr-bench translate-beir with {provenance['model']} (commit {commit}); "
             f"see provenance.json.",
    )
    comment = (f"{fields['name']}: written by `xlr-bench translate-beir` from {provenance['source']}.\n"
               f"Use it with XLR_BENCH_TASKS={out.resolve()}; review the metadata before publishing results.")
    definition = out / f"{fields['name']}.toml"
    with atomic_open(definition, "w", encoding="utf-8") as handle:
        handle.write(definition_toml(fields, comment))
    return definition


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def translate_records(records: list[dict[str, Any]], fields: tuple[str, ...], path: Path, translator: Translator,
                      desc: str) -> int:
    """Translate ``fields`` of ``records`` into ``path`` resumably; returns how many were translated now."""
    partial = path.with_name(path.name + ".partial")
    if path.is_file() and not partial.exists():
        return 0  # finished by an earlier run
    done = _done_ids(partial)
    todo = [r for r in records if str(r["_id"]) not in done]
    with partial.open("a", encoding="utf-8") as handle, \
            tqdm(total=len(records), initial=len(records) - len(todo), desc=desc, unit="rec") as bar:
        for batch in _chunks(todo, translator.batch_size):
            texts = iter(translator.translate([r.get(f) or "" for r in batch for f in fields]))
            for record in batch:
                translated = {f: next(texts) for f in fields}
                handle.write(json.dumps({**record, **{f: t for f, t in translated.items() if f in record}},
                                        ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            bar.update(len(batch))
    rows = {str(r["_id"]): r for r in read_jsonl(partial)}
    with atomic_open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(rows[str(record["_id"])], ensure_ascii=False) + "\n")
    partial.unlink()
    return len(todo)


def _done_ids(partial: Path) -> set[str]:
    """Ids already in a ``.partial`` file; a torn last line (a kill mid-write) is cut off first."""
    if not partial.is_file():
        return set()
    raw = partial.read_bytes()
    lines = raw.split(b"\n")
    keep = len(raw)
    if lines[-1]:  # no trailing newline: the last record was not finished
        keep -= len(lines[-1])
        lines = lines[:-1]
    if keep != len(raw):
        with partial.open("r+b") as handle:
            handle.truncate(keep)
    try:
        return {str(json.loads(line)["_id"]) for line in lines if line.strip()}
    except (json.JSONDecodeError, KeyError) as exc:
        raise XLRBenchError(f"{partial} is corrupt ({exc}); delete it to translate that file again.") from exc


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _source_label(source: str) -> str:
    path = Path(source).expanduser()
    return str(path.resolve()) if path.is_dir() else source


def _refuse_foreign_output(out: Path, provenance: dict[str, Any]) -> None:
    """Resume only our own run: same language, model and source; refuse any other content."""
    if not out.exists() or not any(out.iterdir()):
        return
    existing = out / PROVENANCE
    if not existing.is_file():
        raise XLRBenchError(f"--out {out} already holds files that are not a translate-beir output; "
                            f"use an empty or new folder.")
    previous = json.loads(existing.read_text(encoding="utf-8"))
    for key in ("lang", "model", "source"):
        if previous.get(key) != provenance[key]:
            raise XLRBenchError(
                f"--out {out} holds a translation with {key} {previous.get(key)!r}, not {provenance[key]!r}; "
                f"nothing was written. Use another --out folder for this translation."
            )


def _mteb_task_for(source: str) -> str | None:
    """The English mteb task whose data live in the Hugging Face repo ``source`` (e.g. mteb/scifact)."""
    if Path(source).expanduser().is_dir():
        return None
    import mteb

    matches = [t.metadata.name for t in mteb.get_tasks(task_types=["Retrieval"], languages=["eng"])
               if t.metadata.dataset.get("path") == source]
    return matches[0] if len(matches) == 1 else None
