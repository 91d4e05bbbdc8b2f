"""Reports built from result files alone: the α-study report (tables, intervals, paired tests, plots).
Reads result trees; imports no model, task or training code."""

from xlr_bench.report.study import build_report

__all__ = ["build_report"]
