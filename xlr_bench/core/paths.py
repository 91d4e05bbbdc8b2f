"""Where xlr-bench keeps files it creates (converted models, downloaded data).

One place decides this so that every module (data layer, model converter, trainer) agrees.
``XLR_BENCH_CACHE`` overrides the default ``$XDG_CACHE_HOME/xlr-bench`` (``~/.cache/xlr-bench``).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """The user cache directory of xlr-bench (not created here)."""
    override = os.environ.get("XLR_BENCH_CACHE")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "xlr-bench"
