"""MaPLe: text side exact against encode_text, image side against encode_image, gradients, base → new."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators import MEDIATORS

PHRASES = ["a photo of a", "a picture of a"]
RESNET_CONFIG = Path(__file__).parents[2] / "causalvlm" / "worlds" / "tiny_clip.json"


def hand_crafted_hidden_states(backbone: FrozenCLIP, text: str, n_ctx: int) -> list[torch.Tensor]:
    """States of positions 1..n_ctx at the input of text blocks 1..L−1 for ``text`` (open_clip's forward)."""
    tower = backbone.text_tower
    tokens = backbone.tokenize([text])
    x = tower.token_embedding(tokens) + tower.positional_embedding
    _, outputs = tower.transformer.forward_intermediates(x, attn_mask=tower.attn_mask)
    return [h[0, 1 : 1 + n_ctx] for h in outputs[:-1]]


def set_deep_prompts_to_hand_crafted(maple, backbone, phrases, classname) -> None:
    """P^m_i := the hidden states that template m's own hand-crafted prompt has at the context positions."""
    with torch.no_grad():
        for m, phrase in enumerate(phrases):
            states = hand_crafted_hidden_states(backbone, f"{phrase} {classname}.", maple.n_ctx)
            for depth, prompt in enumerate(maple.deep_text_prompts, start=1):
                prompt[m] = states[depth - 1]


def reference_text(backbone: FrozenCLIP, texts: list[str]) -> torch.Tensor:
    return F.normalize(backbone.model.encode_text(backbone.tokenize(texts)), dim=-1)


def test_defaults_are_the_published_recipe(deep_clip, tiny_clip, classnames):
    maple = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames)
    assert not maple.conditional and maple.image_side_trainable
    assert maple.n_ctx == 2 and maple.num_templates == 1
    assert maple.depth == 4  # min(9, layers): the deep fixture has 4 layers per tower
    assert MEDIATORS.build("maple", backbone=tiny_clip, classnames=classnames).depth == 2
    assert len(maple.deep_text_prompts) == 3 and len(maple.couplings) == 4
    assert all(
        (c.in_features, c.out_features) == (deep_clip.width, deep_clip.vision_width) for c in maple.couplings
    )
    # the context starts as "a photo"; "of a" stays fixed
    expected = deep_clip.embed_tokens(torch.tensor(deep_clip.word_ids("a photo of a")[:2]))
    torch.testing.assert_close(maple.ctx[0], expected)


@pytest.mark.parametrize("phrases", [PHRASES[:1], PHRASES])
@pytest.mark.parametrize("truncate", [True, False])
def test_text_side_with_hand_crafted_deep_prompts_equals_encode_text(
    deep_clip, classnames, phrases, truncate
):
    maple = MEDIATORS.build(
        "maple", backbone=deep_clip, classnames=classnames, num_templates=len(phrases), ctx_init=phrases
    )
    # With the causal mask the context positions never see the class name: one P^m_i serves every class.
    set_deep_prompts_to_hand_crafted(maple, deep_clip, phrases, classnames[0])
    deep_clip.truncate_text = truncate
    try:
        features = maple()
    finally:
        deep_clip.truncate_text = True
    assert features.shape == (len(phrases), len(classnames), deep_clip.embed_dim)
    for m, phrase in enumerate(phrases):
        expected = reference_text(deep_clip, [f"{phrase} {c}." for c in classnames])
        torch.testing.assert_close(features[m], expected, atol=1e-5, rtol=0)


def test_deep_text_prompts_matter(deep_clip, classnames):
    maple = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames)
    set_deep_prompts_to_hand_crafted(maple, deep_clip, PHRASES[:1], classnames[0])
    exact = maple()
    for prompt in maple.deep_text_prompts:
        noise = torch.randn_like(prompt)  # not a constant shift: the blocks' pre-LayerNorms remove those
        with torch.no_grad():
            prompt.add_(noise)
        assert (maple() - exact).abs().max() > 1e-3
        with torch.no_grad():
            prompt.sub_(noise)


def test_image_side_without_prompt_layers_reproduces_encode_image(deep_clip, classnames):
    maple = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames, vision_prompts=False)
    assert not maple.image_side_trainable and len(maple.couplings) == 0
    views = torch.randn(2, 3, 32, 32)
    expected = F.normalize(deep_clip.model.encode_image(views), dim=-1)
    torch.testing.assert_close(maple.encode_images(views)[:, 0], expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(deep_clip.encode_image_prompted(views), expected, atol=1e-6, rtol=0)


def test_image_side_is_view_m_through_template_m_prompts(deep_clip, classnames):
    torch.manual_seed(0)
    maple = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames, num_templates=2)
    views = torch.randn(3, 2, 3, 32, 32)
    features = maple.encode_images(views)
    assert features.shape == (3, 2, deep_clip.embed_dim)
    for m in range(2):
        shallow = maple.couplings[0](maple.ctx[m])
        deep = [maple.couplings[i](p[m]) for i, p in enumerate(maple.deep_text_prompts, start=1)]
        expected = deep_clip.encode_image_prompted(views[:, m], shallow, deep)
        torch.testing.assert_close(features[:, m], expected, atol=1e-5, rtol=0)
    assert (features[:, 0] - deep_clip.encode_image(views[:, 0])).abs().max() > 1e-3  # prompts act
    # one view is encoded once per template
    one_view = maple.encode_images(views[:, 0])
    torch.testing.assert_close(one_view, maple.encode_images(views[:, :1].expand(-1, 2, -1, -1, -1)))


def test_gradients_reach_every_deep_prompt_and_coupling_and_no_tower_weight(deep_clip, classnames):
    torch.manual_seed(0)
    maple = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames, num_templates=2)
    image = maple.encode_images(torch.randn(4, 3, 32, 32))  # [B, M, D]
    text = maple()  # [M, C, D]
    logits = deep_clip.logit_scale * torch.einsum("bmd,mcd->mbc", image, text)
    labels = torch.randint(0, len(classnames), (4,))
    F.cross_entropy(logits.flatten(0, 1), labels.repeat(2)).backward()
    names = [name for name, _ in maple.named_parameters()]
    assert len([n for n in names if n.startswith("deep_text_prompts.")]) == 3
    assert len([n for n in names if n.startswith("couplings.")]) == 8  # 4 layers × (weight, bias)
    for name, parameter in maple.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert all(p.grad is None for p in deep_clip.parameters())


def test_base_to_new_keeps_learned_parameters(deep_clip, classnames):
    torch.manual_seed(0)
    maple = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames[:2], num_templates=2)
    with torch.no_grad():
        for parameter in maple.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)  # stands in for training on base classes
    learned = {k: v.clone() for k, v in maple.state_dict().items()}
    images = torch.randn(2, 3, 32, 32)
    image_before = maple.encode_images(images)
    maple.set_classnames(classnames[2:])
    for key, value in maple.state_dict().items():
        assert torch.equal(value, learned[key]), key
    fresh = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames[2:], num_templates=2)
    fresh.load_state_dict(learned)
    torch.testing.assert_close(maple(), fresh())
    torch.testing.assert_close(maple.encode_images(images), image_before)
    assert maple().shape[1] == len(classnames[2:])


def test_regularizers_are_the_vsd_losses(deep_clip, classnames):
    maple = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames, num_templates=2)
    terms = maple.regularizers(maple(), deep_clip.logit_scale)
    assert set(terms) == {"L_de", "L_con"} and all(t.dim() == 0 and torch.isfinite(t) for t in terms.values())


def test_bad_settings_are_refused(deep_clip, classnames):
    with pytest.raises(ValueError, match=r"depth \(J\) must be an integer in 1\.\.4"):
        MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames, depth=5)
    with pytest.raises(ValueError, match="fewer than n_ctx=5"):
        MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames, n_ctx=5)
    maple = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames, num_templates=2)
    with pytest.raises(ValueError, match="takes 1 or 2"):
        maple.encode_images(torch.randn(1, 3, 3, 32, 32))


def test_convolutional_image_tower_needs_vision_prompts_off(classnames):
    resnet_clip = FrozenCLIP.from_config(RESNET_CONFIG)
    with pytest.raises(ValueError, match="ViT image tower.*vision_prompts=False"):
        MEDIATORS.build("maple", backbone=resnet_clip, classnames=classnames)
    text_only = MEDIATORS.build("maple", backbone=resnet_clip, classnames=classnames, vision_prompts=False)
    assert text_only.depth == 2 and not text_only.image_side_trainable
    assert text_only.encode_images(torch.randn(2, 3, 32, 32)).shape == (2, 1, resnet_clip.embed_dim)


@pytest.mark.slow
def test_vit_b_16_parameter_counts_and_text_exactness():
    """ViT-B/16 architecture: MaPLe J=9 has the paper's 3.55M parameters, CoCoOp 35.36K; text side exact."""
    torch.manual_seed(0)
    backbone = FrozenCLIP.from_config("ViT-B-16")
    classnames = ["dog", "hot air balloon", "stop sign"]
    maple = MEDIATORS.build("maple", backbone=backbone, classnames=classnames)
    cocoop = MEDIATORS.build("cocoop", backbone=backbone, classnames=classnames)
    assert maple.depth == 9
    assert sum(p.numel() for p in maple.parameters()) == 2 * 512 + 8 * 2 * 512 + 9 * (512 * 768 + 768)
    assert sum(p.numel() for p in cocoop.parameters()) == 4 * 512 + (512 * 32 + 32) + (32 * 512 + 512)
    set_deep_prompts_to_hand_crafted(maple, backbone, PHRASES[:1], classnames[0])
    with torch.no_grad():
        expected = reference_text(backbone, [f"a photo of a {c}." for c in classnames])
        torch.testing.assert_close(maple()[0], expected, atol=1e-5, rtol=0)


def test_couplings_start_as_the_official_code_starts_them(deep_clip, classnames):
    """F_1..F_{J−1} are copies of one Linear (the official _get_clones), F_0 its own; clone_couplings=False
    draws each on its own."""
    torch.manual_seed(0)
    maple = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames)
    first, *deeper = maple.couplings
    assert len(deeper) == maple.depth - 1 >= 2
    for layer in deeper[1:]:
        torch.testing.assert_close(layer.weight, deeper[0].weight, rtol=0, atol=0)
        torch.testing.assert_close(layer.bias, deeper[0].bias, rtol=0, atol=0)
        assert layer.weight.data_ptr() != deeper[0].weight.data_ptr()  # copies, not one shared layer
    assert not torch.equal(first.weight, deeper[0].weight)
    independent = MEDIATORS.build("maple", backbone=deep_clip, classnames=classnames, clone_couplings=False)
    assert not torch.equal(independent.couplings[1].weight, independent.couplings[2].weight)
