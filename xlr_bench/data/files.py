"""The data layer: which upstream files exist, where to find them locally, and how to fetch them.

Every file xlr-bench reads is pinned in ``data/registry.json`` (upstream URL at a fixed commit +
sha256), so results are comparable across machines and a corrupted or edited copy is never used.
Local copies are searched in this order:

1. an explicit ``data_dir`` (the CLI's ``--data-dir``),
2. the ``XLR_BENCH_DATA`` environment variable,
3. the user cache (``<cache>/data``), where ``xlr-bench data fetch`` puts downloads.

Loading never downloads behind the user's back: a missing file is an error that says where we looked
and the two ways to provide it (fetch it, or point ``XLR_BENCH_DATA`` at a copy).
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tqdm.auto import tqdm

from xlr_bench.core.atomic import atomic_open
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.paths import cache_dir

_REGISTRY_PATH = Path(__file__).with_name("registry.json")
DATA_ENV = "XLR_BENCH_DATA"


@dataclass(frozen=True)
class DataFile:
    """One pinned upstream file; ``path`` is relative to a data directory."""

    path: str
    dataset: str
    url: str
    sha256: str


@lru_cache(maxsize=1)
def registry() -> dict[str, DataFile]:
    """All pinned files, by relative path."""
    raw = json.loads(_REGISTRY_PATH.read_text(encoding="utf-8"))
    return {f["path"]: DataFile(**f) for f in raw["files"]}


def datasets() -> list[str]:
    """Names accepted by ``data fetch`` (``xquad-r``, ``mlqa-r``, ``afriqa``)."""
    return sorted({f.dataset for f in registry().values()})


def files_of(dataset: str) -> list[DataFile]:
    """The pinned files of one dataset, or an error listing the known datasets."""
    found = [f for f in registry().values() if f.dataset == dataset]
    if not found:
        raise XLRBenchError(f"Unknown dataset {dataset!r}. Known datasets: {', '.join(datasets())}.")
    return found


def dataset_reference(dataset: str) -> dict[str, str]:
    """``{"path", "revision"}`` of a registered dataset, as mteb's ``TaskMetadata.dataset`` wants."""
    raw = json.loads(_REGISTRY_PATH.read_text(encoding="utf-8"))["datasets"]
    if dataset not in raw:
        raise XLRBenchError(f"Unknown dataset {dataset!r}. Known datasets: {', '.join(sorted(raw))}.")
    return {"path": raw[dataset]["repository"], "revision": raw[dataset]["commit"]}


def search_roots(data_dir: str | Path | None = None) -> list[Path]:
    """The data directories searched, in priority order."""
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(Path(data_dir).expanduser())
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]).expanduser())
    roots.append(cache_dir() / "data")
    return roots


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _verified(path: Path, size: int, mtime_ns: int, expected: str) -> bool:
    # Keyed by size and mtime so a file changed on disk is hashed again.
    return sha256_of(path) == expected


def _matches(path: Path, expected: str) -> bool:
    stat = path.stat()
    return _verified(path, stat.st_size, stat.st_mtime_ns, expected)


def locate(relpath: str, data_dir: str | Path | None = None) -> Path:
    """Return the verified local copy of a registered file.

    Raises :class:`XLRBenchError` when no copy exists or the first copy found fails its checksum
    (a mismatching file is never used: it may be truncated or a different upstream version).
    """
    if relpath not in registry():
        raise XLRBenchError(f"{relpath!r} is not a registered data file (see xlr_bench/data/registry.json).")
    entry = registry()[relpath]
    roots = search_roots(data_dir)
    for root in roots:
        candidate = root / relpath
        if candidate.is_file():
            if not _matches(candidate, entry.sha256):
                raise XLRBenchError(
                    f"Checksum mismatch for {candidate}: expected sha256 {entry.sha256}, got "
                    f"{sha256_of(candidate)}. The file is not used. Replace it with the upstream copy "
                    f"(`xlr-bench data fetch {entry.dataset} --force`) or remove it."
                )
            return candidate
    looked = "\n".join(f"  - {root / relpath}" for root in roots)
    raise XLRBenchError(
        f"Missing data file {relpath} (dataset {entry.dataset}). Looked in:\n{looked}\n"
        f"Provide it in one of two ways:\n"
        f"  1. online: `xlr-bench data fetch {entry.dataset}` downloads it from {entry.url} into "
        f"{cache_dir() / 'data'} (checksum verified);\n"
        f"  2. offline: set {DATA_ENV} to a folder that holds {relpath} (xlr-bench's own commands also "
        f"take --data-dir; `xlr-bench mteb ...` and `mteb` read only {DATA_ENV})."
    )


def fetch(dataset: str, dest: str | Path | None = None, force: bool = False) -> list[Path]:
    """Download a dataset's files into ``dest`` (default: the user cache), verifying each checksum.

    A file is written to a temporary name and moved into place only once its checksum matches, so an
    interrupted or corrupted download never leaves a file that looks complete.
    """
    dest = Path(dest).expanduser() if dest is not None else cache_dir() / "data"
    written = []
    for entry in tqdm(files_of(dataset), desc=f"fetch {dataset}", unit="file"):
        target = dest / entry.path
        if target.is_file() and not force and _matches(target, entry.sha256):
            written.append(target)
            continue
        try:
            with urllib.request.urlopen(entry.url, timeout=60) as response:
                payload = response.read()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise XLRBenchError(
                f"Could not download {entry.url} ({exc}). If this machine is offline, copy the "
                f"dataset to a folder and set {DATA_ENV} to it instead."
            ) from exc
        got = hashlib.sha256(payload).hexdigest()
        if got != entry.sha256:
            raise XLRBenchError(
                f"Downloaded {entry.url} but its sha256 is {got}, expected {entry.sha256}; nothing was written."
            )
        with atomic_open(target, "wb") as handle:
            handle.write(payload)
        written.append(target)
    return written


@dataclass(frozen=True)
class FileStatus:
    """Outcome of checking one registered file: ``ok``, ``missing`` or ``mismatch``."""

    entry: DataFile
    status: str
    path: Path | None


def check(data_dir: str | Path | None = None, dataset: str | None = None) -> list[FileStatus]:
    """Check every registered file (or one dataset's) against the search roots."""
    entries = files_of(dataset) if dataset else list(registry().values())
    report = []
    for entry in entries:
        found = next((r / entry.path for r in search_roots(data_dir) if (r / entry.path).is_file()), None)
        if found is None:
            report.append(FileStatus(entry, "missing", None))
        else:
            report.append(FileStatus(entry, "ok" if _matches(found, entry.sha256) else "mismatch", found))
    return report


def read_json(path: Path) -> object:
    """Parse a JSON file, naming the file and position when it is truncated, malformed or not UTF-8."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise XLRBenchError(
            f"Malformed JSON in {path}: {exc.msg} at line {exc.lineno}, column {exc.colno} (char {exc.pos})."
        ) from exc
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc


def read_jsonl(path: Path) -> list[dict]:
    """Parse a JSON-lines file of objects, naming the file and line of the first malformed record."""
    rows = []
    try:
        with path.open(encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise XLRBenchError(f"Malformed JSON in {path}, line {lineno}: {exc.msg} (column {exc.colno}).") from exc
                if not isinstance(row, dict):
                    raise XLRBenchError(f"{path}, line {lineno}: expected a JSON object ({{...}}), got "
                                        f"{type(row).__name__} {line.strip()[:40]!r}.")
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    return rows


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> XLRBenchError:
    return XLRBenchError(f"{path} is not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r}); "
                         "convert it to UTF-8 (e.g. `iconv -f latin1 -t utf-8`).")
