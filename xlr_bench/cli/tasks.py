"""``xlr-bench tasks ...`` and ``xlr-bench translate-beir``: task definitions from the command line.

Errors are :class:`~xlr_bench.core.errors.XLRBenchError`; the ``main`` group in ``cli.py`` prints them and
exits 2 for every nested command too (a subcommand runs inside ``main``'s ``invoke``).
"""

from __future__ import annotations

from pathlib import Path

import click

from xlr_bench.cli.options import data_dir_option
from xlr_bench.core.errors import XLRBenchError


@click.group()
def tasks() -> None:
    """List, describe, validate and create task definitions."""


@tasks.command("list")
def tasks_list() -> None:
    """Every registered task with its loader, setting and subset count."""
    import mteb

    from xlr_bench.definitions.tasks import load_definitions

    definitions = sorted(load_definitions().items())
    width = max((len(name) for name, _ in definitions), default=4)
    click.echo(f"{'task':{width}}  {'loader':7} {'setting':14} {'subsets':>7}  main score")
    for name, definition in definitions:
        task = mteb.get_task(name)
        click.echo(f"{name:{width}}  {definition.loader:7} {definition.setting or '-':14} "
                   f"{len(task.hf_subsets):7}  main={task.metadata.main_score}")


@tasks.command("describe")
@click.argument("name")
@data_dir_option
@click.option("--subset", "subsets", multiple=True, help="Only these subsets (repeatable; default: all).")
def tasks_describe(name: str, subsets: tuple[str, ...]) -> None:
    """Descriptive statistics of task NAME, per subset and split (loads its data)."""
    import mteb

    import xlr_bench  # noqa: F401  (registers the tasks)

    try:
        task = mteb.get_task(name, hf_subsets=list(subsets) or None)
    except KeyError as exc:
        raise XLRBenchError(f"Unknown task {name!r}: {exc.args[0]}") from exc
    task.load_data()
    click.echo(f"{name}: {task.metadata.description.splitlines()[0][:100]}...")
    click.echo(f"{'subset':10} {'split':6} {'queries':>8} {'docs':>8} {'rel/query':>9} "
               f"{'query chars':>11} {'doc chars':>9}")
    for subset, splits in task.dataset.items():
        for split, data in splits.items():
            s = split_statistics(data)
            click.echo(f"{subset:10} {split:6} {s['queries']:8d} {s['docs']:8d} {s['relevant_per_query']:9.2f} "
                       f"{s['query_chars']:11.1f} {s['doc_chars']:9.1f}")


def split_statistics(data: dict) -> dict[str, float]:
    """Counts and mean lengths of one subset split (a document is read as mteb does: title + text)."""
    queries, corpus, qrels = data["queries"], data["corpus"], data["relevant_docs"]
    titles = corpus["title"] if "title" in corpus.column_names else [""] * len(corpus)
    doc_lengths = [len(f"{t} {x}".strip()) for t, x in zip(titles, corpus["text"])]
    relevant = [sum(1 for grade in qrels.get(qid, {}).values() if grade > 0) for qid in queries["id"]]
    mean = lambda values: sum(values) / len(values) if values else 0.0  # noqa: E731
    return {"queries": len(queries), "docs": len(corpus), "relevant_per_query": mean(relevant),
            "query_chars": mean([len(t) for t in queries["text"]]), "doc_chars": mean(doc_lengths)}


@tasks.command("validate")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@data_dir_option
def tasks_validate(file: Path) -> None:
    """Check definition FILE: fields, mteb's TaskMetadata validation, the main score, the name, and its data.

    The data are really read: a folder (BEIR) is loaded whole, with its ids, duplicates and qrels
    checked; a registered dataset's files are located and checksummed. Prints "ok" (exit 0) or the
    problem with the field or file to fix (exit 2).
    """
    from xlr_bench.definitions.tasks import load_definition_file
    from xlr_bench.tasks.factory import build_task_class

    if not file.is_file():
        raise XLRBenchError(f"{file}: no such definition file.")
    definition = load_definition_file(file)
    task_class = build_task_class(definition)
    if definition.source_kind == "directory":
        if not Path(definition.source["directory"]).is_dir():
            raise XLRBenchError(
                f"{file}: field 'source.directory' names {definition.source['directory']}, which does not exist; "
                f"give the data folder (relative paths are resolved against the definition file's folder)."
            )
        task_class().load_data()
    if definition.source_kind == "dataset":
        from xlr_bench.data.files import files_of, locate

        for entry in files_of(definition.source["dataset"]):
            locate(entry.path)
    click.echo(f"ok: {definition.name} ({definition.loader}, {len(task_class().hf_subsets)} subsets)")


@tasks.command("stats")
@click.argument("names", nargs=-1)
@data_dir_option
def tasks_stats(names: tuple[str, ...]) -> None:
    """Recompute the descriptive statistics of tasks NAMES (default: every task) with mteb's own
    calculate_descriptive_statistics(); it writes them beside the definitions, where mteb's metadata
    reads them (descriptive_stats/<Task>.json). Run after a change to a task's data, and commit them."""
    import mteb

    from xlr_bench.definitions.tasks import load_definitions

    for name in names or sorted(load_definitions()):
        try:
            task = mteb.get_task(name)
        except KeyError as exc:
            raise XLRBenchError(f"Unknown task {name!r}: {exc.args[0]}") from exc
        task.calculate_descriptive_statistics(overwrite_results=True)
        click.echo(f"{name}: {task.metadata.descriptive_stat_path} (n_samples {task.metadata.n_samples})")


@tasks.command("export-hf")
@click.argument("name")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder to write (the dataset repo's content: README.md card, data/*.parquet, provenance.json).")
@click.option("--subset", "subsets", multiple=True, help="Only these subsets (repeatable; default: all).")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty --out folder.")
@data_dir_option
def tasks_export_hf(name: str, out: Path, subsets: tuple[str, ...], overwrite: bool) -> None:
    """Write task NAME as a Hugging Face dataset in the layout mteb's retrieval loader reads
    (per subset S: configs S-corpus, S-queries, S-qrels; parquet), byte-stable across runs.
    Upload it with `hf upload xlr-bench/NAME OUT --repo-type dataset` (see tasks/README.md)."""
    from xlr_bench.tasks.hf_export import export_task

    written = export_task(name, out, overwrite=overwrite, subsets=list(subsets) or None)
    click.echo(f"wrote {written}")


@tasks.command("new")
@click.option("--from", "english_task", required=True, help="The English mteb task that was translated, e.g. SciFact.")
@click.option("--lang", required=True,
              help="ISO 639-3 code of the translation (e.g. swa), optionally with script: swa-Latn.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the definition (default: ./<Task>-<lang>.toml).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def tasks_new(english_task: str, lang: str, out: Path | None, force: bool) -> None:
    """Write a filled-in `beir` definition for a translation of an English mteb task, to edit."""
    from xlr_bench.core.atomic import atomic_open
    from xlr_bench.tasks.beir import definition_toml, translated_task_fields

    fields = translated_task_fields(lang, english_task=english_task, directory="data")
    out = out or Path(f"{fields['name']}.toml")
    if out.exists() and not force:
        raise XLRBenchError(f"{out} exists; pass --force to overwrite it or --out for another file.")
    comment = (f"{fields['name']}: {english_task} machine-translated into {fields['languages']}.\n"
               "Edit: source.directory (a BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv;\n"
               "relative to this file), the description's translation sentence, and anything else that differs\n"
               "from the English task. Then: xlr-bench tasks validate " + str(out))
    with atomic_open(out, "w", encoding="utf-8") as handle:
        handle.write(definition_toml(fields, comment))
    click.echo(f"wrote {out}")


@click.command("translate-beir")
@click.option("--source", required=True, help="A BEIR folder, or a BEIR-style Hugging Face dataset (owner/name).")
@click.option("--lang", required=True, help="Target language, ISO 639-3 (e.g. swa), optionally with script.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Output folder (resumes an interrupted run into the same folder).")
@click.option("--mt-model", default=None,
              help="A transformers seq2seq model name or folder (default: facebook/nllb-200-distilled-600M).")
@click.option("--model-revision", default=None, help="Model revision (branch, tag or commit).")
@click.option("--task", default=None, help="The English mteb task of the source, whose metadata the definition copies.")
@click.option("--split", default="test", show_default=True, help="Split to take from a Hugging Face source.")
@click.option("--source-revision", default=None, help="Revision of a Hugging Face source.")
@click.option("--src-lang", default="eng_Latn", show_default=True, help="Source language code of the model.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1))
@click.option("--max-tokens", default=200, show_default=True, type=click.IntRange(8),
              help="Longest piece sent to the model; longer texts are split at sentences.")
def translate_beir(source: str, lang: str, out: Path, mt_model: str | None, model_revision: str | None,
                   task: str | None, split: str, source_revision: str | None, src_lang: str, batch_size: int,
                   max_tokens: int) -> None:
    """Machine-translate a BEIR dataset (queries, titles, texts) and write it with its task definition."""
    from xlr_bench.tasks.translate_beir import DEFAULT_MODEL, translate_beir as run

    definition = run(source, lang, out, mt_model=mt_model or DEFAULT_MODEL, task=task, split=split,
                     source_revision=source_revision, model_revision=model_revision, src_lang=src_lang,
                     batch_size=batch_size, max_tokens=max_tokens)
    click.echo(f"wrote {definition}; evaluate with XLR_BENCH_TASKS={out.resolve()}")
