"""Atomic file writes: a result or download is either complete on disk or absent.

Temporary files and folders are named ``.<target>.<pid>.<random>...`` beside their target, so that a
later run can remove what a killed one left (:func:`remove_leftovers`) without touching the
temporaries of a process that is still writing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path`` and move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".part", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, _default_mode())  # mkstemp makes 0600; the file should get the mode open() would give it
    try:
        with open(tmp, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _default_mode() -> int:
    """0666 less the process umask: what a plain ``open(path, "w")`` creates."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented UTF-8 JSON, atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def temp_prefix(target: str) -> str:
    """The name prefix of this process's temporaries for ``target`` (see :func:`remove_leftovers`)."""
    return f".{target}.{os.getpid()}."


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_leftovers(folder: Path, target: str) -> list[Path]:
    """Remove temporaries for ``target`` in ``folder`` whose writing process is gone (killed mid-write).

    Returns what was removed. Temporaries of live processes (a concurrent run) are left alone.
    """
    removed = []
    for path in Path(folder).glob(f".{target}.*"):
        pid = path.name[len(target) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed
