"""Every third-party package the code imports is declared in pyproject.toml: the product's in
`dependencies`, the tests', benchmarks' and tools' in `dependencies` or the `dev` or `peer` extras. An import that
only works because another package happens to pull its distribution in breaks on a fresh install."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"medgrad_desktop", "tests", "benchmarks", "medgrad_startup_trace"}  # the last: build/hooks


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(requirements: list[str]) -> set[str]:
    return {_canonical(re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0]) for r in requirements}


def _imported(paths: list[Path]) -> dict[str, str]:
    """Top-level third-party module -> one file that imports it (imports inside functions included)."""
    found: dict[str, str] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _undeclared(paths: list[Path], declared: set[str]) -> dict[str, str]:
    owners = md.packages_distributions()
    return {
        module: f"{where} (distribution: {', '.join(owners.get(module, ['not installed']))})"
        for module, where in _imported(paths).items()
        if not any(_canonical(d) in declared for d in owners.get(module, []))
    }


def test_every_imported_package_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _declared(project["dependencies"])
    extras = project["optional-dependencies"]
    dev = runtime | _declared(extras["dev"]) | _declared(extras["peer"])
    product = sorted((ROOT / "medgrad_desktop").rglob("*.py"))
    tooling = [p for d in ("tests", "benchmarks", "tools") for p in sorted((ROOT / d).rglob("*.py"))]
    tooling += [*sorted((ROOT / "build").glob("*.py")), *sorted((ROOT / "build" / "hooks").glob("*.py"))]
    assert _undeclared(product, runtime) == {}
    assert _undeclared([*tooling, ROOT / "main.py"], dev) == {}
