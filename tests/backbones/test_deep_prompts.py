"""Deep prompts in the backbone: layer-by-layer text and vision forward over open_clip's own blocks.

References come from open_clip itself (``encode_text``, ``encode_image``,
``Transformer.forward_intermediates``), never from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from open_clip.transformer import Transformer

from causalvlm.backbones import FrozenCLIP
from causalvlm.backbones.deep_prompts import run_blocks

TEXTS = ["a photo of a dog.", "a photo of a hot air balloon.", "a photo of a great crested grebe."]
RESNET_CONFIG = Path(__file__).parents[2] / "causalvlm" / "worlds" / "tiny_clip.json"


def text_hidden_states(clip: FrozenCLIP, tokens: torch.Tensor) -> list[torch.Tensor]:
    """Input of every text block for ``tokens`` (h_0, h_1, ...), from open_clip's forward_intermediates."""
    tower = clip.text_tower
    x = tower.token_embedding(tokens) + tower.positional_embedding
    _, outputs = tower.transformer.forward_intermediates(x, attn_mask=tower.attn_mask)
    return [x, *outputs[:-1]]


def open_clip_text(clip: FrozenCLIP, tokens: torch.Tensor) -> torch.Tensor:
    return F.normalize(clip.model.encode_text(tokens), dim=-1)


@pytest.mark.parametrize("per_row", [False, True])
@pytest.mark.parametrize("truncate", [True, False])
def test_text_deep_prompts_set_to_own_hidden_states_reproduce_encode_text(deep_clip, per_row, truncate):
    tokens = deep_clip.tokenize(TEXTS)
    hidden = text_hidden_states(deep_clip, tokens)
    n = 2  # positions 1..2 ("a photo"): with the causal mask they depend on no class word
    for depth in range(1, deep_clip.text_layers):
        deep = [h[:, 1 : 1 + n] if per_row else h[0, 1 : 1 + n] for h in hidden[1 : depth + 1]]
        features = deep_clip.encode_text_embeddings(
            deep_clip.embed_tokens(tokens), deep_clip.eot_index(tokens), truncate=truncate, deep_prompts=deep
        )
        torch.testing.assert_close(features, open_clip_text(deep_clip, tokens), atol=1e-5, rtol=0)


def test_text_deep_prompts_act_at_their_depth(deep_clip):
    tokens = deep_clip.tokenize(TEXTS)
    hidden = text_hidden_states(deep_clip, tokens)
    prompts, eot = deep_clip.embed_tokens(tokens), deep_clip.eot_index(tokens)
    exact = [h[0, 1:3] for h in hidden[1:]]
    reference = deep_clip.encode_text_embeddings(prompts, eot, deep_prompts=exact)
    for depth in range(len(exact)):
        changed = list(exact)
        changed[depth] = changed[depth] + torch.randn_like(changed[depth])
        features = deep_clip.encode_text_embeddings(prompts, eot, deep_prompts=changed)
        assert (features - reference).abs().max() > 1e-3, f"deep prompt of depth {depth + 1} had no effect"


def test_text_truncation_on_off_equal_with_deep_prompts(deep_clip):
    tokens = deep_clip.tokenize(TEXTS)
    deep = [torch.randn(len(TEXTS), 2, deep_clip.width) for _ in range(deep_clip.text_layers - 1)]
    args = (deep_clip.embed_tokens(tokens), deep_clip.eot_index(tokens))
    on = deep_clip.encode_text_embeddings(*args, truncate=True, deep_prompts=deep)
    off = deep_clip.encode_text_embeddings(*args, truncate=False, deep_prompts=deep)
    torch.testing.assert_close(on, off, atol=1e-5, rtol=0)


def test_image_without_prompts_reproduces_encode_image(deep_clip, tiny_clip):
    for clip in (deep_clip, tiny_clip):
        images = torch.randn(3, 3, 32, 32)
        reference = F.normalize(clip.model.encode_image(images), dim=-1)
        torch.testing.assert_close(clip.encode_image_prompted(images), reference, atol=1e-6, rtol=0)


def test_image_deep_prompts_of_the_prompts_own_hidden_states_change_nothing(deep_clip):
    """Replacing the prompt tokens by the states they already have at each depth is the identity."""
    images = torch.randn(2, 3, 32, 32)
    shallow = torch.randn(2, deep_clip.vision_width)
    visual = deep_clip.model.visual
    x = visual._embeds(images)
    x = torch.cat([x, visual.ln_pre(shallow).expand(2, -1, -1)], dim=1)
    _, outputs = visual.transformer.forward_intermediates(x)
    own = [h[:, -2:] for h in outputs[:-1]]
    with_deep = deep_clip.encode_image_prompted(images, shallow, own)
    torch.testing.assert_close(with_deep, deep_clip.encode_image_prompted(images, shallow), atol=1e-5, rtol=0)
    # ... and the prompts do reach the image feature, at layer 0 and at every depth
    plain = deep_clip.encode_image(images)
    assert (deep_clip.encode_image_prompted(images, shallow) - plain).abs().max() > 1e-3
    for depth in range(len(own)):
        changed = list(own)
        changed[depth] = changed[depth] + torch.randn_like(changed[depth])
        features = deep_clip.encode_image_prompted(images, shallow, changed)
        assert (features - with_deep).abs().max() > 1e-3, f"vision prompt of depth {depth + 1} had no effect"


def test_gradients_reach_prompts_and_not_the_towers(deep_clip):
    text_deep = [torch.randn(2, deep_clip.width, requires_grad=True) for _ in range(3)]
    vision = [torch.randn(2, deep_clip.vision_width, requires_grad=True) for _ in range(4)]
    tokens = deep_clip.tokenize(TEXTS)
    text = deep_clip.encode_text_embeddings(
        deep_clip.embed_tokens(tokens), deep_clip.eot_index(tokens), deep_prompts=text_deep
    )
    image = deep_clip.encode_image_prompted(torch.randn(2, 3, 32, 32), vision[0], vision[1:])
    (image @ text.t()).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in text_deep + vision)
    assert all(p.grad is None for p in deep_clip.parameters())


def test_gradient_checkpointing_gives_the_same_values_and_gradients(deep_clip):
    tokens = deep_clip.tokenize(TEXTS)
    results = []
    for enable in (False, True):
        deep = [torch.ones(2, deep_clip.width, requires_grad=True) for _ in range(3)]
        deep_clip.set_text_grad_checkpointing(enable)
        try:
            features = deep_clip.encode_text_embeddings(
                deep_clip.embed_tokens(tokens), deep_clip.eot_index(tokens), deep_prompts=deep
            )
            features.sum().backward()
        finally:
            deep_clip.set_text_grad_checkpointing(False)
        results.append((features.detach(), [p.grad for p in deep]))
    torch.testing.assert_close(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(a, b)


def test_run_blocks_handles_sequence_first_transformers():
    torch.manual_seed(0)
    batch_first = Transformer(16, 3, 2, batch_first=True).eval()
    seq_first = Transformer(16, 3, 2, batch_first=False).eval()
    seq_first.load_state_dict(batch_first.state_dict())
    x = torch.randn(4, 7, 16)
    mask = torch.full((7, 7), float("-inf")).triu(1)
    torch.testing.assert_close(run_blocks(seq_first, x, mask, [], 1), batch_first(x, attn_mask=mask))
    deep = [torch.randn(4, 2, 16), torch.randn(2, 16)]
    torch.testing.assert_close(
        run_blocks(seq_first, x, mask, deep, 1), run_blocks(batch_first, x, mask, deep, 1)
    )


def test_bad_deep_prompts_are_refused_with_a_reason(deep_clip):
    tokens = deep_clip.tokenize(["a dog."])  # [sot] a dog . [eot]: eot at 4
    args = (deep_clip.embed_tokens(tokens), deep_clip.eot_index(tokens))
    width = deep_clip.width
    with pytest.raises(ValueError, match="at most 3 fit"):
        deep_clip.encode_text_embeddings(*args, deep_prompts=[torch.zeros(1, width)] * 4)
    with pytest.raises(ValueError, match="before every end-of-text"):
        deep_clip.encode_text_embeddings(*args, deep_prompts=[torch.zeros(4, width)])
    with pytest.raises(ValueError, match="same token count"):
        deep_clip.encode_text_embeddings(*args, deep_prompts=[torch.zeros(1, width), torch.zeros(2, width)])
    with pytest.raises(ValueError, match=r"must be \[n, 32\]"):
        deep_clip.encode_text_embeddings(*args, deep_prompts=[torch.zeros(1, width + 1)])
    images = torch.randn(1, 3, 32, 32)
    with pytest.raises(ValueError, match="need the layer-0 prompt"):
        deep_clip.encode_image_prompted(images, None, [torch.zeros(2, deep_clip.vision_width)])
    with pytest.raises(ValueError, match="layer-0 vision prompt has 1 tokens but the deep ones have 2"):
        deep_clip.encode_image_prompted(
            images, torch.zeros(1, deep_clip.vision_width), [torch.zeros(2, deep_clip.vision_width)]
        )


def test_convolutional_image_tower_is_refused_for_vision_prompts():
    resnet_clip = FrozenCLIP.from_config(RESNET_CONFIG)
    assert not resnet_clip.has_vision_transformer
    with pytest.raises(ValueError, match="ModifiedResNet.*ViT image tower"):
        resnet_clip.encode_image_prompted(torch.randn(1, 3, 32, 32), torch.zeros(2, 16))
