"""MaPLe: deep multi-modal prompts (Khattak et al., "MaPLe: Multi-modal Prompt Learning", CVPR 2023).

Text side, for class c: the prompt is the phrase "a photo of a" followed by the class name, with its first
n_ctx tokens learnable and the rest fixed,

    h_0 = [SOS] [V]_1 … [V]_n  of a  [CLASS_c] . [EOS]      (n = 2: [V]_1 [V]_2 start as "a photo")

and before text blocks i = 1..J−1 the hidden states of the n context positions are replaced by deep prompts,
h_i[1 : 1+n] = P_i. Image side: coupling functions F_i (Linear(text width → vision width)) map the same
prompts into the image tower — F_0([V]) is appended to the image tokens at layer 0 and F_i(P_i) replaces those
tokens before vision block i. w_c = f_T(…) and f(x) = f_I(x; F_0([V]), F_1(P_1), …, F_{J−1}(P_{J−1})).

M templates (CDC on top): template m has its own context [V]^m (its own phrase, cycled from ``ctx_init``) and
deep prompts P^m_i; the coupling functions F_i are shared. Template m's class features score view m encoded
through template m's vision prompts, so ``encode_images`` returns one feature per template: [B, M, D].
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators.base import MEDIATORS, Mediator, check_classnames, vision_prompts_allowed
from causalvlm.mediators.multi_template import check_num_templates, phrases_for, vsd_regularizers
from causalvlm.mediators.soft_prompt import PLACEHOLDER_WORD, layout_prompts
from causalvlm.mediators.vsd import DEFAULT_CTX_INIT
from causalvlm.mediators.vsd_losses import VSD_TERMS

MAPLE_DEPTH = 9  # J in the MaPLe paper's ViT-B/16 recipe
MAPLE_N_CTX = 2


def resolve_depth(depth: int | None, max_depth: int) -> int:
    """J: ``None`` → min(9, layers available); else 1 ≤ J ≤ layers available, ValueError otherwise."""
    if depth is None:
        return min(MAPLE_DEPTH, max_depth)
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= max_depth:
        raise ValueError(
            f"depth (J) must be an integer in 1..{max_depth} (the prompted towers' layers), got {depth!r}"
        )
    return depth


def coupling_layers(text_width: int, vision_width: int, depth: int, clone: bool = True) -> nn.ModuleList:
    """F_0..F_{J−1}: Linear(text width → vision width) for each of the J ≥ 1 prompted layers.

    As the official MaPLe code starts them: F_0 (its ``proj``) on its own, and F_1..F_{J−1} (its
    ``compound_prompt_projections``, made by ``_get_clones``) as copies of one freshly initialised Linear, so
    they begin equal and differ only by what they learn. ``clone=False`` initialises every F_i on its own.
    """
    first = nn.Linear(text_width, vision_width)
    if not clone:
        return nn.ModuleList([first, *(nn.Linear(text_width, vision_width) for _ in range(depth - 1))])
    deeper = nn.Linear(text_width, vision_width)
    return nn.ModuleList([first, *(copy.deepcopy(deeper) for _ in range(depth - 1))])


@MEDIATORS.register("maple")
class MaPLeMediator(Mediator):
    """Deep text prompts coupled to deep vision prompts: ``forward()`` [M,C,D], ``encode_images`` [B,M,D]."""

    # buffers registered in __init__ / set_classnames (declared for type checkers)
    token_embeddings: torch.Tensor
    context_slot: torch.Tensor
    eot_index: torch.Tensor
    hand_crafted_features: torch.Tensor

    conditional = False
    provides = VSD_TERMS  # L_de and L_con over its M templates (CDC on top of MaPLe)

    def __init__(
        self,
        backbone: FrozenCLIP,
        classnames: Sequence[str],
        template: str = "a photo of a {}.",  # the hand-crafted t0 that L_con anchors to
        num_templates: int = 1,  # M; 1 is MaPLe as published
        n_ctx: int = MAPLE_N_CTX,  # learnable leading tokens of each phrase
        ctx_init: str
        | Sequence[str]
        | None = DEFAULT_CTX_INIT,  # phrase(s) cycled over m; None → N(0, 0.02²)
        depth: int | None = None,  # J: prompted layers 0..J−1; None → min(9, layers of the towers)
        deep_init_std: float = 0.02,  # deep prompts P_i start as N(0, std²), as in MaPLe
        vision_prompts: bool = True,  # False: text-side deep prompts only (what a ResNet tower allows)
        temperature: float | None = None,  # τ of L_de / L_con; None → the CLIP logit scale
        init_noise: float = 0.02,  # std added to a template whose phrase repeats an earlier template's
        clone_couplings: bool = True,  # F_1..F_{J−1} start as copies of one Linear, as the official code does
    ):
        super().__init__(backbone, classnames, template)
        self.num_templates = check_num_templates(num_templates)
        if not isinstance(n_ctx, int) or isinstance(n_ctx, bool) or n_ctx < 1:
            raise ValueError(f"n_ctx must be a positive integer, got {n_ctx!r}")
        if temperature is not None and temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        self.vision_prompts = vision_prompts_allowed(backbone, vision_prompts, "MaPLe")
        # Image features depend on learned parameters only when vision prompts exist.
        self.image_side_trainable = self.vision_prompts
        max_depth = min(
            backbone.text_layers, backbone.vision_layers if self.vision_prompts else backbone.text_layers
        )
        self.depth = resolve_depth(depth, max_depth)
        self.n_ctx = n_ctx
        self.temperature = temperature
        device = backbone.text_tower.token_embedding.weight.device

        # One phrase per template: its first n_ctx tokens become learnable context, the rest stays fixed.
        self._phrase_ids: list[list[int]] = []
        contexts = []
        for phrase, repeated in phrases_for(ctx_init, self.num_templates):
            if phrase is None:
                self._phrase_ids.append(backbone.word_ids(PLACEHOLDER_WORD) * n_ctx)
                contexts.append(torch.randn(n_ctx, backbone.width, device=device) * 0.02)
                continue
            ids = backbone.word_ids(phrase.replace("_", " "))
            if len(ids) < n_ctx:
                raise ValueError(
                    f"ctx_init phrase {phrase!r} has {len(ids)} tokens, fewer than n_ctx={n_ctx}"
                )
            self._phrase_ids.append(ids)
            with torch.no_grad():
                context = backbone.embed_tokens(torch.tensor(ids[:n_ctx], device=device)).float().clone()
            if repeated:
                context += torch.randn_like(context) * init_noise
            contexts.append(context)
        self.ctx = nn.Parameter(torch.stack(contexts))  # [M, n_ctx, width]
        self.deep_text_prompts = nn.ParameterList(
            nn.Parameter(
                torch.randn(self.num_templates, n_ctx, backbone.width, device=device) * deep_init_std
            )
            for _ in range(self.depth - 1)
        )  # P_i, i = 1..J−1: [M, n_ctx, width] each
        self.couplings = (
            coupling_layers(backbone.width, backbone.vision_width, self.depth, clone_couplings).to(device)
            if self.vision_prompts
            else nn.ModuleList()
        )  # F_0..F_{J−1}
        self.set_classnames(self.classnames)

    def set_classnames(self, classnames: Sequence[str]) -> None:
        classnames = check_classnames(classnames)
        backbone = self.backbone
        pieces = [layout_prompts(backbone, classnames, ids, "end") for ids in self._phrase_ids]
        token_ids = torch.cat([p[0] for p in pieces])  # [M·C, L], template-major rows
        # Slots 0..n_ctx−1 are learnable; the phrase's later words keep their token embeddings.
        slot = torch.cat([p[1] for p in pieces])
        slot = torch.where(slot < self.n_ctx, slot, torch.full_like(slot, -1))
        eot_index = torch.cat([p[2] for p in pieces])
        device = backbone.text_tower.token_embedding.weight.device
        with torch.no_grad():
            token_embeddings = backbone.embed_tokens(token_ids.to(device))
        self.register_buffer("token_embeddings", token_embeddings, persistent=False)
        self.register_buffer("context_slot", slot.to(device), persistent=False)
        self.register_buffer("eot_index", eot_index.to(device), persistent=False)
        self.classnames = classnames
        self.register_hand_crafted_features()

    # ---- text side --------------------------------------------------------------------------------------
    def text_prompts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer-0 prompt embeddings [M·C, L', width] (L' = latest eot + 1 when truncating) and eot [M·C]."""
        length = (
            int(self.eot_index.max()) + 1 if self.backbone.truncate_text else self.token_embeddings.shape[1]
        )
        fixed = self.token_embeddings[:, :length]
        slot = self.context_slot[:, :length]
        rows = torch.arange(slot.shape[0], device=slot.device).unsqueeze(1)
        ctx = self.ctx.to(fixed.dtype).repeat_interleave(self.num_classes, dim=0)  # [M·C, n_ctx, width]
        prompts = torch.where((slot >= 0).unsqueeze(-1), ctx[rows, slot.clamp(min=0)], fixed)
        return prompts, self.eot_index

    def _per_row(self, prompt: torch.Tensor, rows_per_template: int) -> torch.Tensor:
        """[M, n, W] → [n, W] when M = 1 (broadcast), else each template's prompt repeated for its rows."""
        if self.num_templates == 1:
            return prompt[0]
        return prompt.repeat_interleave(rows_per_template, dim=0)

    def forward(self, image_features: torch.Tensor | None = None) -> torch.Tensor:
        """w [M, C, D]: one text pass over M×C prompts, deep prompts P^m_i at layers 1..J−1 (image unused)."""
        prompts, eot_index = self.text_prompts()
        deep = [self._per_row(p, self.num_classes) for p in self.deep_text_prompts]
        features = self.backbone.encode_text_embeddings(prompts, eot_index, normalize=True, deep_prompts=deep)
        return features.view(self.num_templates, self.num_classes, -1)

    # ---- image side -------------------------------------------------------------------------------------
    def vision_prompt_tokens(self) -> list[torch.Tensor]:
        """[F_0([V]^m), F_1(P^m_1), …, F_{J−1}(P^m_{J−1})], each [M, n_ctx, vision width]."""
        if not self.vision_prompts:
            return []
        text = [self.ctx, *self.deep_text_prompts]
        return [coupling(prompt) for coupling, prompt in zip(self.couplings, text, strict=True)]

    def encode_images(self, views: torch.Tensor) -> torch.Tensor:
        """Views [B,3,H,W] or [B,V,3,H,W] (V ∈ {1, M}) → L2-normalised [B, M, D]: view m through template m's
        vision prompts (one view is encoded once per template). Gradients reach the coupling layers; without
        vision prompts the frozen tower's features [B, V, D] are returned under no_grad."""
        if views.dim() == 4:
            views = views.unsqueeze(1)
        if views.dim() != 5:
            raise ValueError(f"views must be [B,3,H,W] or [B,V,3,H,W], got shape {tuple(views.shape)}")
        batch, num_views = views.shape[:2]
        if not self.vision_prompts:
            with torch.no_grad():
                features = self.backbone.encode_image(views.flatten(0, 1), normalize=True)
            return features.view(batch, num_views, -1)
        M = self.num_templates
        if num_views not in (1, M):
            raise ValueError(f"got {num_views} views per image; MaPLe with M={M} templates takes 1 or {M}")
        images = views.flatten(0, 1) if num_views == M else views[:, 0].repeat_interleave(M, dim=0)
        # Rows are image-major (b·M + m), so template prompts are tiled over the batch.
        tokens = [p[0] if M == 1 else p.repeat(batch, 1, 1) for p in self.vision_prompt_tokens()]
        features = self.backbone.encode_image_prompted(images, tokens[0], tokens[1:], normalize=True)
        return features.view(batch, M, -1)

    def regularizers(
        self, text_features: torch.Tensor, logit_scale: torch.Tensor | float
    ) -> dict[str, torch.Tensor]:
        """{"L_de", "L_con"} on the M templates' class features (VSD on top of MaPLe)."""
        tau = self.temperature if self.temperature is not None else logit_scale
        return vsd_regularizers(text_features, self.hand_crafted_features, tau)
