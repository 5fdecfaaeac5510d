"""The modules of ``causalvlm.scm`` import each other in one direction only; each imports on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import causalvlm.scm

SCM_DIR = Path(causalvlm.scm.__file__).parent
MODULES = sorted(path.stem for path in SCM_DIR.glob("*.py") if path.stem != "__init__")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(path: Path) -> set[str]:
    """Full names of the modules ``path`` imports when it runs: at top level or inside functions, but not in
    ``if TYPE_CHECKING:`` blocks (those never execute)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def scm_import_graph() -> nx.DiGraph:
    """module → module it imports, over the modules of causalvlm.scm (the package __init__ excluded)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    for module in MODULES:
        for name in imported_modules(SCM_DIR / f"{module}.py"):
            parts = name.split(".")
            if parts[:2] == ["causalvlm", "scm"] and len(parts) > 2 and parts[2] in MODULES:
                if parts[2] != module:
                    graph.add_edge(module, parts[2])
    return graph


def test_scm_modules_import_each_other_without_cycles():
    graph = scm_import_graph()
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import cycles inside causalvlm.scm: {cycles}"
    # the criteria are the bottom layer; the graph class calls into them, never the other way
    assert graph.has_edge("graph", "criteria") and not nx.has_path(graph, "criteria", "graph")
    assert not nx.has_path(graph, "identification", "graph") and not nx.has_path(graph, "drawing", "graph")


def test_the_causal_core_imports_no_driver_and_no_torch():
    for module in MODULES:
        names = imported_modules(SCM_DIR / f"{module}.py")
        outside = sorted(n for n in names if n.startswith("causalvlm.") and not n.startswith("causalvlm.scm"))
        assert not outside, f"causalvlm.scm.{module} imports {outside}"
        assert not any(n == "torch" or n.startswith("torch.") for n in names), module


@pytest.mark.parametrize("module", MODULES)
def test_each_scm_module_imports_in_a_fresh_interpreter(module):
    code = f"import causalvlm.scm.{module}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
