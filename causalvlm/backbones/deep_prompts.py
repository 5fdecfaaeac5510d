"""Layer-by-layer forward of an open_clip transformer with prompt tokens set at chosen depths.

MaPLe-style deep prompts need the hidden states of a few token positions to be *replaced* before each of the
first J blocks. open_clip's ``Transformer.forward`` runs its blocks in one loop with no hook for that, so
:func:`run_blocks` iterates the same ``transformer.resblocks`` itself (the blocks are open_clip's own modules,
called exactly as open_clip calls them) and, before block i for i = 1..J−1, writes

    h_i[:, p : p + n] = P_i          (P_i the deep prompt of depth i, n its token count, p the first position)

Block 0's input carries the shallow prompt already (the caller puts it into the embeddings). Attention
masks, open_clip's ``batch_first`` flag and its ``grad_checkpointing`` switch are honoured as in
``Transformer.forward``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint


def check_prompt_shape(prompt: torch.Tensor, batch: int, width: int, what: str) -> int:
    """Token count n of a prompt [n, width] (shared by all rows) or [batch, n, width]; else ValueError."""
    rows = prompt.unsqueeze(0) if prompt.dim() == 2 else prompt
    if rows.dim() != 3 or rows.shape[-1] != width or rows.shape[0] not in (1, batch):
        raise ValueError(f"{what} must be [n, {width}] or [{batch}, n, {width}], got {tuple(prompt.shape)}")
    return int(rows.shape[1])


def check_deep_prompts(
    deep_prompts: Sequence[torch.Tensor], num_layers: int, batch: int, width: int, what: str
) -> int:
    """Number of prompt tokens n shared by every depth; ValueError naming the fault otherwise.

    Each prompt is [n, width] (one for every row) or [batch, n, width] (one per row). At most
    ``num_layers − 1`` prompts fit: depth i ∈ 1..J−1 replaces the input of block i, and block 0 takes the
    shallow prompt.
    """
    if len(deep_prompts) > num_layers - 1:
        raise ValueError(
            f"{len(deep_prompts)} deep prompts given for the {what}, which has {num_layers} layers; "
            f"at most {num_layers - 1} fit (depths 1..{num_layers - 1})"
        )
    counts = {
        check_prompt_shape(prompt, batch, width, f"deep prompt of depth {depth} for the {what}")
        for depth, prompt in enumerate(deep_prompts, start=1)
    }
    if len(counts) > 1:
        raise ValueError(
            f"deep prompts for the {what} must all have the same token count, got {sorted(counts)}"
        )
    return counts.pop() if counts else 0


def replace_positions(x: torch.Tensor, prompt: torch.Tensor, start: int, seq_dim: int) -> torch.Tensor:
    """x with positions start..start+n along ``seq_dim`` set to ``prompt`` ([n, W] or [N, n, W])."""
    if prompt.dim() == 2:
        prompt = prompt.unsqueeze(0)
    n = prompt.shape[1]
    batch = x.shape[1 - seq_dim]
    prompt = prompt.to(x.dtype).expand(batch, -1, -1)
    if seq_dim == 0:  # open_clip transformer built with batch_first=False: [L, N, W]
        prompt = prompt.transpose(0, 1)
    before = x.narrow(seq_dim, 0, start)
    after = x.narrow(seq_dim, start + n, x.shape[seq_dim] - start - n)
    return torch.cat([before, prompt, after], dim=seq_dim)


def run_blocks(
    transformer: Any,  # open_clip's Transformer (duck-typed: resblocks, batch_first, grad_checkpointing)
    x: torch.Tensor,
    attn_mask: torch.Tensor | None,
    deep_prompts: Sequence[torch.Tensor],
    start: int,
) -> torch.Tensor:
    """open_clip ``transformer`` on x [N, L, W] (batch-first), prompt i−1 put at ``start`` before block i.

    With no deep prompts this computes exactly ``transformer(x, attn_mask=attn_mask)``.
    """
    batch_first = getattr(transformer, "batch_first", True)
    seq_dim = 1
    if not batch_first:
        x = x.transpose(0, 1).contiguous()
        seq_dim = 0
    checkpointing = bool(getattr(transformer, "grad_checkpointing", False))
    for index, block in enumerate(transformer.resblocks):
        if 1 <= index <= len(deep_prompts):
            x = replace_positions(x, deep_prompts[index - 1], start, seq_dim)
        if checkpointing and torch.is_grad_enabled():
            x = checkpoint(partial(block, attn_mask=attn_mask), x, use_reentrant=False)
        else:
            x = block(x, attn_mask=attn_mask)
    return x if batch_first else x.transpose(0, 1)
