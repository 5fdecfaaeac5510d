"""KgCoOp: the official forward and loss (trainers/kgcoop.py, rebuilt below from the open_clip weights) and
ours agree on the logits, L_kg, the loss and its gradient; the method is registered with its weight."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from causalvlm import FrontDoorClassifier
from causalvlm.experiments import method_spec
from causalvlm.methods import get_method
from causalvlm.methods.kgcoop import KGCOOP_WEIGHT, KgCoOpMediator

CLASSES = ["dog", "hot air balloon", "great crested grebe", "x"]
TEMPLATE = "a photo of a {}, a type of pet."


def official_kgcoop(backbone, ctx, images, labels, weight):
    """KgCoOp's CustomCLIP.forward and forward_backward on the same weights: prompts [SOS] ctx name . [EOS],
    the text encoder read at the argmax token (EOT), logits = exp(s) f(x)·w, score = 1 − mean cos(w, w_old),
    loss = CE + w·score."""
    model, tower = backbone.model, backbone.text_tower
    n_ctx = ctx.shape[0]
    tokenized = backbone.tokenizer([f"a photo of a {name}." for name in CLASSES])
    embedding = tower.token_embedding(tokenized)
    prompts = torch.cat([embedding[:, :1], ctx.expand(len(CLASSES), -1, -1), embedding[:, 1 + n_ctx :]], 1)
    x = prompts + tower.positional_embedding
    x = tower.transformer(x, attn_mask=tower.attn_mask)
    x = tower.ln_final(x)
    text = x[torch.arange(x.shape[0]), tokenized.argmax(dim=-1)] @ tower.text_projection
    with torch.no_grad():
        old = model.encode_text(backbone.tokenizer([TEMPLATE.format(name) for name in CLASSES]))
    image = model.encode_image(images)
    image, text = image / image.norm(dim=-1, keepdim=True), text / text.norm(dim=-1, keepdim=True)
    logits = model.logit_scale.exp() * image @ text.t()
    old = old / old.norm(dim=-1, keepdim=True)
    score = 1.0 - torch.mean(torch.nn.CosineSimilarity(dim=1, eps=1e-07)(text, old))
    return logits, score, F.cross_entropy(logits, labels) + weight * score


def test_forward_and_loss_match_the_official_code(tiny_clip):
    torch.manual_seed(0)
    mediator = KgCoOpMediator(tiny_clip, CLASSES, template=TEMPLATE, ctx_init="a photo of a")
    with torch.no_grad():  # a "learned" context, so w and w_old differ
        mediator.prompt.ctx.add_(torch.randn_like(mediator.prompt.ctx) * 0.3)
    classifier = FrontDoorClassifier(tiny_clip, mediator, "logit-avg", loss_weights={"L_kg": KGCOOP_WEIGHT})
    images, labels = torch.randn(3, 3, 32, 32), torch.tensor([0, 3, 1])

    ctx = mediator.prompt.ctx.detach().clone().requires_grad_(True)
    logits, score, loss = official_kgcoop(tiny_clip, ctx, images, labels, KGCOOP_WEIGHT)
    terms = classifier.loss_terms(images, labels)
    ours = classifier.logits(classifier.encode_views(images))[0]
    torch.testing.assert_close(ours, logits, atol=1e-5, rtol=1e-5)
    assert score.item() > 1e-3  # the penalty is really exercised
    torch.testing.assert_close(terms["L_kg"], score, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(terms["loss"], loss, atol=1e-5, rtol=1e-5)
    terms["loss"].backward()
    loss.backward()
    torch.testing.assert_close(mediator.prompt.ctx.grad, ctx.grad, atol=1e-6, rtol=1e-4)


def test_new_classes_get_their_own_anchor(tiny_clip):
    mediator = KgCoOpMediator(tiny_clip, CLASSES[:2], template=TEMPLATE, ctx_init="a photo of a")
    mediator.set_classnames(CLASSES[2:])
    expected = F.normalize(
        tiny_clip.model.encode_text(tiny_clip.tokenizer([TEMPLATE.format(n) for n in CLASSES[2:]]))
    )
    torch.testing.assert_close(mediator.hand_crafted_features, expected, atol=1e-6, rtol=1e-5)


def test_the_method_is_coop_plus_its_weighted_term():
    spec, coop = method_spec("kgcoop"), method_spec("coop")
    assert spec.mediator == "kgcoop" and spec.weights == {"L_kg": 8.0} and spec.label == "kgcoop"
    assert (spec.augmentation, spec.mediator_options) == (coop.augmentation, coop.mediator_options)
    assert method_spec("kgcoop", weights={"lambda": 2}).weights == {"L_kg": 2.0}
    assert method_spec("kgcoop", recipe=True).train["batch_size"] == 128
    assert get_method("kgcoop").trains and not get_method("kgcoop").ours
