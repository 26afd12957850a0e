"""The package's layers, bottom to top: a module may import its own layer and the ones below, never one above.

The order is the architecture (docs/architecture.md); function-local imports count as much as top-level ones.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "llve"
LAYERS = ["core", "media", "models", "flow", "stream", "run", "batch", "data", "evaluate", "train", "bench", "view",
          "cli"]  # cli/, __init__.py and __main__.py form the top


def layer_of(module: str) -> str:
    """``llve.stream.pipeline`` -> ``stream``; top-level files (cli, __init__, __main__) -> ``cli``."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in ("cli", "__init__", "__main__", "__version__"):
        return "cli"
    return parts[1]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every ``llve...`` module a file imports, anywhere in the file (function bodies included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "llve"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "llve":
            if node.module == "llve":  # from llve import stream -> the subpackage is the imported module
                found += [(node.lineno, f"llve.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def violations(root: Path) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        own = layer_of(".".join(rel.parts))
        for line, module in imported_modules(path):
            if module == "llve" or layer_of(module) == "cli" and module.split(".")[1] == "__version__":
                continue
            target = layer_of(module)
            if LAYERS.index(target) > LAYERS.index(own):
                bad.append(f"{rel}.py:{line} ({own}) imports {module} ({target})")
    return bad


def test_every_subpackage_is_a_named_layer():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(LAYERS)
    top_files = {p.name for p in PACKAGE.glob("*.py")}
    assert top_files == {"__init__.py", "__main__.py"}


def test_no_module_imports_a_layer_above_its_own():
    assert violations(PACKAGE) == []


def test_the_check_catches_a_planted_upward_import(tmp_path):
    root = tmp_path / "llve"
    (root / "core").mkdir(parents=True)
    (root / "core" / "sneaky.py").write_text("def f():\n    from llve.stream.pipeline import decompose_stream\n")
    (root / "stream").mkdir()
    (root / "stream" / "fine.py").write_text("from llve.core.errors import UserInputError\n")
    assert violations(root) == ["llve/core/sneaky.py:2 (core) imports llve.stream.pipeline (stream)"]


@pytest.mark.parametrize("module, layer", [("llve.cli", "cli"), ("llve", "cli"), ("llve.models.fast", "models")])
def test_layer_of(module, layer):
    assert layer_of(module) == layer
