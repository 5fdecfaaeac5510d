"""The package's rooms and their import direction, read from the source with ast (nothing is imported).

Imports run experiments → training → classifier and experiments → runs (training may use runs for its
checkpoints); nothing runs back up, and nothing below the three rooms imports them. No import cycle exists
among causalvlm's modules at import time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import causalvlm

PACKAGE = Path(causalvlm.__file__).parent
ROOMS = ("experiments", "training", "runs")
# room → the rooms (and the command layer) it must never import
FORBIDDEN = {
    "runs": ("training", "experiments", "commands"),
    "training": ("experiments", "commands"),
    "experiments": ("commands",),
}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _imports(path: Path, module_level_only: bool) -> set[str]:
    """The causalvlm modules ``path`` imports (``from pkg import submodule`` counts as the submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("causalvlm")
        ):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in MODULES else str(node.module))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("causalvlm"))
    return found


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in (*ROOMS, "commands") else None


def test_the_three_rooms_exist_as_subpackages():
    for room in ROOMS:
        assert (PACKAGE / room / "__init__.py").is_file(), room
    assert not (PACKAGE / "training" / "config.py").exists()  # the experiment's config lives in experiments


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_one_way(module):
    """Every import, lazy ones included: a room never imports a room above it; the layers below the rooms
    (classifier, mediators, data, evaluation, ...) import none of them. The package's own ``__init__`` is
    the front door and may name anything."""
    if module in ("causalvlm", "causalvlm.__main__"):  # the front doors
        return
    room = _room(module)
    forbidden = FORBIDDEN.get(room, ()) if room else (*ROOMS, "commands")
    if room == "commands":
        forbidden = ()
    wrong = sorted(m for m in _imports(MODULES[module], module_level_only=False) if _room(m) in forbidden)
    assert not wrong, f"{module} ({room or 'below the rooms'}) imports {wrong}"


def test_the_direction_test_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from causalvlm.experiments.config import ExperimentConfig\n")
    assert "causalvlm.experiments.config" in _imports(bad, module_level_only=False)
    assert _room("causalvlm.experiments.config") in FORBIDDEN["training"]


def test_no_import_cycle_at_import_time():
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        graph.add_edges_from((module, target) for target in _imports(path, module_level_only=True))
    assert list(nx.simple_cycles(graph)) == []


def test_lazy_imports_close_no_cycle_across_subpackages():
    """Function-level imports may only loop inside one subpackage (the SCM's convenience methods call the
    criteria that take an SCM); the config ↔ method-spec loop of 0.1.0 is gone."""
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_edges_from((module, target) for target in _imports(path, module_level_only=False))
    for cycle in nx.simple_cycles(graph):
        packages = {".".join(m.split(".")[:2]) for m in cycle}
        assert len(packages) == 1, cycle


def test_no_module_over_400_lines():
    long = {
        m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
