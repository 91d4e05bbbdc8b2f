"""Run a callback once a module has been imported, without importing it ourselves.

Why: ``import xlr_bench`` must make xlr-bench's tasks visible to mteb (``mteb.get_task(...)``), but
importing mteb (with torch and transformers) takes seconds, and the command line must start in well
under that for ``--help`` or ``data check``. So the package does not import mteb; it asks to be told
when mteb has been imported, by whom ever, and registers then (or at once, if mteb already is).

The callback runs when the outermost import in progress — of the watched module or of one of the
package's own modules — has finished: if an xlr-bench module imports mteb at its top, that module
is complete before the callback (which may import it) runs. Once the callback has run, the hook
removes itself from ``sys.meta_path``. Several hooks may wait at once (each wraps the loader the
other found).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any


class _Loader(importlib.abc.Loader):
    """Delegates to the real loader; counts how deep imports nest and fires the hook at depth 0."""

    def __init__(self, hook: "AfterImport", loader: importlib.abc.Loader, watched: bool) -> None:
        self._hook, self._loader, self._watched = hook, loader, watched

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps its own loader (importlib.resources, inspect and pickle look there).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._hook.depth += 1
        try:
            self._loader.exec_module(module)
            if self._watched:
                self._hook.seen = True
        finally:
            self._hook.depth -= 1
        self._hook.fire_if_ready()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``callback`` once, after ``module`` has been imported (see the module docstring)."""

    def __init__(self, module: str, package: str, callback: Callable[[], None]) -> None:
        self.module, self.package, self.callback = module, package, callback
        self.depth, self.seen, self.done = 0, False, False
        self._finding: set[str] = set()

    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        watched = fullname == self.module
        if self.done or fullname in self._finding or not (watched or fullname.startswith(self.package + ".")):
            return None
        self._finding.add(fullname)  # another hook's search for the same module comes back here: skip it
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = _Loader(self, spec.loader, watched)
                    return spec
            return None
        finally:
            self._finding.discard(fullname)

    def fire_if_ready(self) -> None:
        """Run the callback if the watched module is imported and no import is half done."""
        if self.done or not self.seen or self.depth:
            return
        self.done = True
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self.callback()


def call_after_import(module: str, package: str, callback: Callable[[], None]) -> None:
    """Call ``callback`` now if ``module`` is imported, else right after the import that brings it in
    (once: asking again while the same callback already waits for the same module adds nothing)."""
    if module in sys.modules:
        callback()
        return
    if any(isinstance(hook, AfterImport) and (hook.module, hook.callback) == (module, callback) for hook in sys.meta_path):
        return
    sys.meta_path.insert(0, AfterImport(module, package, callback))
