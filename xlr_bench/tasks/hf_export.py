"""Tasks as Hugging Face datasets: export in the layout mteb's retrieval loader reads, and load it back.

mteb reads a retrieval task from the hub with ``RetrievalDatasetLoader``: per subset ``S`` the configs
``S-corpus`` (``id, title, text``), ``S-queries`` (``id, text``) and ``S-qrels`` (``query-id,
corpus-id, score``), each with the evaluation split. :func:`export_task` writes exactly that as a
folder a maintainer uploads unchanged (``hf upload xlr-bench/<Task> DIR --repo-type dataset``):

* ``README.md`` — mteb's own dataset card for the task (``TaskMetadata.generate_dataset_card``:
  license, languages, description, citation, descriptive statistics), with the ``configs`` that map
  each config to its parquet files, and a provenance section;
* ``data/<split>/<kind>/<content hash>.parquet`` — one file per distinct table. Subsets that share a
  corpus by protocol (XQuAD-R's pooled subsets all search the same 13,014 candidates; the
  cross-lingual ``de-en`` and ``ar-en`` search the same English ones) point their configs at the same
  file, so the export stores each corpus once;
* ``provenance.json`` — the task, its upstream files (URL at a commit, sha256) and the exporting
  xlr-bench, mteb, datasets and pyarrow versions.

The export is byte-stable: same data and library versions, same bytes (files are named by content and
written without timestamps). It is written into a temporary folder and moved into place whole.

Loading: ``XLR_BENCH_HF_DATA`` switches every xlr-bench task from its pinned raw files to mteb's loader
— a folder (holding ``<Task>/`` exports, or one task's export) or ``hub`` (the task's
``dataset.path`` at ``dataset.revision`` on the Hugging Face hub). ``dataset.path`` is
``xlr-bench/<Task>``; its revision is the upstream data commit until a maintainer records the hub
commit of the upload in ``hub.json`` beside the definitions (see ``xlr_bench/definitions/builtin/tasks/README.md``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata as pkg_metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from xlr_bench.core.atomic import write_json
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.data.files import dataset_reference, files_of
from xlr_bench.definitions.tasks import TaskDefinition

HUB_NAMESPACE = "xlr-bench"
HF_DATA_ENV = "XLR_BENCH_HF_DATA"
PROVENANCE = "provenance.json"
#: Per definition folder: ``{task: {"path": hub repo, "revision": hub commit}}`` recorded after an upload.
HUB_FILE = "hub.json"
SCHEMAS = {
    "corpus": pa.schema([("id", pa.string()), ("title", pa.string()), ("text", pa.string())]),
    "queries": pa.schema([("id", pa.string()), ("text", pa.string())]),
    "qrels": pa.schema([("query-id", pa.string()), ("corpus-id", pa.string()), ("score", pa.int32())]),
}


def hub_reference(definition: TaskDefinition) -> dict[str, str]:
    """mteb's ``dataset`` field of a registered-data task: its hub repo and revision.

    The repo is ``xlr-bench/<Task>``; the revision is the hub commit recorded in ``hub.json`` after
    an upload, else the pinned upstream commit the export is built from (the same data).
    """
    recorded = _hub_records(definition.path.parent).get(definition.name, {})
    return {"path": recorded.get("path", f"{HUB_NAMESPACE}/{definition.name}"),
            "revision": recorded.get("revision", dataset_reference(definition.source["dataset"])["revision"])}


def _hub_records(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / HUB_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise XLRBenchError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}).") from exc


# -- export ---------------------------------------------------------------------------------------

def _table(kind: str, rows: dict[str, list[Any]]) -> pa.Table:
    return pa.Table.from_pydict(rows, schema=SCHEMAS[kind])


def split_tables(split_data: dict[str, Any]) -> dict[str, pa.Table]:
    """The corpus, queries and qrels of one subset split as Arrow tables (rows in the task's order)."""
    corpus, queries, qrels = split_data["corpus"], split_data["queries"], split_data["relevant_docs"]
    titles = corpus["title"] if "title" in corpus.column_names else [""] * len(corpus)
    pairs = [(q, d, int(s)) for q, docs in qrels.items() for d, s in docs.items()]
    return {
        "corpus": _table("corpus", {"id": list(corpus["id"]), "title": list(titles), "text": list(corpus["text"])}),
        "queries": _table("queries", {"id": list(queries["id"]), "text": list(queries["text"])}),
        "qrels": _table("qrels", {"query-id": [p[0] for p in pairs], "corpus-id": [p[1] for p in pairs],
                                  "score": [p[2] for p in pairs]}),
    }


def _write_table(table: pa.Table, folder: Path, kind: str, split: str, written: dict[str, str]) -> str:
    """Write ``table`` once per distinct content; returns its path relative to the export root."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", write_statistics=False)
    payload = sink.getvalue().to_pybytes()
    digest = hashlib.sha256(payload).hexdigest()
    rel = f"data/{split}/{kind}/{digest[:16]}.parquet"
    if rel not in written:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(payload)
        written[rel] = digest
    return rel


def _config_name(subset: str, kind: str) -> str:
    # mteb's names: "<subset>-corpus", "<subset>-queries", "<subset>-qrels"; a single-subset task
    # ("default") uses "corpus", "queries" and "qrels".
    return kind if subset == "default" else f"{subset}-{kind}"


def export_task(name: str, out: Path, *, overwrite: bool = False, subsets: list[str] | None = None) -> Path:
    """Write task ``name`` (or some of its subsets) as a Hugging Face dataset folder at ``out``."""
    import mteb

    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise XLRBenchError(f"--out {out} exists and is not empty; pass --overwrite to replace it.")
    try:
        task = mteb.get_task(name)
    except KeyError as exc:
        raise XLRBenchError(f"Unknown task {name!r}: {exc.args[0]}") from exc
    definition: TaskDefinition | None = getattr(task, "definition", None)
    if definition is None:
        raise XLRBenchError(f"{name} is an mteb task, not an xlr-bench one; mteb's own tasks are on the hub already.")
    unknown = sorted(set(subsets or []) - set(task.metadata.hf_subsets))
    if unknown:
        raise XLRBenchError(f"{name} has no subset {', '.join(unknown)}; its subsets: {', '.join(task.metadata.hf_subsets)}.")
    if subsets:
        task = mteb.get_task(name, hf_subsets=subsets)
    task.load_native()  # always the pinned raw files, whatever XLR_BENCH_HF_DATA says

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        written: dict[str, str] = {}
        configs: dict[str, list[dict[str, str]]] = {}
        for subset in task.hf_subsets:
            for split in task.metadata.eval_splits:
                for kind, table in split_tables(task.dataset[subset][split]).items():
                    rel = _write_table(table, tmp, kind, split, written)
                    configs.setdefault(_config_name(subset, kind), []).append({"split": split, "path": rel})
        write_json(tmp / PROVENANCE, _provenance(task, definition, written))
        (tmp / "README.md").write_text(_card(task, configs, definition), encoding="utf-8")
        for path in [tmp, *tmp.rglob("*")]:  # mkdtemp/mkstemp create 0700/0600; a dataset is for everyone
            path.chmod(0o755 if path.is_dir() else 0o644)
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _versions() -> dict[str, str]:
    return {pkg: pkg_metadata.version(pkg) for pkg in ("xlr-bench", "mteb", "datasets", "pyarrow")}


def _provenance(task: Any, definition: TaskDefinition, written: dict[str, str]) -> dict[str, Any]:
    source = definition.source.get("dataset")
    upstream = dataset_reference(source) if source else {}
    return {
        "task": task.metadata.name,
        "subsets": list(task.hf_subsets),
        "splits": list(task.metadata.eval_splits),
        "upstream": {"dataset": source, "repository": upstream.get("path"), "commit": upstream.get("revision"),
                     "files": {f.path: {"url": f.url, "sha256": f.sha256} for f in files_of(source)} if source else {}},
        "loader": definition.loader,
        "setting": definition.setting,
        "source_options": {k: v for k, v in definition.source.items() if k not in {"dataset", "directory"}},
        "files": dict(sorted(written.items())),
        "exported_with": _versions(),
    }


def _card(task: Any, configs: dict[str, list[dict[str, str]]], definition: TaskDefinition) -> str:
    """mteb's dataset card for the task, with the data files' configs and a provenance section."""
    card = task.metadata.generate_dataset_card()
    card.data.configs = [{"config_name": name, "data_files": files} for name, files in configs.items()]
    source = definition.source.get("dataset")
    upstream = dataset_reference(source) if source else None
    lines = ["", "## Provenance", "",
             f"Exported by `xlr-bench tasks export-hf {task.metadata.name}` from "
             + (f"the files of {upstream['path']} at commit `{upstream['revision']}` (each sha256-checked; "
                "list in `provenance.json`)." if upstream else "the task's source.")
             + f" Loader `{definition.loader}`" + (f", setting `{definition.setting}`" if definition.setting else "")
             + ". Subsets that share a corpus by protocol point to the same corpus file.",
             "", "Versions: " + ", ".join(f"{k} {v}" for k, v in _versions().items()) + "."]
    return str(card) + "\n" + "\n".join(lines) + "\n"


# -- load -----------------------------------------------------------------------------------------

def hf_data_setting() -> str | None:
    """``XLR_BENCH_HF_DATA``: a folder of exports, ``hub``, or None (the pinned raw files)."""
    return os.environ.get(HF_DATA_ENV) or None


def export_location(task_name: str, setting: str) -> Path:
    """The export folder of ``task_name`` under ``setting`` (``<folder>/<Task>`` or the folder itself)."""
    root = Path(setting).expanduser()
    for folder in (root / task_name, root):
        provenance = folder / PROVENANCE
        if provenance.is_file():
            try:
                found = json.loads(provenance.read_text(encoding="utf-8")).get("task")
            except json.JSONDecodeError:
                found = None
            if found == task_name:
                return folder
    raise XLRBenchError(
        f"{HF_DATA_ENV}={setting}: neither {root / task_name} nor {root} is an export of {task_name} "
        f"(no {PROVENANCE} naming it). Write one with `xlr-bench tasks export-hf {task_name} --out "
        f"{root / task_name}`, or unset {HF_DATA_ENV} to read the pinned raw files."
    )


def load_with_mteb(task: Any, setting: str) -> dict[str, dict[str, Any]]:
    """The task's subsets loaded by mteb's own ``RetrievalDatasetLoader`` from an export or the hub."""
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalDatasetLoader

    if setting == "hub":
        repo, revision = task.metadata.dataset["path"], task.metadata.dataset["revision"]
    else:
        repo, revision = str(export_location(task.metadata.name, setting)), "main"
    dataset: dict[str, dict[str, Any]] = {}
    for subset in task.hf_subsets:
        for split in task.metadata.eval_splits:
            try:
                loaded = RetrievalDatasetLoader(hf_repo=repo, revision=revision, split=split, config=subset).load()
            except Exception as exc:  # datasets/huggingface_hub raise many types for "absent / unreachable"
                raise XLRBenchError(
                    f"Could not load subset {subset!r} ({split}) of {task.metadata.name} from {repo}"
                    + (f" at revision {revision}" if setting == "hub" else "") + f": {type(exc).__name__}: {exc}. "
                    + ("Is the export uploaded and its hub commit recorded in hub.json, and is the hub reachable "
                       "(HF_HUB_OFFLINE unset)?" if setting == "hub" else
                       f"Export it again with `xlr-bench tasks export-hf {task.metadata.name}` (all subsets).")
                ) from exc
            dataset.setdefault(subset, {})[split] = loaded
    return dataset
