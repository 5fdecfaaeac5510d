"""One learnable prompt template: n_ctx context vectors placed around each class name (CoOp's prompt learner).

For class c the prompt, in token-embedding space, is

    end:    [SOS] [V]_1 … [V]_n [CLASS_c] [.] [EOS]
    middle: [SOS] [V]_1 … [V]_{n/2} [CLASS_c] [V]_{n/2+1} … [V]_n [.] [EOS]
    front:  [SOS] [CLASS_c] [V]_1 … [V]_n [.] [EOS]

with [V]_k learnable (shared by all classes, or one set per class) and every other token a frozen embedding.
Only the context is a parameter; the token ids, their embeddings and the eot positions are non-persistent
buffers rebuilt by :meth:`SoftPrompt.set_classnames`, so a checkpoint trained on base classes loads for
new ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from causalvlm.backbones import FrozenCLIP

CLASS_TOKEN_POSITIONS = ("end", "middle", "front")
# CoOp's default context length when no initial words are given.
DEFAULT_N_CTX = 16
# Placeholder word whose token id sits at randomly initialised context slots (its embedding is replaced).
PLACEHOLDER_WORD = "X"


def resolve_n_ctx(
    backbone: FrozenCLIP, n_ctx: int | None, ctx_init: str | None
) -> tuple[int, list[int] | None]:
    """(n_ctx, ids of the initial words or None); ValueError when the two disagree or n_ctx does not fit."""
    init_ids = None
    if ctx_init is not None:
        if not isinstance(ctx_init, str) or not ctx_init.strip() or "{}" in ctx_init:
            raise ValueError(f"ctx_init must be words without a '{{}}' slot, got {ctx_init!r}")
        init_ids = backbone.word_ids(ctx_init.replace("_", " "))
        if n_ctx is not None and n_ctx != len(init_ids):
            raise ValueError(
                f"n_ctx={n_ctx} but ctx_init {ctx_init!r} is {len(init_ids)} tokens; make them match"
            )
        n_ctx = len(init_ids)
    n_ctx = DEFAULT_N_CTX if n_ctx is None else n_ctx
    if not isinstance(n_ctx, int) or n_ctx < 1:
        raise ValueError(f"n_ctx must be a positive integer, got {n_ctx!r}")
    # SOS + context + at least one class token + EOS must fit.
    if n_ctx + 3 > backbone.context_length:
        raise ValueError(
            f"n_ctx={n_ctx} is too long: with start, end and a class token it exceeds the context length "
            f"{backbone.context_length}"
        )
    return n_ctx, init_ids


def layout_prompts(
    backbone: FrozenCLIP, classnames: Sequence[str], context_ids: list[int], class_token_position: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token ids [C,L], context slot [C,L] (k for [V]_k, −1 elsewhere) and eot index [C] for every class.

    Pieces are BPE-encoded separately and concatenated; CLIP's BPE never merges across a space, so this equals
    tokenizing the whole sentence (the exactness test checks it against open_clip's tokenizer).
    """
    n_ctx, length = len(context_ids), backbone.context_length
    half = n_ctx // 2
    token_ids = torch.zeros(len(classnames), length, dtype=torch.long)
    context_slot = torch.full((len(classnames), length), -1, dtype=torch.long)
    eot_index = torch.zeros(len(classnames), dtype=torch.long)
    slots = list(range(n_ctx))
    for c, name in enumerate(classnames):
        if class_token_position == "end":
            pieces = [(context_ids, slots), (backbone.word_ids(f"{name}."), None)]
        elif class_token_position == "middle":
            pieces = [
                (context_ids[:half], slots[:half]),
                (backbone.word_ids(name), None),
                (context_ids[half:], slots[half:]),
                (backbone.word_ids("."), None),
            ]
        else:
            pieces = [(backbone.word_ids(name), None), (context_ids, slots), (backbone.word_ids("."), None)]
        ids, slot_of = [backbone.sot_token_id], [-1]
        for piece_ids, piece_slots in pieces:
            ids += piece_ids
            slot_of += piece_slots if piece_slots is not None else [-1] * len(piece_ids)
        ids.append(backbone.eot_token_id)
        slot_of.append(-1)
        if len(ids) > length:
            raise ValueError(
                f"class name {name!r} needs {len(ids)} tokens with {n_ctx} context tokens, "
                f"the context length is {length}"
            )
        token_ids[c, : len(ids)] = torch.tensor(ids)
        context_slot[c, : len(ids)] = torch.tensor(slot_of)
        eot_index[c] = len(ids) - 1
    return token_ids, context_slot, eot_index


class SoftPrompt(nn.Module):
    """Learnable context [n_ctx, W] (or [C, n_ctx, W] class-specific) assembled with frozen class tokens."""

    _backbone: FrozenCLIP  # set with object.__setattr__: shared, not a registered child
    # buffers registered in __init__ / set_classnames (declared for type checkers)
    token_ids: torch.Tensor
    token_embeddings: torch.Tensor
    context_slot: torch.Tensor
    eot_index: torch.Tensor

    def __init__(
        self,
        backbone: FrozenCLIP,
        classnames: Sequence[str],
        n_ctx: int | None = None,
        ctx_init: str | None = None,
        class_token_position: str = "end",
        class_specific_context: bool = False,
        init_std: float = 0.02,
    ):
        super().__init__()
        if class_token_position not in CLASS_TOKEN_POSITIONS:
            raise ValueError(
                f"class_token_position must be one of {CLASS_TOKEN_POSITIONS}, got {class_token_position!r}"
            )
        object.__setattr__(self, "_backbone", backbone)
        self.n_ctx, init_ids = resolve_n_ctx(backbone, n_ctx, ctx_init)
        self.class_token_position = class_token_position
        self.class_specific_context = bool(class_specific_context)
        placeholder = backbone.word_ids(PLACEHOLDER_WORD)
        self._context_ids = init_ids if init_ids is not None else placeholder * self.n_ctx
        ctx_shape = (
            (len(classnames), self.n_ctx, backbone.width)
            if class_specific_context
            else (self.n_ctx, backbone.width)
        )
        device = backbone.text_tower.token_embedding.weight.device
        if init_ids is not None:
            ctx = backbone.embed_tokens(torch.tensor(init_ids, device=device)).detach().clone().float()
            ctx = ctx.expand(ctx_shape).clone()
        else:
            ctx = torch.randn(ctx_shape, device=device) * init_std
        self.ctx = nn.Parameter(ctx)
        self.set_classnames(classnames)

    def set_classnames(self, classnames: Sequence[str]) -> None:
        if self.class_specific_context and len(classnames) != self.ctx.shape[0]:
            raise ValueError(
                f"class-specific context was learned for {self.ctx.shape[0]} classes and cannot serve "
                f"{len(classnames)} classes; use shared context (class_specific_context=False) for base→new"
            )
        backbone = self._backbone
        token_ids, context_slot, eot_index = layout_prompts(
            backbone, classnames, self._context_ids, self.class_token_position
        )
        device = backbone.text_tower.token_embedding.weight.device
        with torch.no_grad():
            token_embeddings = backbone.embed_tokens(token_ids.to(device))
        self.register_buffer("token_ids", token_ids.to(device), persistent=False)
        self.register_buffer("token_embeddings", token_embeddings, persistent=False)
        self.register_buffer("context_slot", context_slot.to(device), persistent=False)
        self.register_buffer("eot_index", eot_index.to(device), persistent=False)

    @property
    def prompt_length(self) -> int:
        """Positions up to and including the latest eot; later ones never reach the output (causal mask)."""
        return int(self.eot_index.max()) + 1

    @property
    def encoding_length(self) -> int:
        """Positions to send through the text encoder: ``prompt_length`` unless truncation is switched off."""
        return self.prompt_length if self._backbone.truncate_text else self.token_embeddings.shape[1]

    def forward(
        self, length: int | None = None, context: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompt embeddings [C, length, W] and eot index [C]; ``length`` defaults to the full context.

        ``context`` [..., n_ctx, W] stands in for the learned ``ctx`` (e.g. CoCoOp's per-image context
        ctx + π(x)); the prompts are then [..., C, length, W], one set per leading index.
        """
        length = self.token_embeddings.shape[1] if length is None else length
        context_slot = self.context_slot[:, :length]
        fixed = self.token_embeddings[:, :length]
        is_context = (context_slot >= 0).unsqueeze(-1)
        slot = context_slot.clamp(min=0)
        if context is not None:
            if self.class_specific_context:
                raise ValueError(
                    "a per-call context replaces shared context only, not class-specific context"
                )
            if context.dim() < 2 or tuple(context.shape[-2:]) != tuple(self.ctx.shape):
                raise ValueError(
                    f"context must be [..., {self.n_ctx}, {self.ctx.shape[-1]}], got {tuple(context.shape)}"
                )
            return torch.where(is_context, context.to(fixed.dtype)[..., slot, :], fixed), self.eot_index
        ctx = self.ctx.to(fixed.dtype)
        if self.class_specific_context:
            rows = torch.arange(slot.shape[0], device=slot.device).unsqueeze(1)
            context_at = ctx[rows, slot]
        else:
            context_at = ctx[slot]
        return torch.where(is_context, context_at, fixed), self.eot_index
