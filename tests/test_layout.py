"""The package's stages import one way: definitions → data → metrics → tasks → models → results →
evaluation → report → training, with the command line on top.

Read from the source (every ``import``/``from`` statement, lazy ones inside functions included), so
a new module or a new import that points upwards fails here, not in a code review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import xlr_bench

PACKAGE = Path(xlr_bench.__file__).parent

# Lower index = lower layer; a module may import its own layer and any layer below it.
LAYERS = [
    "core", "definitions", "data", "metrics", "tasks", "models", "results", "evaluation", "report",
    "training", "testing", "cli",
]
# Narrower rules the issue states outright, beyond the order above.
FORBIDDEN = {
    "report": {"tasks", "models", "evaluation", "training", "data"},  # reads result files only
    "data": {"tasks", "models", "metrics"},
    "metrics": {m for m in LAYERS if m != "metrics"},  # pure numbers
}


def stage_of(module: str) -> str | None:
    """The stage of a dotted module name inside xlr_bench (``None`` for the package root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "xlr_bench" else None


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if node.module == "xlr_bench")
    return {name for name in found if name.startswith("xlr_bench.")}


def module_files() -> dict[str, Path]:
    return {
        ".".join(("xlr_bench", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }


def test_every_module_belongs_to_a_stage():
    unknown = {m for m in module_files() if m != "xlr_bench" and stage_of(m) not in LAYERS}
    assert not unknown, f"modules outside the known stages (add them to LAYERS): {sorted(unknown)}"


def test_imports_point_down_the_flow():
    violations = []
    for module, path in module_files().items():
        own = stage_of(module)
        if own is None:  # the package root re-exports and registers: it may import any stage
            continue
        for target in imports_of(path):
            other = stage_of(target)
            if other is None or other == own:
                continue
            if LAYERS.index(other) > LAYERS.index(own) or other in FORBIDDEN.get(own, set()):
                violations.append(f"{module} imports {target} ({own} → {other})")
    assert not violations, "imports against the flow:\n" + "\n".join(sorted(violations))


def test_nothing_imports_the_command_line():
    offenders = [m for m, p in module_files().items() if stage_of(m) != "cli"
                 and any(stage_of(t) == "cli" for t in imports_of(p))]
    assert not offenders, f"only the command line may import xlr_bench.cli: {offenders}"


def test_the_checker_sees_a_violation(tmp_path):
    """The rule catches an upward import, so the tests above cannot pass vacuously."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from xlr_bench.training.trainer import train\n")
    assert "xlr_bench.training.trainer" in imports_of(bad)
    assert LAYERS.index(stage_of("xlr_bench.training.trainer")) > LAYERS.index("data")
