"""End to end through `causalvlm run` (examples/cdc/run.py): a micro random-init CLIP, a JPEG image folder."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import yaml
from helpers import replace_options

from causalvlm.worlds import TINY_CLIP_CHECKPOINT

RUN_PY = Path(__file__).parents[2] / "examples" / "cdc" / "run.py"
FIGURES = ["accuracy_per_epoch.png", "reliability.png", "scm.png", "template_accuracy.png", "compute.png"]
BASE2NEW_KEYS = {
    "base", "new", "hm", "ece_base", "ece_new", "template_base", "template_new",
    "template_u_base", "template_u_new", "mean_prob_base", "mean_prob_new",
}  # fmt: skip
CROSS_KEYS = {"acc", "ece", "template_acc", "template_u", "mean_prob_acc"}


run = importlib.import_module("causalvlm.commands.run")  # examples/cdc/run.py is a thin wrapper over it


@pytest.fixture
def fast_config(tmp_path: Path) -> Path:
    """Settings that keep a run to seconds: one compute-report M, small batches; every step logged, so
    Lightning's ThroughputMonitor reports the fit's rate of a fit this short."""
    path = tmp_path / "fast.yaml"
    train = {"batch_size": 4, "eval_batch_size": 64, "log_every_n_steps": 1}
    path.write_text(yaml.safe_dump({"compute_templates": [1], "train": train}))
    return path


def base_args(micro_clip_path, jpeg_root, out, config):
    return [
        "--config", str(config), "--dataset", "imagefolder", "--data-root", str(jpeg_root),
        "--backbone", str(micro_clip_path), "--pretrained", "none", "--shots", "2", "--epochs", "1",
        "--out", str(out),
    ]  # fmt: skip


def exit_status(argv):
    """run.py's exit status: a bad option exits from the parser (SystemExit 2), a bad setting returns 2."""
    try:
        return run.main(argv)
    except SystemExit as exit_info:
        return exit_info.code


def check_summary(entry, seeds):
    assert set(entry) == {"mean", "std", "values"}
    assert len(entry["values"]) == len(seeds)
    assert 0.0 <= entry["mean"] <= 100.0


@pytest.mark.parametrize(
    ("flags", "label", "templates"),
    [
        (["--method", "zeroshot"], "zeroshot", 1),
        (["--method", "coop"], "coop", 1),
        (["--method", "cdc", "--templates", "2"], "cdc[M=2]", 2),
        (["--method", "cdc", "--templates", "2", "--aggregator", "mean"], "cdc[M=2,agg=mean]", 2),
        (["--method", "cdc", "--templates", "2", "--no-vsd"], "cdc[M=2,no-vsd]", 2),
        (["--method", "cdc", "--templates", "2", "--aug", "aug2"], "cdc[M=2,aug=aug2]", 2),
        (["--method", "cdc", "--templates", "3", "--aggregator", "logit-avg"], "cdc[M=3,agg=logit-avg]", 3),
        # β and γ away from the preset's are named in the row label
        (
            ["--method", "cdc", "--templates", "2", "--beta", "0", "--gamma", "0.5"],
            "cdc[M=2,beta=0,gamma=0.5]",
            2,
        ),
        (["--method", "cdc-tmc", "--templates", "2"], "cdc-tmc[M=2]", 2),
        (["--method", "cocoop"], "cocoop", 1),
        (["--method", "maple"], "maple", 1),  # the micro CLIP's image tower is a ViT: vision prompts exist
        (
            ["--method", "cdc", "--templates", "2", "--test-views", "per-template"],
            "cdc[M=2,test=per-template]",
            2,
        ),
    ],
)
def test_every_method_and_ablation_flag_completes(
    flags, label, templates, micro_clip_path, jpeg_root, tmp_path, fast_config
):
    out = tmp_path / "out"
    argv = base_args(micro_clip_path, jpeg_root, out, fast_config) + ["--seeds", "1", *flags]
    assert run.main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    assert list(payload["results"]) == [label]
    metrics = payload["results"][label]["imagefolder"]
    assert set(metrics) == BASE2NEW_KEYS
    assert len(metrics["template_base"]) == templates
    assert payload["methods"][label]["templates"] == templates
    for name in FIGURES:
        assert (out / name).is_file()


def test_results_json_schema_over_seeds(micro_clip_path, jpeg_root, tmp_path, fast_config, capsys):
    out = tmp_path / "out"
    argv = base_args(micro_clip_path, jpeg_root, out, fast_config) + ["--seeds", "1", "2", "--templates", "2"]
    argv += ["--method", "zeroshot", "coop", "cdc"]
    assert run.main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    assert payload["protocol"] == "base2new"
    assert payload["seeds"] == [1, 2]
    assert payload["units"]["ece_bins"] == 15
    assert list(payload["results"]) == ["zeroshot", "coop", "cdc[M=2]"]
    for label, by_dataset in payload["results"].items():
        metrics = by_dataset["imagefolder"]
        assert set(metrics) == BASE2NEW_KEYS
        for key in ("base", "new", "ece_base", "ece_new"):
            check_summary(metrics[key], [1, 2])
        # HM is the paper's: HM of the seed-mean base and new accuracy; its values are the per-seed HMs
        hm = metrics["hm"]
        assert hm["rule"] == "HM(mean base, mean new)"
        check_summary({k: v for k, v in hm.items() if k != "rule"}, [1, 2])
        base, new = metrics["base"]["mean"], metrics["new"]["mean"]
        assert hm["mean"] == pytest.approx(2 * base * new / (base + new) if base + new else 0.0)
        for entry in metrics["template_base"] + metrics["template_new"]:
            check_summary(entry, [1, 2])
        history = payload["history"][label]["imagefolder"]
        assert history[0]["epoch"] == 0.0
        assert len(history) == (1 if label == "zeroshot" else 2)
    # zero-shot CLIP is deterministic: its seeds agree exactly
    assert payload["results"]["zeroshot"]["imagefolder"]["base"]["std"] == 0.0
    compute = {row["method"]: row for row in payload["compute"]}
    assert compute["zeroshot"]["trainable_params"] == 0 and compute["zeroshot"]["train_images_per_s"] is None
    assert compute["cdc[M=2]"]["trainable_params"] == 2 * compute["coop"]["trainable_params"]
    assert compute["cdc[M=1]"]["templates"] == 1  # the sweep over compute_templates
    assert compute["cdc[M=2]"]["fit_images_per_s"] > 0 and compute["cdc[M=1]"]["fit_images_per_s"] is None
    markdown = (out / "results.md").read_text()
    assert (
        f"| Method | Base | New | HM | Δ HM vs {payload['delta']['baseline']} | ECE base | ECE new |"
        in markdown
    )
    assert "| cdc[M=2] |" in markdown
    # Δ's default baseline: the non-CDC row with the highest average HM (the first listed wins a tie)
    others = {m: payload["average"][m]["hm"]["mean"] for m in ("zeroshot", "coop")}
    assert payload["delta"]["baseline"] == max(others, key=others.get)
    assert "paper (printed)" not in markdown and payload["paper"] is None  # imagefolder is not in the paper
    # the headroom of the frozen features: a probe per seed, zero-shot once, both halves, and its table
    headroom = payload["headroom"]["imagefolder"]
    assert headroom["seeds"] == [1, 2] and len(headroom["base"]["linear_probe_values"]) == 2
    zero = payload["results"]["zeroshot"]["imagefolder"]
    for half in ("base", "new"):  # the diagnostic's zero-shot is the zero-shot row's
        assert headroom[half]["zero_shot"] == pytest.approx(zero[half]["mean"])
    assert "### Headroom" in markdown and "| imagefolder | base |" in markdown
    assert "| Method | Base | New | HM |" in capsys.readouterr().out  # run.py prints the table
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_cross_dataset_protocol_evaluates_every_target(micro_clip_path, jpeg_root, tmp_path, fast_config):
    settings = yaml.safe_load(fast_config.read_text())
    settings |= {
        "protocol": "cross-dataset",
        "datasets": ["shapeworld"],
        "targets": ["imagefolder"],
        "data_root": str(tmp_path / "world"),
        "dataset_options": {"imagefolder": {"root": str(jpeg_root)}},
        "world": {"n_test_per_class": 1, "n_val_per_class": 0},
    }
    config = tmp_path / "cross.yaml"
    config.write_text(yaml.safe_dump(settings))
    out = tmp_path / "out"
    argv = ["--config", str(config), "--backbone", str(micro_clip_path), "--pretrained", "none"]
    argv += [
        "--shots",
        "1",
        "--epochs",
        "1",
        "--seeds",
        "1",
        "--method",
        "zeroshot",
        "coop",
        "--out",
        str(out),
    ]
    assert run.main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    for label in ("zeroshot", "coop"):
        assert set(payload["results"][label]) == {"shapeworld", "imagefolder"}
        assert set(payload["results"][label]["imagefolder"]) == CROSS_KEYS
        assert (
            payload["average"][label]["acc"]["mean"]
            == payload["results"][label]["imagefolder"]["acc"]["mean"]
        )
    assert "| Method | shapeworld | imagefolder | Average (targets) |" in (out / "results.md").read_text()
    # the world's folder is keyed by its parameters, and results.json says which folder it was
    folder = Path(payload["world_folder"])
    assert folder.parent.parent == tmp_path / "world" / "worlds" and (folder / "task.json").is_file()
    assert (
        json.loads((folder / "task.json").read_text())["n_test_per_class"]
        == payload["world"]["n_test_per_class"]
    )


@pytest.mark.parametrize("protocol", ["base2new", "cross-dataset"])
def test_cocoop_and_maple_run_end_to_end_on_the_deep_test_clip(protocol, jpeg_root, tmp_path, fast_config):
    """The paper's two prompt baselines through run.py on a 4-layer ViT CLIP (MaPLe with J = 4 deep prompts
    on both towers), base-to-new and a cross protocol, with the compute table measuring both."""
    from helpers import DEEP_CONFIG

    settings = yaml.safe_load(fast_config.read_text())
    if protocol == "cross-dataset":
        settings |= {
            "datasets": ["shapeworld"],
            "targets": ["imagefolder"],
            "data_root": str(tmp_path / "world"),
            "world": {"n_test_per_class": 1, "n_val_per_class": 0},
        }
    else:
        settings |= {"datasets": ["imagefolder"], "data_root": str(jpeg_root)}
    settings |= {"protocol": protocol, "dataset_options": {"imagefolder": {"root": str(jpeg_root)}}}
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(settings))
    out = tmp_path / "out"
    argv = ["--config", str(config), "--backbone", str(DEEP_CONFIG), "--pretrained", "none", "--shots", "1"]
    argv += ["--epochs", "1", "--seeds", "1", "--method", "cocoop", "maple", "--delta-vs", "maple"]
    assert run.main(argv + ["--out", str(out)]) == 0
    payload = json.loads((out / "results.json").read_text())
    assert list(payload["results"]) == ["cocoop", "maple"]
    assert payload["methods"]["maple"]["mediator_options"]["vision_prompts"] is True
    assert payload["delta"]["baseline"] == "maple"
    compute = {row["method"]: row for row in payload["compute"]}
    for label in ("cocoop", "maple"):
        assert compute[label]["trainable_params"] > 0
        assert compute[label]["train_images_per_s"] > 0 and compute[label]["inference_images_per_s"] > 0
        assert all(len(rows) == 2 for rows in payload["history"][label].values())  # epochs 0 and 1
    # MaPLe's deep prompts fill J = 4 layers: more parameters than CoCoOp's context and meta-net here.
    assert compute["maple"]["trainable_params"] > compute["cocoop"]["trainable_params"]


def test_resume_reuses_finished_runs(micro_clip_path, jpeg_root, tmp_path, fast_config):
    out = tmp_path / "out"
    argv = base_args(micro_clip_path, jpeg_root, out, fast_config) + ["--seeds", "3", "--method", "coop"]
    assert run.main(argv) == 0
    first = json.loads((out / "results.json").read_text())["results"]
    assert (out / "runs" / "coop" / "imagefolder" / "seed3" / "checkpoints" / "last.ckpt").is_file()
    (out / "results.json").unlink()
    assert run.main(argv + ["--resume"]) == 0
    assert json.loads((out / "results.json").read_text())["results"] == first


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dataset", "nope"], "unknown dataset"),
        (["--data-root", "/no/such/folder"], "/no/such/folder"),
        (["--templates", "0"], "templates"),
        (["--method", "coop", "--templates", "4"], "--templates apply to methods whose M is an option"),
        (["--method", "cdc", "--aggregator", "vote"], "unknown aggregator 'vote'"),
        (["--method", "cdc", "--aug", "aug9"], "unknown augmentation 'aug9'"),
        (["--method", "zeroshot", "--aug", "aug1"], "does not train"),
        (["--pretrained", "/no/such/weights.pt"], "pretrained checkpoint not found"),
        (["--backbone", "NoSuchNet-99"], "unknown backbone architecture"),
        (["--seeds", "1", "1"], "seeds"),
        (["--shots", "0"], "shots"),
        (["--epochs", "0"], "--epochs"),
        (["--method", "coop", "cdc", "--delta-vs", "maple"], "delta_vs 'maple' is not a method of this run"),
    ],
)
def test_bad_options_fail_before_training_with_a_clear_error(
    flags, message, micro_clip_path, jpeg_root, tmp_path, fast_config, capsys
):
    out = tmp_path / "out"
    assert exit_status(replace_options(base_args(micro_clip_path, jpeg_root, out, fast_config), flags)) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing written, no run started


def test_bad_config_files_are_named(tmp_path, capsys):
    assert run.main(["--config", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err
    config = tmp_path / "typo.yaml"
    config.write_text("epochz: 3\n")
    assert run.main(["--config", str(config)]) == 2
    error = capsys.readouterr().err
    assert "typo.yaml" in error and "epochz" in error
    config.write_text("train: {lr: 0.1}\n")
    assert run.main(["--config", str(config)]) == 2
    assert "train: unknown setting(s) ['lr']" in capsys.readouterr().err


def test_delta_vs_from_yaml_and_command_line(tmp_path):
    from causalvlm.experiments.experiment import build_experiment, validate_experiment

    config = tmp_path / "delta.yaml"
    config.write_text(yaml.safe_dump({"delta_vs": "coop", "methods": ["zeroshot", "coop", "cdc"]}))
    assert build_experiment(config).delta_vs == "coop"
    validate_experiment(build_experiment(config))
    argv = ["--config", str(config), "--delta-vs", "zeroshot"]
    assert build_experiment(config, run.overrides_from(run.parse_args(argv))).delta_vs == "zeroshot"


def test_protocol_choice_is_checked_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run.main(["--protocol", "few-shot"])
    assert exit_info.value.code == 2
    assert "few-shot" in capsys.readouterr().err


def test_paper_configs_parse_and_validate():
    from causalvlm.experiments.experiment import build_experiment

    for path in sorted((RUN_PY.parent / "configs").glob("*.yaml")):
        config = build_experiment(path, {"data_root": "/data"})
        assert config.method_specs(), path


@pytest.mark.slow
@pytest.mark.skipif(not TINY_CLIP_CHECKPOINT.is_file(), reason="tiny CLIP checkpoint not built")
def test_default_run_on_the_world(tmp_path):
    out = tmp_path / "out"
    assert run.main(["--out", str(out), "--data-root", str(tmp_path / "data")]) == 0
    payload = json.loads((out / "results.json").read_text())
    # the default run's CDC sees aug1-colour views, not its preset's aug1, and its row says so
    assert set(payload["results"]) == {"zeroshot", "coop", "cdc[beta=0.1,gamma=0.1]"}
    assert payload["seeds"] == [1, 2, 3]


def test_corrupt_image_is_named_before_training(micro_clip_path, jpeg_root, tmp_path, fast_config, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(jpeg_root, data)
    broken = data / "test" / "yellow_bar" / "0.jpg"  # a new-class test image
    broken.write_bytes(broken.read_bytes()[:100])
    out = tmp_path / "out"
    assert run.main(base_args(micro_clip_path, data, out, fast_config) + ["--method", "coop"]) == 2
    assert str(broken) in capsys.readouterr().err
    assert not out.exists()


def test_reduced_default_run_on_the_world_with_the_shipped_tiny_clip(tmp_path, capsys):
    """The default run's own parts (ShapeWorld + committed tiny CLIP), cut to one seed and one epoch."""
    config = tmp_path / "reduced.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "world": {"n_test_per_class": 4, "n_train_per_class": 4},
                "compute_templates": [1],
                "train": {"batch_size": 16, "view_bank": 2},
            }
        )
    )
    out = tmp_path / "out"
    argv = ["--config", str(config), "--data-root", str(tmp_path / "data"), "--out", str(out)]
    argv += ["--seeds", "1", "--epochs", "1", "--shots", "2", "--method", "zeroshot", "coop", "cdc"]
    assert run.main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    assert list(payload["results"]) == ["zeroshot", "coop", "cdc"]
    assert payload["config"]["pretrained"] == str(TINY_CLIP_CHECKPOINT)
    # the world it ran on is recorded: the default difficulty, ρ = 0 (base-to-new drawn alike)
    assert payload["world"]["world_options"]["style"] == "silhouette" and payload["world"]["rho"] == 0.0
    assert payload["world"]["world_options"]["noise_max"] == 0.08
    assert payload["headroom"]["shapeworld"]["base"]["linear_probe_values"]  # the diagnostic runs by default
    for metrics in payload["results"].values():
        assert 0.0 <= metrics["shapeworld"]["hm"]["mean"] <= 100.0
    # Fig. 1a on the world's test images: in the figures, in results.json and in results.md
    assert (out / "similarity_probe.png").is_file()
    assert payload["figures"]["similarity_probe"] == "similarity_probe.png"
    assert payload["probe"]["images"] == 24 * 4
    # a silhouette shows shape, size and position only: the probe describes those (DRAWN_FACTORS)
    assert set(payload["probe"]["cosine"]) >= {"full description", "class only", "size", "position"}
    assert "object_colour" not in payload["probe"]["cosine"]
    assert "### Similarity probe (Fig. 1a)" in (out / "results.md").read_text()
    assert "| cdc |" in capsys.readouterr().out
