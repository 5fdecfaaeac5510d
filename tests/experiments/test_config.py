"""The one experiment configuration: one set of defaults, layered settings, no silent conversions."""

from __future__ import annotations

import pytest

import causalvlm
import causalvlm.experiments as experiments
from causalvlm.cli import CheckedParser, integer
from causalvlm.config_model import ConfigError
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.layers import build_experiment, config_from_layers, merge_layers
from causalvlm.experiments.method_specs import MethodSpec, method_spec
from causalvlm.training.settings import OptimConfig, TrainConfig


def test_one_configuration_with_one_set_of_defaults():
    assert not hasattr(experiments, "ProtocolConfig")  # the runner takes the experiment's own config
    config = ExperimentConfig()
    assert config.data_root == "outputs/data" and config.datasets == ["shapeworld"]
    assert [spec.label for spec in config.methods] == ["zeroshot", "coop", "cdc[beta=0.1,gamma=0.1]"]
    assert all(isinstance(spec, MethodSpec) for spec in config.methods)
    assert config.targets == [] and config.runs_dir.endswith("outputs/cdc/runs")
    assert ExperimentConfig(protocol="cross-domain", datasets=["imagenet"]).targets[0] == "imagenetv2"


def test_world_yaml_spells_out_the_default_run():
    from pathlib import Path

    from causalvlm.experiments.layers import build_experiment

    yaml = Path(causalvlm.__file__).parent / "configs" / "world.yaml"  # shipped in the package
    written, default = build_experiment(yaml), ExperimentConfig()
    assert written.current() == default.current()


def _leaves(value):
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def test_a_world_demo_setting_lives_in_world_yaml_only():
    """No world-demo setting is written in Python too: ExperimentConfig has no default of its own for a key
    world.yaml sets, no method file carries an entry of the default run, no constant restates the world."""
    from pathlib import Path

    import causalvlm.experiments.config as config_module
    from causalvlm.methods import get_method

    written = config_module.world_yaml()
    for key in written:
        assert ExperimentConfig.model_fields[key].is_required(), f"{key}: a default in config.py too"
    assert not hasattr(config_module, "WORLD_TASK")
    assert not any(hasattr(get_method(name), "default_run") for name in experiments.METHODS)
    # The method entries' own words (augmentations, template starts) appear in no method or experiment file.
    package = Path(causalvlm.__file__).parent
    files = [p for room in ("methods", "experiments") for p in (package / room).glob("*.py")]
    code = "".join(p.read_text() for p in files)
    entries = [{k: v for k, v in e.items() if k != "method"} for e in written["methods"]]
    words = {w for w in _leaves(entries) if isinstance(w, str) and w not in ("none", "a photo of a")}
    assert words and not [w for w in words if w in code]


def test_one_epoch_default_coop_s_and_the_world_recipe_lives_in_world_yaml():
    """TrainConfig's defaults are CoOp's recipe; the world demo's 200 epochs are read from world.yaml."""
    import inspect

    import causalvlm.experiments.config as config_module
    from causalvlm.training.settings import DEFAULT_MAX_EPOCHS

    assert TrainConfig().max_epochs == DEFAULT_MAX_EPOCHS == 10 and TrainConfig().batch_size == 32
    assert TrainConfig().optim == OptimConfig(lr=0.002, momentum=0.9, weight_decay=5e-4)
    written = config_module.world_yaml()["train"]
    assert ExperimentConfig().train.max_epochs == written["max_epochs"] != DEFAULT_MAX_EPOCHS
    assert "max_epochs=" not in inspect.getsource(config_module)  # no second epoch default in code


def test_a_bad_world_yaml_train_section_names_the_file(monkeypatch):
    import causalvlm.experiments.config as config_module

    monkeypatch.setattr(config_module, "world_yaml", lambda: {"train": {"optim": {"lr": -1}}})
    with pytest.raises(ConfigError, match=r"train\.optim\.lr.*configs/world\.yaml|configs/world\.yaml.*lr"):
        config_module.world_recipe()


def test_method_entries_may_be_names_mappings_or_specs():
    config = ExperimentConfig(methods=["coop", {"method": "cdc", "templates": 2}, method_spec("zeroshot")])
    assert [spec.label for spec in config.methods] == ["coop", "cdc[M=2]", "zeroshot"]
    assert config.replaced(seeds=[4]).methods == config.methods  # rebuilding a built config keeps it


def test_only_lossless_conversions():
    assert OptimConfig(lr=1).lr == 1.0 and isinstance(OptimConfig(lr=1).lr, float)
    config = ExperimentConfig(seeds=3, datasets="shapeworld")  # one item where a list is wanted
    assert config.seeds == [3] and config.datasets == ["shapeworld"]
    assert ExperimentConfig(seeds=(1, 2)).seeds == [1, 2]  # a tuple from Python is that list
    bad = [("max_epochs", True), ("max_epochs", 1.0), ("max_epochs", "1"), ("enable_progress_bar", "false")]
    for key, value in [*bad, ("enable_progress_bar", 0)]:
        with pytest.raises(ConfigError, match=f"^{key}: expected"):
            TrainConfig(**{key: value})
    with pytest.raises(ConfigError, match=r"^seeds: expected a list of integers, got 1.5"):
        ExperimentConfig(seeds=1.5)
    with pytest.raises(ValueError):  # ConfigError stays a ValueError for callers that catch those
        TrainConfig(max_epochs=0)


def test_unknown_keys_are_named_with_the_valid_ones():
    with pytest.raises(
        ConfigError, match=r"^train.optim: unknown setting\(s\) \['lrr'\]; valid: lr, momentum"
    ):
        ExperimentConfig.from_settings({"train": {"optim": {"lrr": 1}}})


def test_layers_merge_train_key_by_key_and_remember_each_source():
    merged, origin = merge_layers(
        [
            ("a.yaml", {"seeds": [1], "train": {"batch_size": 4, "optim": {"lr": 0.1, "momentum": 0.5}}}),
            ("command line", {"train": {"max_epochs": 2, "optim": {"lr": 0.2}}}),
        ]
    )
    assert merged["train"] == {"batch_size": 4, "max_epochs": 2, "optim": {"lr": 0.2, "momentum": 0.5}}
    assert origin["train.optim.lr"] == "command line" and origin["train.optim.momentum"] == "a.yaml"
    config = config_from_layers([("a.yaml", merged)])
    assert config.train.optim == OptimConfig(lr=0.2, momentum=0.5) and config.train.max_epochs == 2


def test_a_value_a_later_layer_replaces_is_never_checked(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_VARIABLE", raising=False)
    path = tmp_path / "real.yaml"
    path.write_text("data_root: ${NO_SUCH_VARIABLE}\nseeds: [1]\n")
    assert build_experiment(path, {"data_root": str(tmp_path)}).data_root == str(tmp_path)
    with pytest.raises(ConfigError, match="real.yaml: data_root: .* unset environment variable"):
        build_experiment(path, {})


def test_errors_name_the_layer_and_the_option_that_set_the_key(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("train: {max_epochs: 0}\n")
    with pytest.raises(ConfigError, match=r"x\.yaml: train\.max_epochs: must be an integer >= 1, got 0"):
        build_experiment(path, {})
    with pytest.raises(ConfigError, match=r"command line: --epochs: must be an integer >= 1"):
        build_experiment(None, {"train": {"max_epochs": 0}}, {"train.max_epochs": "--epochs"})


def test_train_and_optim_configs_check_their_own_fields():
    with pytest.raises(ConfigError, match="devices: must be an integer >= 1 or 'auto'"):
        TrainConfig(devices=0)
    with pytest.raises(ConfigError, match="optim: unknown setting"):
        TrainConfig(optim={"lrr": 1})
    assert TrainConfig(optim={"lr": 1}).optim.lr == 1.0


def test_an_option_given_twice_is_refused(capsys):
    parser = CheckedParser(prog="p")
    parser.add_argument("--epochs", type=integer(1))
    parser.add_argument("--dataset", nargs="+")
    assert parser.parse_args(["--epochs=3", "--dataset", "a", "b"]).dataset == ["a", "b"]
    for argv in (["--epochs", "3", "--epochs=4"], ["--dataset", "a", "--dataset", "b"]):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        assert "given more than once" in capsys.readouterr().err


def test_one_argument_is_checked_by_pydantic_with_the_words_of_a_setting():
    """check_value: the strict pydantic rules of a setting for one library-function argument."""
    from typing import Annotated, Any

    import numpy as np
    from annotated_types import Ge

    from causalvlm.config_model import Distinct, check_value

    count = Annotated[int, Ge(1)]
    assert check_value(np.int64(3), count, "n") == 3 and type(check_value(np.int64(3), count, "n")) is int
    assert check_value(np.float32(0.5), float, "x") == 0.5
    refused = [
        (2.0, "expected an integer, got 2.0"),
        (True, "expected an integer, got True"),
        ("3", "expected an integer, got '3'"),
        (0, "must be an integer >= 1, got 0"),
    ]
    for bad, words in refused:
        with pytest.raises(ConfigError, match=rf"^n: {words}"):
            check_value(bad, count, "n")
    with pytest.raises(ConfigError, match=r"^seeds: lists 1 more than once: \[1, 2, 1\]"):
        check_value([1, 2, 1], Annotated[list[Any], Distinct], "seeds")
    with pytest.raises(ConfigError, match=r"^x: must be a finite number, got inf"):
        check_value(float("inf"), float, "x")
