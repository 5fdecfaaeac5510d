"""Every example script imports: a module the library moved or renamed fails here, not in a user's hands."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.rglob("*.py") if p.name != "__init__.py")


def test_there_are_example_scripts():
    assert len(SCRIPTS) >= 8, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_script_imports(script: Path, monkeypatch):
    monkeypatch.syspath_prepend(str(script.parent))  # the scripts import their neighbours (world_validation)
    name = script.stem
    try:
        module = importlib.import_module(name)
        if "__main__" in script.read_text():  # a script, not a helper module such as world_validation
            assert callable(getattr(module, "main", None)), f"{script} has no main()"
    finally:
        sys.modules.pop(name, None)
