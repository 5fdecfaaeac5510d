"""One test per row of docs/errors.md: each bad input gives its documented message before any work starts.

The catalogue's tables have the columns ``id | surface | input | message``. ``surface`` says how the input is
given: ``run.py``, ``sweep_rho.py``, ``eval``, ``pretrain``, ``distill`` and ``scm`` rows are command lines,
run in-process through the command's ``main`` with its work function replaced by a trap (an accepted input
fails the test instead of training); ``yaml`` rows are the text of a ``--config`` file for run.py; ``api``
rows are Python expressions. ``resume`` rows are run.py options applied to a copy of a finished 2-epoch run
(see :func:`resume_command`), optionally after one named damage such as ``[truncated last.ckpt]``. ``message``
must appear in what the command prints (or in the exception's text). Inputs may use ``{file}`` (a text file),
``{binary}`` (a binary file), ``{dir}`` (an empty folder) and ``{missing}`` (a path that does not exist), all
under the test's temporary folder; ``resume`` rows also ``{out}`` (the run's output folder) and ``{run}`` (its
run directory), in the input and in the message.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers import replace_options, write_micro_clip
from PIL import Image

from causalvlm.runs.checkpoints import RUN_KEY

CATALOGUE = Path(__file__).parents[1] / "docs" / "errors.md"
EXAMPLES = Path(__file__).parents[1] / "examples" / "cdc"
COLUMNS = ["id", "surface", "input", "message"]
# The study scripts of examples/cdc, each with the functions where its work begins (replaced by the trap).
STUDIES = {
    "probe_similarity.py": ("load_backbone",),
    "fusion_views.py": ("validation_world", "study"),
    "choose_world.py": ("runner_for", "validation_world"),
    "choose_templates.py": ("validation_world", "runner_for"),
    "shortcut_gap.py": ("runner_for", "validation_world"),
}
CLI_SURFACES = (
    "run.py", "sweep_rho.py", "eval", "pretrain", "distill", "yaml", "scm", "world-task",
    "bench", "bench-suite", *STUDIES,
)  # fmt: skip
SURFACES = (*CLI_SURFACES, "resume", "api")


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


# The catalogue's surface names → the package command they reach (examples/cdc/run.py and sweep_rho.py are
# thin wrappers over these).
COMMAND_MODULES = {
    "run.py": "causalvlm.commands.run",
    "sweep_rho.py": "causalvlm.commands.sweep_rho",
    "eval": "causalvlm.commands.evaluate",
}


def load_script(name: str) -> Any:
    return importlib.import_module(COMMAND_MODULES[name])


def load_example(name: str) -> Any:
    """A study script of examples/cdc (not part of the package), loaded from its file."""
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
    """Replace the ``{file}``-style placeholders in ``places`` (nothing else: YAML rows use braces too)."""
    names = "|".join(map(re.escape, places))
    return re.sub(rf"\{{({names})\}}", lambda match: places[match.group(1)], text)


def run_command(row: Row, places: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """The exit status of a command-line row, run in-process (what it prints goes to capsys)."""
    import causalvlm.worlds.pretrain as pretrain

    text = fill(row.input, places)
    if row.surface == "yaml":
        config = tmp_path / "config.yaml"
        config.write_text(text + "\n")
        argv, surface = ["--config", str(config)], "run.py"
    elif row.surface == "bench-suite":  # "<suite file text>` + `<arguments>": the suite, then the tables
        suite_text, _, arguments = text.partition("` + `")
        suite = tmp_path / "suite.yaml"
        suite.write_text(suite_text + "\n")
        argv, surface = ["--suite", str(suite), *shlex.split(arguments)], "bench"
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
    elif surface == "eval":
        module = load_script("eval")
        monkeypatch.setattr(module, "score", _trap)
        main = module.main
    elif surface in STUDIES:
        monkeypatch.syspath_prepend(str(EXAMPLES))  # the studies import world_validation beside them
        module = load_example(surface)
        for name in STUDIES[surface]:
            monkeypatch.setattr(module, name, _trap)
        main = module.main
    elif surface == "world-task":
        import causalvlm.worlds.task as task

        monkeypatch.setattr(task, "make_task", _trap)
        main = task.main
    elif surface == "bench":
        import causalvlm.commands.bench as bench

        monkeypatch.setattr(bench, "run_suite", _trap)
        main = bench.main
    elif surface == "pretrain":
        monkeypatch.setattr(pretrain, "pretrain", _trap)
        main = pretrain.main
    elif surface == "distill":
        import causalvlm.worlds.distill as distill

        monkeypatch.setattr(distill, "distill", _trap)
        main = distill.main
    else:  # scm
        from causalvlm.scm.__main__ import main
    try:
        return main(argv)
    except SystemExit as exit_info:
        return exit_info.code


# ---------------------------------------------------------------------------------------------- resume
RUN_DIR = Path("runs") / "coop" / "imagefolder" / "seed1"  # the one run of the prepared experiment
DAMAGE = re.compile(r"^\[(?P<name>[^\]]+)\]\s*")  # "[truncated last.ckpt] --resume": the damage, then options
LOCK_HOLDER = {"pid": 4321, "host": "lab-pc", "started": "2024-12-01 09:00:00 +0000", "command": "run.py"}


def _cdc_fixtures() -> Any:
    """tests/helpers.py (the micro CLIP and the JPEG image folder of the pipeline tests)."""
    import helpers

    return helpers


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    """One finished 2-epoch CoOp run (micro CLIP, random weights, 2 shots of an image folder), made once for
    the module; each ``resume`` row works on a copy. Returns run.py's arguments (less ``--out``) and out."""
    fixtures = _cdc_fixtures()
    root = tmp_path_factory.mktemp("resume")
    settings = root / "fast.yaml"  # JSON is YAML
    fast = {"compute_templates": [1], "train": {"batch_size": 4, "eval_batch_size": 64}}
    settings.write_text(json.dumps(fast))
    argv = [
        "--config", str(settings), "--dataset", "imagefolder",
        "--data-root", str(fixtures.write_jpeg_dataset(root / "colours")),
        "--backbone", str(fixtures.write_micro_clip(root)), "--pretrained", "none",
        "--method", "coop", "--seeds", "1", "--shots", "2", "--epochs", "2",
    ]  # fmt: skip
    out = root / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        assert load_script("run.py").main([*argv, "--out", str(out)]) == 0
    assert (out / RUN_DIR / "checkpoints" / "last.ckpt").is_file()
    return argv, out


def _cut_in_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _rewrite_checkpoint(path: Path, drop: str) -> None:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    del checkpoint[drop]
    torch.save(checkpoint, path)


def _edit_json(path: Path, **changes: Any) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value))


def _hold_lock(out: Path, held: ExitStack) -> None:
    """Hold ``out/run.lock`` the way a running experiment does (``flock`` plus its name), for the row's run.

    ``flock`` locks belong to an open file, so the run's own open of the file conflicts even in this process.
    """
    import fcntl

    fd = os.open(out / "run.lock", os.O_RDWR | os.O_CREAT, 0o666)
    held.callback(os.close, fd)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, json.dumps(LOCK_HOLDER).encode())


CHECKPOINT, CONFIG = RUN_DIR / "checkpoints" / "last.ckpt", RUN_DIR / "config.json"
DAMAGES = {  # name (as a row writes it) → what it does to the copied output folder
    "truncated last.ckpt": lambda out, held: _cut_in_half(out / CHECKPOINT),
    "garbage in last.ckpt": lambda out, held: (out / CHECKPOINT).write_bytes(b"not a checkpoint" * 9),
    "empty last.ckpt": lambda out, held: (out / CHECKPOINT).write_bytes(b""),
    "last.ckpt without state_dict": lambda out, held: _rewrite_checkpoint(out / CHECKPOINT, "state_dict"),
    "last.ckpt without its run record": lambda out, held: _rewrite_checkpoint(out / CHECKPOINT, RUN_KEY),
    "cut config.json": lambda out, held: _cut_in_half(out / CONFIG),
    "config.json without a configuration": lambda out, held: _write_json(out / CONFIG, {"fingerprint": "0"}),
    "config.json fingerprint edited": lambda out, held: _edit_json(out / CONFIG, fingerprint="0" * 64),
    "no config.json": lambda out, held: (out / CONFIG).unlink(),
    "run.lock held by pid 4321": lambda out, held: _hold_lock(out, held),
}


def snapshot(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` with its modification time: what a refused run must leave as it was."""
    files = (path for path in folder.rglob("*") if path.is_file())
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns for path in files}


def one_line(text: str) -> str:
    """Runs of whitespace (line breaks included) as one space: a multi-line message matches a table cell."""
    return " ".join(text.split())


def shows(message: str, output: str) -> bool:
    """Whether ``output`` holds ``message``, compared :func:`one_line`, with ``…`` in it standing for any text
    (a data digest, say) between the parts around it."""
    pattern = ".*?".join(re.escape(part.strip()) for part in one_line(message).split("…"))
    return re.search(pattern, one_line(output)) is not None


# ---------------------------------------------------------------------------------------------- api
@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The names an ``api`` row's expression may use."""
    from causalvlm import DiscreteFrontDoor, FrontDoorClassifier
    from causalvlm.backbones import FrozenCLIP
    from causalvlm.data import DATASETS, read_split_json
    from causalvlm.data.fewshot import load_or_sample_fewshot
    from causalvlm.estimators.discrete_frontdoor import frontdoor_adjustment
    from causalvlm.experiments import method_spec
    from causalvlm.experiments.config import ExperimentConfig
    from causalvlm.experiments.rho_sweep import check_rhos, check_sweep
    from causalvlm.mediators.augmentations import register_view_set
    from causalvlm.training.settings import OptimConfig, TrainConfig
    from causalvlm.worlds.pretrain import PretrainConfig

    folder = tmp_path_factory.mktemp("api")
    config = write_micro_clip(folder)
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
        "register_view_set": register_view_set,
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


@pytest.mark.parametrize("row", [r for r in ROWS if r.surface == "resume"], ids=lambda r: r.id)
def test_resume_row(row, finished_run, monkeypatch, tmp_path, capsys):
    """The row's damage and options applied to a copy of the finished run: refused with its message before
    any training (the fit is a trap), and the output folder left exactly as it was."""
    import causalvlm.experiments.experiment as experiment

    base, source = finished_run
    out = tmp_path / "out"
    shutil.copytree(source, out)
    places = {"out": str(out), "run": str(out / RUN_DIR)}
    text = fill(row.input, places)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(experiment.ProtocolRunner, "run", _trap)
    main = load_script("run.py").main
    with ExitStack() as held:
        if damage := DAMAGE.match(text):
            assert damage["name"] in DAMAGES, f"unknown damage {damage['name']!r}; known: {sorted(DAMAGES)}"
            DAMAGES[damage["name"]](out, held)
            text = text[damage.end() :]
        before = snapshot(out)
        capsys.readouterr()
        try:
            status = main(replace_options([*base, "--out", str(out)], shlex.split(text)))
        except SystemExit as exit_info:
            status = exit_info.code
    printed = capsys.readouterr()
    output = printed.err + printed.out
    assert status == 2, f"exit status {status}; output:\n{output}"
    assert shows(fill(row.message, places), output), f"expected {row.message!r} in:\n{output}"
    assert "Traceback" not in output
    assert snapshot(out) == before, "the refused run changed its output folder"
