"""The benchmark suite: its files parse, bad suites are refused naming the file, and a tiny suite runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from causalvlm.commands.bench import main as bench_main
from causalvlm.commands.run import experiment_from, parse_args
from causalvlm.config_model import ConfigError
from causalvlm.experiments.bench_suite import plan_suite, run_suite

CONFIGS = Path(__file__).parents[2] / "examples" / "cdc" / "configs"
SUITE = CONFIGS.parent / "bench.yaml"
TINY = {
    "datasets": ["shapeworld"],
    "world": {"n_train_per_class": 2, "n_val_per_class": 1, "n_test_per_class": 1, "style": "silhouette"},
    "methods": ["zeroshot", "coop"],
    "seeds": [1],
    "shots": 2,
    "compute_templates": [1],
    "train": {"max_epochs": 1, "batch_size": 48, "view_bank": 0},
}


def _write(path: Path, settings: dict) -> Path:
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.mark.parametrize("name", ["cross-domain", "cross-dataset"])
def test_each_table_config_runs_alone_with_run_py(name, tmp_path):
    path = CONFIGS / f"bench_{name.replace('-', '_')}.yaml"
    config = experiment_from(
        parse_args(["--config", str(path), "--data-root", str(tmp_path), "--out", str(tmp_path / "o")])
    )
    assert config.protocol == name and config.datasets == ["shapeworld"]
    assert len(config.seeds) == 3 and len(config.targets) >= 4
    labels = [spec.label for spec in config.methods]
    assert labels[:4] == ["zeroshot", "coop", "cocoop", "maple[text-only]"] and labels[4].startswith("cdc")


def test_the_shipped_suite_plans_every_table_it_has_a_file_for(tmp_path):
    plan = plan_suite(SUITE, ["all"], {"out": str(tmp_path / "bench"), "data_root": str(tmp_path)})
    assert {"cross-dataset", "cross-domain"} <= set(plan.tables)
    assert set(plan.tables) | set(plan.skipped) == {"base2new", "cross-dataset", "cross-domain"}
    for name, config in plan.tables.items():
        assert config.protocol == name and config.out == str(tmp_path / "bench" / name)


def test_a_table_with_another_protocol_is_refused_naming_its_file(tmp_path):
    table = _write(tmp_path / "b2n.yaml", {**TINY, "protocol": "base2new"})
    suite = _write(tmp_path / "suite.yaml", {"tables": {"cross-domain": table.name}})
    with pytest.raises(ConfigError, match=r"b2n\.yaml: protocol: the suite runs this file as the cross-do"):
        plan_suite(suite, ["cross-domain"])


def test_a_bad_third_table_fails_before_the_first_runs(tmp_path):
    good = _write(tmp_path / "good.yaml", {**TINY, "protocol": "cross-domain", "targets": ["shapeworld-v2"]})
    bad = _write(tmp_path / "bad.yaml", {**TINY, "protocol": "cross-dataset", "seeds": [-1]})
    tables = {"cross-domain": good.name, "cross-dataset": bad.name}
    suite = _write(tmp_path / "suite.yaml", {"tables": tables})
    with pytest.raises(ConfigError, match=r"bad\.yaml: seeds\[0\]"):
        plan_suite(suite, ["all"], {"out": str(tmp_path / "out")})
    assert not (tmp_path / "out").exists()


def test_a_tiny_suite_writes_each_table_and_a_summary(tmp_path):
    cross = {**TINY, "protocol": "cross-domain", "targets": ["shapeworld-v2", "shapeworld-sketch"]}
    _write(tmp_path / "cd.yaml", {**cross, "data_root": str(tmp_path / "data")})
    suite = _write(tmp_path / "suite.yaml", {"out": str(tmp_path / "bench"), "tables": {
        "cross-domain": "cd.yaml", "base2new": "missing.yaml"}})  # fmt: skip
    assert bench_main(["--suite", str(suite), "--seeds", "1", "2"]) == 0
    out = tmp_path / "bench"
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["tables"]) == {"cross-domain"} and "base2new" in summary["skipped"]
    table = summary["tables"]["cross-domain"]
    results = json.loads((out / "cross-domain" / "results.json").read_text())
    assert results["seeds"] == [1, 2]  # the command's --seeds reached the table
    assert table["wall_s"] > 0
    for method, row in table["rows"].items():
        assert row["avg"] == pytest.approx(results["average"][method]["acc"]["mean"])
        assert row["source"] == pytest.approx(results["results"][method]["shapeworld"]["acc"]["mean"])
    assert (out / "summary.png").is_file() and "Cross-domain (Avg)" in (out / "summary.md").read_text()
    assert "Not run: base2new" in (out / "summary.md").read_text()


def test_run_suite_needs_a_plan_with_tables(tmp_path):
    suite = _write(tmp_path / "suite.yaml", {"tables": {"cross-domain": "none.yaml"}})
    with pytest.raises(ConfigError, match="none of cross-domain has a config file"):
        run_suite(plan_suite(suite, []))
