"""CoCoOp: exact against CoOp, batched B×M×C prompts exact against one image at a time, base → new."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from causalvlm.mediators import MEDIATORS
from causalvlm.mediators.vsd_losses import consistency_loss, decoupling_loss


def image_features(backbone, batch: int, views: int = 1) -> torch.Tensor:
    return F.normalize(torch.randn(batch, views, backbone.embed_dim), dim=-1)


def zero_last_layer(cocoop) -> None:
    with torch.no_grad():
        for meta_net in cocoop.meta_nets:
            meta_net[-1].weight.zero_()
            meta_net[-1].bias.zero_()


def coop_with_context(backbone, classnames, context: torch.Tensor, phrase: str = "a photo of a"):
    """A CoOp mediator whose context is set to ``context`` [n_ctx, width]."""
    coop = MEDIATORS.build("coop", backbone=backbone, classnames=classnames, ctx_init=phrase)
    with torch.no_grad():
        coop.prompt.ctx.copy_(context)
    return coop


def test_defaults_are_the_published_recipe(tiny_clip, classnames):
    cocoop = MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames)
    assert cocoop.conditional and not cocoop.image_side_trainable
    assert cocoop.num_templates == 1 and cocoop.prompts[0].n_ctx == 4
    linear1, _, linear2 = cocoop.meta_nets[0]
    assert (linear1.in_features, linear1.out_features) == (tiny_clip.embed_dim, tiny_clip.embed_dim // 16)
    assert linear2.out_features == tiny_clip.width
    expected = tiny_clip.embed_tokens(torch.tensor(tiny_clip.word_ids("a photo of a")))
    torch.testing.assert_close(cocoop.prompts[0].ctx, expected)


def test_zero_meta_net_output_equals_coop_with_the_same_context(tiny_clip, classnames):
    torch.manual_seed(0)
    cocoop = MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames)
    with torch.no_grad():
        cocoop.prompts[0].ctx.add_(torch.randn_like(cocoop.prompts[0].ctx) * 0.1)  # a "learned" context
    zero_last_layer(cocoop)
    coop = coop_with_context(tiny_clip, classnames, cocoop.prompts[0].ctx)
    features = cocoop(image_features(tiny_clip, 3))
    assert features.shape == (3, 1, len(classnames), tiny_clip.embed_dim)
    for b in range(3):
        torch.testing.assert_close(features[b], coop(), atol=1e-5, rtol=0)


def test_batched_prompts_equal_one_image_at_a_time(tiny_clip, classnames):
    """Image b's class features are CoOp's with context [V]_k + π(f(x_b)), for every b of the batch."""
    torch.manual_seed(0)
    cocoop = MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames)
    features = image_features(tiny_clip, 4)
    batched = cocoop(features)
    context = cocoop.context(features)  # [B, 1, n_ctx, width]
    assert context[:, 0].sub(cocoop.prompts[0].ctx).abs().amax() > 0  # the meta-net really shifts it
    for b in range(4):
        one = coop_with_context(tiny_clip, classnames, context[b, 0])()
        torch.testing.assert_close(batched[b], one, atol=1e-5, rtol=0)
        torch.testing.assert_close(cocoop(features[b : b + 1])[0], one, atol=1e-5, rtol=0)
    bias = cocoop.meta_nets[0](features[:, 0])
    torch.testing.assert_close(context[:, 0], cocoop.prompts[0].ctx + bias.unsqueeze(1))


@pytest.mark.parametrize("shared_meta_net", [False, True])
def test_view_m_conditions_template_m(tiny_clip, classnames, shared_meta_net):
    torch.manual_seed(0)
    phrases = ["a photo of a", "a picture of a"]
    cocoop = MEDIATORS.build(
        "cocoop",
        backbone=tiny_clip,
        classnames=classnames,
        num_templates=2,
        ctx_init=phrases,
        shared_meta_net=shared_meta_net,
    )
    assert len(cocoop.meta_nets) == (1 if shared_meta_net else 2)
    views = image_features(tiny_clip, 3, views=2)
    batched = cocoop(views)
    assert batched.shape == (3, 2, len(classnames), tiny_clip.embed_dim)
    for m, phrase in enumerate(phrases):
        meta_net = cocoop.meta_nets[0 if shared_meta_net else m]
        for b in range(3):
            context = cocoop.prompts[m].ctx + meta_net(views[b, m])
            one = coop_with_context(tiny_clip, classnames, context, phrase)()
            torch.testing.assert_close(batched[b, m], one[0], atol=1e-5, rtol=0)
    # one view conditions every template
    single = cocoop(views[:, :1])
    torch.testing.assert_close(single, cocoop(views[:, :1].expand(-1, 2, -1)))


def test_truncation_on_off_equal(tiny_clip, classnames):
    cocoop = MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames, num_templates=2)
    features = image_features(tiny_clip, 2)
    on = cocoop(features)
    tiny_clip.truncate_text = False
    try:
        off = cocoop(features)
    finally:
        tiny_clip.truncate_text = True
    torch.testing.assert_close(on, off, atol=1e-5, rtol=0)


def test_gradients_reach_context_and_meta_net_only(tiny_clip, classnames):
    torch.manual_seed(0)
    cocoop = MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames, num_templates=2)
    features = image_features(tiny_clip, 5)
    text = cocoop(features)  # [B, M, C, D]
    logits = tiny_clip.logit_scale * torch.einsum("bd,bmcd->mbc", features[:, 0], text)
    labels = torch.randint(0, len(classnames), (5,))
    F.cross_entropy(logits.flatten(0, 1), labels.repeat(2)).backward()
    names = {name for name, _ in cocoop.named_parameters()}
    assert {"prompts.0.ctx", "prompts.1.ctx", "meta_nets.1.0.weight", "meta_nets.1.2.bias"} <= names
    for name, parameter in cocoop.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert all(p.grad is None for p in tiny_clip.parameters())


def test_base_to_new_keeps_learned_parameters(tiny_clip, classnames):
    torch.manual_seed(0)
    cocoop = MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames[:2], num_templates=2)
    with torch.no_grad():
        for parameter in cocoop.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)  # stands in for training on base classes
    learned = {k: v.clone() for k, v in cocoop.state_dict().items()}
    cocoop.set_classnames(classnames[2:])
    assert cocoop.classnames == classnames[2:]
    for key, value in cocoop.state_dict().items():
        assert torch.equal(value, learned[key]), key
    fresh = MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames[2:], num_templates=2)
    fresh.load_state_dict(learned)
    features = image_features(tiny_clip, 2)
    torch.testing.assert_close(cocoop(features), fresh(features))
    assert cocoop(features).shape[2] == len(classnames[2:])


def test_regularizers_average_the_vsd_losses_over_images(tiny_clip, classnames):
    cocoop = MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames, num_templates=3)
    text = cocoop(image_features(tiny_clip, 2))
    tau = tiny_clip.logit_scale
    terms = cocoop.regularizers(text, tau)
    w0 = cocoop.hand_crafted_features
    expected_de = (decoupling_loss(text[0], tau) + decoupling_loss(text[1], tau)) / 2
    expected_con = (consistency_loss(text[0], w0, tau) + consistency_loss(text[1], w0, tau)) / 2
    torch.testing.assert_close(terms["L_de"], expected_de)
    torch.testing.assert_close(terms["L_con"], expected_con)


def test_encode_images_is_the_frozen_image_tower(tiny_clip, classnames):
    cocoop = MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames)
    views = torch.randn(2, 3, 3, 32, 32)
    features = cocoop.encode_images(views)
    assert features.shape == (2, 3, tiny_clip.embed_dim) and not features.requires_grad
    torch.testing.assert_close(features[:, 1], tiny_clip.encode_image(views[:, 1]))
    assert cocoop.encode_images(views[:, 0]).shape == (2, 1, tiny_clip.embed_dim)


def test_bad_inputs_are_refused(tiny_clip, classnames):
    cocoop = MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames, num_templates=2)
    with pytest.raises(ValueError, match="conditional: forward needs image_features"):
        cocoop()
    with pytest.raises(ValueError, match="V = 1 or M = 2"):
        cocoop(image_features(tiny_clip, 2, views=3))
    with pytest.raises(ValueError, match="num_templates"):
        MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames, num_templates=0)
    with pytest.raises(ValueError, match="n_ctx=3 but ctx_init"):
        MEDIATORS.build("cocoop", backbone=tiny_clip, classnames=classnames, n_ctx=3)
