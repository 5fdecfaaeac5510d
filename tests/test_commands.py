"""The ``causalvlm`` command: its sub-commands, its dispatch; the package never reaches into examples/."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import causalvlm
from causalvlm.commands import COMMANDS, main

PACKAGE = Path(causalvlm.__file__).parent


def test_every_command_names_a_module_with_main():
    import importlib

    assert set(COMMANDS) == {"run", "eval", "bench", "sweep-rho", "pretrain", "distill", "scm"}
    for module, _ in COMMANDS.values():
        assert callable(importlib.import_module(module).main), module


def test_usage_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    printed = capsys.readouterr().out
    assert all(name in printed for name in COMMANDS)
    assert main([]) == 2  # no command: the usage, and a failing status


def test_an_unknown_command_is_named(capsys):
    assert main(["train"]) == 2
    assert "unknown command 'train'" in capsys.readouterr().err


def test_version_is_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"causalvlm {causalvlm.__version__}"


def test_scm_through_the_command(capsys):
    assert main(["scm", "cdc_frontdoor", "--treatment", "X", "--outcome", "Y"]) == 0
    assert "minimal front-door sets: {S}" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["run", "eval", "sweep-rho"])
def test_help_of_each_training_command_names_it(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: causalvlm {command}" in capsys.readouterr().out


def test_python_dash_m_causalvlm_is_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "causalvlm", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == f"causalvlm {causalvlm.__version__}"


def test_the_package_never_imports_examples():
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(name.split(".")[0] == "examples" for name in names), path
