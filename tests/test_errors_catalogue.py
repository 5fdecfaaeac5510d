"""One test per row of docs/errors.md: each bad input gives its documented message before any work starts.

The catalogue's tables have the columns ``id | surface | input | message``. ``surface`` says how the input is
given: ``run.py``, ``sweep_rho.py`` and ``pretrain`` rows are command lines, run in-process through the
command's ``main`` with its work function replaced by a trap (an accepted input fails the test instead of
training); ``yaml`` rows are the text of a ``--config`` file for run.py; ``api`` rows are Python expressions.
``message`` must appear in what the command prints (or in the exception's text). Inputs may use ``{file}`` (a
text file), ``{binary}`` (a binary file), ``{dir}`` (an empty folder) and ``{missing}`` (a path that does not
exist), all under the test's temporary folder.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

CATALOGUE = Path(__file__).parents[1] / "docs" / "errors.md"
EXAMPLES = Path(__file__).parents[1] / "examples" / "cdc"
COLUMNS = ["id", "surface", "input", "message"]
CLI_SURFACES = ("run.py", "sweep_rho.py", "pretrain", "yaml", "scm")
SURFACES = (*CLI_SURFACES, "api")
MICRO_CLIP = {  # 32×32 images, one layer per tower: builds in well under a second
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 24, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@dataclass(frozen=True)
class Row:
    id: str
    surface: str
    input: str
    message: str


def _cell(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text.startswith("`") and text.endswith("`"):
        text = text[1:-1]
    return text.replace("\\|", "|")


def read_catalogue(path: Path = CATALOGUE) -> list[Row]:
    """Every row of every table whose header is ``id | surface | input | message``."""
    rows, in_table = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [_cell(c) for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if [c.lower() for c in cells] == COLUMNS:
            in_table = True
        elif in_table and not set("".join(cells)) <= set("-: "):
            rows.append(Row(*cells))
    return rows


ROWS = read_catalogue()


def load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"catalogue_{name.removesuffix('.py')}", EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Accepted(AssertionError):
    """Raised by the trap that replaces a command's work: the bad input got through every check."""


def _trap(*args: Any, **kwargs: Any) -> Any:
    raise Accepted("the input was accepted and the work would have started")


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Placeholders, a clean working folder (relative defaults land in it) and no weight downloads."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("NO_SUCH_VARIABLE", raising=False)
    (tmp_path / "file.txt").write_text("plain text\n")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "folder").mkdir()
    return {
        "file": str(tmp_path / "file.txt"),
        "binary": str(tmp_path / "binary.bin"),
        "dir": str(tmp_path / "folder"),
        "missing": str(tmp_path / "missing" / "nothing"),
    }


def fill(text: str, places: dict[str, str]) -> str:
    """Replace the ``{file}``-style placeholders (and nothing else: YAML rows use braces too)."""
    return re.sub(r"\{(file|binary|dir|missing)\}", lambda match: places[match.group(1)], text)


def run_command(row: Row, places: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """The exit status of a command-line row, run in-process (what it prints goes to capsys)."""
    import causalvlm.worlds.pretrain as pretrain

    text = fill(row.input, places)
    if row.surface == "yaml":
        config = tmp_path / "config.yaml"
        config.write_text(text + "\n")
        argv, surface = ["--config", str(config)], "run.py"
    else:
        argv, surface = shlex.split(text), row.surface
    if surface == "run.py":
        module = load_script("run.py")
        monkeypatch.setattr(module, "run_experiment", _trap)
        main = module.main
    elif surface == "sweep_rho.py":
        module = load_script("sweep_rho.py")
        monkeypatch.setattr(module, "sweep_rho", _trap)
        main = module.main
    elif surface == "pretrain":
        monkeypatch.setattr(pretrain, "pretrain", _trap)
        main = pretrain.main
    else:  # scm
        from causalvlm.scm.__main__ import main
    try:
        return main(argv)
    except SystemExit as exit_info:
        return exit_info.code


# ---------------------------------------------------------------------------------------------- api
@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The names an ``api`` row's expression may use."""
    from causalvlm import DiscreteFrontDoor, FrontDoorClassifier
    from causalvlm.backbones import FrozenCLIP
    from causalvlm.data import DATASETS, read_split_json
    from causalvlm.data.fewshot import load_or_sample_fewshot
    from causalvlm.estimators.discrete_frontdoor import frontdoor_adjustment
    from causalvlm.training import method_spec
    from causalvlm.training.config import ExperimentConfig, OptimConfig, TrainConfig
    from causalvlm.training.rho_sweep import check_rhos, check_sweep
    from causalvlm.worlds.pretrain import PretrainConfig

    folder = tmp_path_factory.mktemp("api")
    config = folder / "micro_clip.json"
    config.write_text(json.dumps(MICRO_CLIP))
    torch.manual_seed(0)
    clip = FrozenCLIP.from_config(config)
    model = FrontDoorClassifier(clip, "handcrafted", "mean", classnames=["cat", "dog"])

    def split_file(train: list, val: list = (), test: list = ()) -> str:
        path = folder / f"split_{abs(hash(repr(train)))}.json"
        path.write_text(json.dumps({"train": train, "val": list(val), "test": list(test)}))
        return str(path)

    def image_folder() -> str:
        root = folder / "images"
        for name in ("cat", "dog"):
            (root / name).mkdir(parents=True, exist_ok=True)
            for index in range(3):
                Image.new("RGB", (8, 8), (index * 40, 0, 0)).save(root / name / f"{index}.png")
        return str(root)

    def fitted() -> DiscreteFrontDoor:
        rng = np.random.default_rng(0)
        x = rng.integers(0, 2, 400)
        s = (x + rng.integers(0, 2, 400)) % 2
        y = (s + rng.integers(0, 2, 400)) % 2
        return DiscreteFrontDoor().fit({"X": x, "S": s, "Y": y}, "X", "Y", ["S"])

    return {
        "torch": torch,
        "np": np,
        "clip": clip,
        "model": model,
        "S": clip.image_size,
        "FrontDoorClassifier": FrontDoorClassifier,
        "DiscreteFrontDoor": DiscreteFrontDoor,
        "frontdoor_adjustment": frontdoor_adjustment,
        "read_split_json": read_split_json,
        "load_or_sample_fewshot": load_or_sample_fewshot,
        "DATASETS": DATASETS,
        "ExperimentConfig": ExperimentConfig,
        "TrainConfig": TrainConfig,
        "OptimConfig": OptimConfig,
        "PretrainConfig": PretrainConfig,
        "method_spec": method_spec,
        "check_rhos": check_rhos,
        "check_sweep": check_sweep,
        "split_file": split_file,
        "image_folder": image_folder,
        "fitted": fitted,
        "folder": str(folder),
    }


def api_error(row: Row, api: dict[str, Any]) -> BaseException | None:
    try:
        eval(row.input, dict(api))  # the catalogue is our own file; its expressions are the documented calls
    except Exception as error:  # noqa: BLE001 (any exception type; the message is what is checked)
        return error
    return None


# ---------------------------------------------------------------------------------------------- tests
def test_the_catalogue_is_complete_and_well_formed():
    ids = [row.id for row in ROWS]
    assert len(ROWS) >= 75, f"docs/errors.md lists {len(ROWS)} bad inputs; the issue asks for at least 75"
    assert len(set(ids)) == len(ids), "row ids repeat"
    assert {row.surface for row in ROWS} <= set(SURFACES), {row.surface for row in ROWS} - set(SURFACES)
    assert all(row.message for row in ROWS), "every row needs a message fragment"


@pytest.mark.parametrize("row", [r for r in ROWS if r.surface in CLI_SURFACES], ids=lambda r: r.id)
def test_command_line_row(row, places, monkeypatch, tmp_path, capsys):
    status = run_command(row, places, monkeypatch, tmp_path)
    printed = capsys.readouterr()
    output = printed.err + printed.out
    assert status == 2, f"exit status {status}; output:\n{output}"
    assert row.message in output, f"expected {row.message!r} in:\n{output}"
    assert "Traceback" not in output


@pytest.mark.parametrize("row", [r for r in ROWS if r.surface == "api"], ids=lambda r: r.id)
def test_api_row(row, api):
    error = api_error(row, api)
    assert error is not None, f"{row.input} was accepted"
    assert row.message in str(error), f"expected {row.message!r} in {type(error).__name__}: {error}"
