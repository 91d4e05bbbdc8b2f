"""The ``xlr-bench`` command line (click): thin commands that parse options and call the stages.
Nothing below imports from here."""

from xlr_bench.cli.app import main

__all__ = ["main"]
