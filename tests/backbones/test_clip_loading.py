"""Building FrozenCLIP from configs and checkpoints, and the errors for bad files."""

from __future__ import annotations

import json
import logging

import open_clip
import pytest
import torch

from causalvlm.backbones import FrozenCLIP, check_backbone_options, load_backbone, pretrained_source


def _save_config(path, text_width=32, **extra):
    config = json.loads((open_clip_config_dir() / "tiny_test_clip.json").read_text())
    config["text_cfg"]["width"] = text_width
    config.update(extra)
    path.write_text(json.dumps(config))
    return path


def open_clip_config_dir():
    from pathlib import Path

    return Path(__file__).parent


def _same_outputs(a: FrozenCLIP, b: FrozenCLIP) -> bool:
    texts = ["a photo of a dog.", "a cat."]
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    return torch.allclose(a.encode_text(texts), b.encode_text(texts), atol=1e-6) and torch.allclose(
        a.encode_image(images), b.encode_image(images), atol=1e-6
    )


def test_from_config_accepts_json_and_builtin_name(tiny_config):
    model = FrozenCLIP.from_config(str(tiny_config))
    assert model.embed_dim == 32
    assert "tiny_test_clip" in open_clip.list_models()


def test_state_dict_checkpoint_round_trip_wrapped_and_prefixed(tiny_clip, tiny_config, tmp_path):
    state = {f"module.{k}": v for k, v in tiny_clip.model.state_dict().items()}
    path = tmp_path / "tiny.pt"
    torch.save({"state_dict": state, "epoch": 3}, path)
    loaded = FrozenCLIP.from_checkpoint(path, arch=tiny_config)
    assert _same_outputs(loaded, tiny_clip)
    assert all(not p.requires_grad for p in loaded.parameters())


def test_torchscript_archive_forces_quick_gelu(tiny_clip, tiny_config, tmp_path):
    scripted = torch.jit.script(tiny_clip.model)
    path = tmp_path / "tiny_openai.pt"
    torch.jit.save(scripted, str(path))
    loaded = FrozenCLIP.from_checkpoint(path, arch=tiny_config)
    activation = loaded.model.transformer.resblocks[0].mlp.gelu
    assert type(activation).__name__ == "QuickGELU"
    for key, value in tiny_clip.model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value)


def test_missing_checkpoint_names_path(tiny_config, tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        FrozenCLIP.from_checkpoint(missing, arch=tiny_config)


def test_wrong_architecture_names_checkpoint_and_keys(tiny_clip, tmp_path):
    path = tmp_path / "tiny.pt"
    torch.save(tiny_clip.model.state_dict(), path)
    wider = _save_config(tmp_path / "tiny_wider_text.json", text_width=48)
    with pytest.raises(ValueError, match=r"tiny\.pt.*(token_embedding|positional_embedding)"):
        FrozenCLIP.from_checkpoint(path, arch=wider)


def test_checkpoint_with_missing_keys(tiny_clip, tiny_config, tmp_path):
    state = dict(tiny_clip.model.state_dict())
    del state["ln_final.weight"]
    path = tmp_path / "partial.pt"
    torch.save(state, path)
    with pytest.raises(ValueError, match="partial.pt.*missing keys: ln_final.weight"):
        FrozenCLIP.from_checkpoint(path, arch=tiny_config)


def test_bad_configs(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.json"):
        FrozenCLIP.from_config(tmp_path / "absent.json")
    bad = tmp_path / "bad_cfg.json"
    bad.write_text(json.dumps({"embed_dim": 8}))
    with pytest.raises(ValueError, match="bad_cfg.json.*vision_cfg"):
        FrozenCLIP.from_config(bad)
    with pytest.raises(ValueError, match="no-such-arch"):
        FrozenCLIP.from_config("no-such-arch")


def test_custom_text_clip_is_supported(tmp_path):
    path = _save_config(tmp_path / "tiny_custom_text.json", custom_text=True)
    model = FrozenCLIP.from_config(path)
    assert type(model.model).__name__ == "CustomTextCLIP"
    texts = ["a photo of a dog.", "a photo of a hot air balloon."]
    reference = torch.nn.functional.normalize(model.model.encode_text(model.tokenizer(texts)), dim=-1)
    torch.testing.assert_close(model.encode_text(texts), reference, atol=1e-5, rtol=0)


def test_unknown_pretrained_tag_lists_valid_tags():
    with pytest.raises(ValueError, match="no_such_tag.*openai"):
        FrozenCLIP.from_pretrained("ViT-B-16", "no_such_tag")


def test_loading_a_checkpoint_does_not_claim_random_weights(tiny_clip, tiny_config, tmp_path, caplog):
    """open_clip warns "initialized randomly" while it builds the empty model; true for from_config, false
    when a checkpoint is loaded right after, so that case must not show it."""
    path = tmp_path / "weights.pt"
    torch.save(tiny_clip.model.state_dict(), path)
    with caplog.at_level(logging.INFO):
        FrozenCLIP.from_checkpoint(path, arch=tiny_config)
    assert not any("initialized randomly" in r.getMessage() for r in caplog.records)
    assert any(f"from {path}" in r.getMessage() for r in caplog.records)  # says what it loaded instead
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        FrozenCLIP.from_config(tiny_config)
    assert any("initialized randomly" in r.getMessage() for r in caplog.records)  # still said when true


@pytest.mark.parametrize(
    ("pretrained", "source"),
    [
        (None, "none"),
        ("none", "none"),
        ("openai", "tag"),
        ("laion2b_s34b_b79k", "tag"),
        ("weights.pt", "file"),
        ("weights.pth", "file"),
        ("model.bin", "file"),
        ("last.ckpt", "file"),
        ("model.safetensors", "file"),
        ("checkpoints/weights", "file"),
    ],
)
def test_one_rule_decides_tag_or_file(pretrained, source):
    assert pretrained_source(pretrained) == source


def test_an_existing_file_is_a_checkpoint_whatever_its_name(tmp_path):
    path = tmp_path / "openai"
    path.write_bytes(b"")
    assert pretrained_source(path) == "file"


def test_load_backbone_follows_the_rule(tiny_clip, tiny_config, tmp_path):
    path = tmp_path / "weights"  # no checkpoint ending: an existing file is still a file
    torch.save(tiny_clip.model.state_dict(), path)
    assert _same_outputs(load_backbone(tiny_config, path), tiny_clip)
    assert isinstance(load_backbone(tiny_config, None), FrozenCLIP)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        load_backbone(tiny_config, tmp_path / "missing.safetensors")


def test_option_check_reads_the_same_rule_and_builds_nothing(tiny_config, tmp_path):
    check_backbone_options(str(tiny_config), None)
    check_backbone_options("ViT-B-16", "openai")
    with pytest.raises(FileNotFoundError, match="missing.ckpt"):
        check_backbone_options(str(tiny_config), str(tmp_path / "missing.ckpt"))
    with pytest.raises(FileNotFoundError, match="model config not found"):
        check_backbone_options(str(tmp_path / "nope.json"), None)
    with pytest.raises(ValueError, match="unknown backbone architecture 'NoSuchNet-99'"):
        check_backbone_options("NoSuchNet-99", None)
    with pytest.raises(ValueError, match="unknown pretrained tag 'no-such-tag'"):
        check_backbone_options("ViT-B-16", "no-such-tag")


def test_the_default_run_does_not_call_the_shipped_checkpoint_random(caplog):
    """The backbone of ``examples/cdc/run.py`` with no options is the shipped tiny CLIP checkpoint, loaded
    right after open_clip builds the empty model: no "initialized randomly" line. ``--pretrained none`` (truly
    random) still logs it."""
    from causalvlm.experiments.config import ExperimentConfig
    from causalvlm.experiments.protocols import load_backbone
    from causalvlm.worlds import TINY_CLIP_CHECKPOINT

    defaults = ExperimentConfig()
    assert defaults.pretrained == str(TINY_CLIP_CHECKPOINT) and TINY_CLIP_CHECKPOINT.is_file()
    with caplog.at_level(logging.INFO):
        load_backbone(defaults.backbone, defaults.pretrained)
    assert not any("initialized randomly" in r.getMessage() for r in caplog.records)
    assert any(str(TINY_CLIP_CHECKPOINT) in r.getMessage() for r in caplog.records)  # what it loaded instead
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        load_backbone(defaults.backbone, None)
    assert any("initialized randomly" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_checkpoint_with_nan_or_infinite_weights_is_named(tiny_clip, tiny_config, tmp_path, bad):
    """It loaded, and the first forward pass said "logits contain NaN" without naming the file."""
    state = dict(tiny_clip.model.state_dict())
    state["ln_final.weight"] = state["ln_final.weight"].clone().fill_(bad)
    path = tmp_path / "diverged.pt"
    torch.save(state, path)
    with pytest.raises(
        ValueError, match=r"checkpoint .*diverged\.pt holds NaN or infinite weights in ln_final"
    ):
        FrozenCLIP.from_checkpoint(path, arch=tiny_config)
