"""Where xlr-bench finds and keeps files: its shipped definitions, the user's own, its cache.

One place decides this so that every module (definitions, data layer, model converter, trainer)
agrees, and so that an installed wheel behaves like a checkout: nothing is looked up relative to a
source tree.

- Built-in task and model definitions ship inside the package (``xlr_bench/definitions/builtin/``).
- The user's own definitions live in ``$XDG_CONFIG_HOME/xlr-bench/{tasks,models}``
  (``~/.config/xlr-bench/...``), or below ``XLR_BENCH_CONFIG`` when set; ``xlr-bench models add``
  writes there by default.
- ``XLR_BENCH_CACHE`` overrides the cache ``$XDG_CACHE_HOME/xlr-bench`` (``~/.cache/xlr-bench``).
"""

from __future__ import annotations

import os
from pathlib import Path

from xlr_bench.core.errors import XLRBenchError

#: The definitions shipped with the package: ``tasks/*.toml`` and ``models/*.toml``.
BUILTIN_DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions" / "builtin"


def cache_dir() -> Path:
    """The user cache directory of xlr-bench (not created here)."""
    override = os.environ.get("XLR_BENCH_CACHE")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "xlr-bench"


def user_definitions_dir(kind: str) -> Path:
    """The user's folder of ``kind`` (``tasks`` or ``models``) definitions (not created here)."""
    override = os.environ.get("XLR_BENCH_CONFIG")
    if override:
        return Path(override).expanduser() / kind
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "xlr-bench" / kind


def check_output_folder(folder: Path, option: str) -> None:
    """A folder to write into must not be, or lie under, a file: found before hours of work, not after."""
    folder = Path(folder)
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise XLRBenchError(f"{option} {folder}: {blocking} is a file, so the folder cannot be created there.")
