"""The name layer: registration, duplicates, and names declared before their registering module loads."""

from __future__ import annotations

import sys
import types

import pytest

from causalvlm.registry import Registry


@pytest.fixture
def registry(monkeypatch, tmp_path):
    """A registry, and a module on sys.path that registers "late" into it when imported."""
    parts = Registry("part")
    home = types.ModuleType("fake_registry_home")
    home.PARTS = parts
    monkeypatch.setitem(sys.modules, "fake_registry_home", home)
    (tmp_path / "fake_part_provider.py").write_text(
        "from fake_registry_home import PARTS\n\n@PARTS.register('late')\ndef late():\n    return 42\n"
    )
    (tmp_path / "fake_silent_provider.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield parts
    for name in ("fake_part_provider", "fake_silent_provider"):
        sys.modules.pop(name, None)


def test_register_build_and_list(registry):
    registry.register("b")(lambda: "b")
    registry.register("a")(lambda x=1: x)
    assert registry.names() == ["a", "b"] and registry.build("a", x=3) == 3
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a")(lambda: None)
    with pytest.raises(KeyError, match="valid names: a, b"):
        registry.get("c")


def test_declared_name_is_known_before_its_module_is_imported(registry):
    registry.declare("late", "fake_part_provider")
    assert "late" in registry and registry.names() == ["late"]
    assert "fake_part_provider" not in sys.modules
    assert registry.build("late") == 42
    assert "fake_part_provider" in sys.modules and registry.names() == ["late"]
    with pytest.raises(ValueError, match="already registered"):
        registry.declare("late", "fake_part_provider")


def test_a_declaration_whose_module_does_not_register_is_an_error(registry):
    registry.declare("ghost", "fake_silent_provider")
    with pytest.raises(RuntimeError, match="fake_silent_provider.*'ghost'"):
        registry.get("ghost")
