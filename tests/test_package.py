"""The package itself: ``import llve`` is cheap, ``from llve import Enhancer`` is the Python API's entry point."""
import subprocess
import sys

import pytest


def test_import_llve_loads_no_torch_and_enhancer_is_lazy():
    code = ("import sys, llve; cheap = 'torch' not in sys.modules; from llve import Enhancer; "
            "print(cheap, 'torch' in sys.modules, Enhancer.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "llve.run.enhancer"]


def test_unknown_attribute_is_an_attribute_error():
    import llve

    with pytest.raises(AttributeError, match="no attribute 'Enhancr'"):
        _ = llve.Enhancr


def _module_imports() -> dict[str, set[str]]:
    """llve module -> llve modules it imports anywhere in its file (function-local imports included)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "src"
    files = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (root / "llve").rglob("*.py")}
    graph = {}
    for name, path in files.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                candidates = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            found |= {c for c in candidates if c in files and c != name}
        graph[name] = found - {"llve"}  # every module imports its package; the package's lazy Enhancer is the API
    return graph


def test_no_import_cycles_even_through_function_local_imports():
    graph = _module_imports()
    # the scan sees imports (a broken scan would find no cycle)
    assert "llve.run.enhance" in graph["llve.bench.video"]
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join(path[path.index(nxt):] + [node, nxt]) \
                if nxt in path else f"import cycle through {node} -> {nxt}"
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_library_errors_name_no_command_line_flags():
    """Outside cli/ a UserInputError or warning says what is wrong in the library's terms; the CLI adds flags."""
    import ast
    import re
    from pathlib import Path

    flag = re.compile(r"(^|[\s(`'\"])(--[a-z]|-o\b)")
    found = []
    for path in (Path(__file__).resolve().parents[1] / "src" / "llve").rglob("*.py"):
        if path.parent.name == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("UserInputError", "warn"):
                texts = [c.value for a in node.args for c in ast.walk(a)
                         if isinstance(c, ast.Constant) and isinstance(c.value, str)]
                found += [f"{path.name}:{node.lineno}: {t}" for t in texts if flag.search(t)]
    assert not found, found


def test_only_models_and_the_stream_pipeline_call_the_network_step():
    """One driver: outside models/ and stream/pipeline.py nobody calls a network's encode / decompose_first."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "src" / "llve"
    found = []
    for path in root.rglob("*.py"):
        if path.parent.name == "models" or path.relative_to(path.parents[1]).as_posix() == "stream/pipeline.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("encode", "decompose_first", "decompose_first_tiled"):
                receiver = ast.unparse(node.func.value)  # str.encode and PyAV's stream.encode are not networks
                if node.func.attr != "encode" or re.search(r"model|net", receiver):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {receiver}.{node.func.attr}")
    assert not found, found


def test_no_function_is_longer_than_sixty_lines():
    """A function that does not fit on a screen does several things: split it."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "src" / "llve"
    long = [f"{path.relative_to(root)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in root.rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60]
    assert not long, long


def test_the_public_api_names_the_stream_settings():
    from llve import StreamOptions
    from llve.stream.options import StreamOptions as declared

    assert StreamOptions is declared


def test_the_api_gets_the_same_openmp_wait_policy_as_the_command_line():
    """Python API users never pass through cli.main: the package sets the policy before PyTorch loads OpenMP."""
    import os
    import subprocess
    import sys

    code = ("from llve import Enhancer; import os, sys, llve; "
            "print(os.environ.get('OMP_WAIT_POLICY'), llve.TORCH_LOADED_FIRST, 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["PASSIVE", "False", "True"]  # set first, then torch was loaded by Enhancer's import
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # the user's own setting wins
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "ACTIVE"
