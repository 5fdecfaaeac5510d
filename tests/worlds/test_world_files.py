"""The world's files: keyed by their parameters, shared safely, checked when read, rebuilt when damaged."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.experiment import keyed_world, prepare_world, world_root
from causalvlm.worlds import load_factors, make_task
from causalvlm.worlds.task import world_root as task_world_root
from causalvlm.worlds.task_files import read_task_json, task_lock

SMALL = {"shots": 1, "seed": 1, "n_train_per_class": 1, "n_val_per_class": 0, "n_test_per_class": 1}


def _images(root: Path) -> list[Path]:
    return sorted((root / "shapeworld" / "images").rglob("*.png"))


def _stamps(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in (root / "shapeworld").rglob("*") if p.is_file()}


def test_runs_with_other_world_options_get_folders_of_their_own(tmp_path):
    """The silently wrong case: a second run with other world options rewrote the first run's world."""
    first = ExperimentConfig(
        data_root=str(tmp_path), shots=1, world={"noise_max": 0.3, "n_test_per_class": 1}
    )
    second = ExperimentConfig(
        data_root=str(tmp_path), shots=1, world={"noise_max": 0.5, "n_test_per_class": 1}
    )
    roots = [world_root(keyed_world(config)) for config in (first, second)]
    assert roots[0] != roots[1] and all(Path(r).parent == tmp_path / "worlds" for r in roots)
    assert world_root(keyed_world(first)) == roots[0]  # the same options, the same folder
    prepare_world(first, keyed_world(first))
    before = _stamps(Path(roots[0]))
    prepare_world(second, keyed_world(second))
    assert _stamps(Path(roots[0])) == before  # the first world is untouched
    noise = [read_task_json(Path(r) / "shapeworld")["world_options"]["noise_max"] for r in roots]
    assert noise == [0.3, 0.5]


def test_without_make_world_the_world_is_read_where_it_is(tmp_path):
    config = ExperimentConfig(data_root=str(tmp_path), make_world=False)
    assert world_root(keyed_world(config)) == str(tmp_path)


def test_a_second_maker_of_the_same_world_waits_for_the_lock_then_reuses_it(tmp_path):
    root = task_world_root(tmp_path, **SMALL)
    root.mkdir(parents=True)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (make_task(root, **SMALL), done.set()))
    with task_lock(root):  # another process is writing this world
        worker.start()
        assert not done.wait(1.0), "make_task did not wait for the world's lock"
    worker.join(60)
    assert done.is_set() and len(_images(root)) == 24 * 2
    stamps = _stamps(root)
    make_task(root, **SMALL)  # intact and the same: reused, not rewritten
    assert _stamps(root) == stamps


def test_two_makers_at_once_both_get_the_whole_world(tmp_path):
    results, errors = [], []

    def make() -> None:
        try:
            results.append(make_task(tmp_path, **SMALL))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    workers = [threading.Thread(target=make) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors and len(results) == 2
    assert [d.impath for d in results[0].test] == [d.impath for d in results[1].test]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".shapeworld-")]  # no temp folders


DAMAGES = {
    "truncated task.json": lambda f: _cut(f / "task.json"),
    "empty task.json": lambda f: (f / "task.json").write_text(""),
    "truncated factors.json": lambda f: _cut(f / "factors.json"),
    "missing image": lambda f: next((f / "images").rglob("*.png")).unlink(),
    "empty image": lambda f: next((f / "images").rglob("*.png")).write_bytes(b""),
    "truncated image": lambda f: _cut(next((f / "images").rglob("*.png"))),
}


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_world_is_rebuilt_with_a_warning_naming_the_damage(tmp_path, damage):
    make_task(tmp_path, **SMALL)
    folder = tmp_path / "shapeworld"
    DAMAGES[damage](folder)
    with pytest.warns(UserWarning, match=r"rebuilding the world task in .*shapeworld"):
        splits = make_task(tmp_path, **SMALL)
    assert len(_images(tmp_path)) == 24 * 2 and all(p.stat().st_size > 0 for p in _images(tmp_path))
    assert read_task_json(folder)["seed"] == 1 and len(load_factors(tmp_path)) == 24 * 2
    assert len(splits.test) == 24


def test_a_damaged_task_json_is_named_when_the_world_is_not_rebuilt(tmp_path):
    make_task(tmp_path, **SMALL)
    _cut(tmp_path / "shapeworld" / "task.json")
    config = ExperimentConfig(data_root=str(tmp_path), make_world=False, shots=1)
    with pytest.raises(ValueError, match=r"world task file .*shapeworld/task.json is damaged"):
        prepare_world(config, keyed_world(config))


@pytest.mark.parametrize("content", ["", '{"train/x.png": {"shape"', "[1, 2]"])
def test_a_damaged_factor_file_is_named(tmp_path, content):
    make_task(tmp_path, **SMALL)
    (tmp_path / "shapeworld" / "factors.json").write_text(content)
    with pytest.raises(ValueError, match=r"ShapeWorld factor file .*factors.json is (empty|damaged)"):
        load_factors(tmp_path)


def test_task_json_records_what_the_key_is_made_of(tmp_path):
    root = task_world_root(tmp_path, **SMALL)
    root.mkdir(parents=True)
    make_task(root, **SMALL)
    assert root == task_world_root(tmp_path, **json.loads(json.dumps(SMALL)))
    assert read_task_json(root / "shapeworld")["n_train_per_class"] == 1


@pytest.mark.parametrize("damage", ["missing image", "empty image", "truncated image"])
def test_a_damaged_image_of_a_world_read_as_it_is_is_named_before_any_work(tmp_path, damage, monkeypatch):
    """Without make_world the world is not rebuilt: the experiment names the image before it trains."""
    from helpers import write_micro_clip

    import causalvlm.experiments.experiment as experiment

    make_task(tmp_path, **SMALL)
    image = sorted((tmp_path / "shapeworld" / "images" / "test").rglob("*.png"))[0]
    {"missing image": image.unlink, "empty image": lambda: image.write_bytes(b""),
     "truncated image": lambda: _cut(image)}[damage]()  # fmt: skip
    monkeypatch.setattr(experiment.ProtocolRunner, "run", lambda self: pytest.fail("training started"))
    config = ExperimentConfig(
        data_root=str(tmp_path), make_world=False, shots=1, seeds=[1], methods=["zeroshot"],
        out=str(tmp_path / "out"), backbone=str(write_micro_clip(tmp_path)), pretrained=None,
    )  # fmt: skip
    with pytest.raises((ValueError, FileNotFoundError), match=str(image)):
        experiment.run_experiment(config, log=lambda message: None)
    assert not (tmp_path / "out").exists()
