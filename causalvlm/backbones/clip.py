"""A frozen CLIP over open_clip, with a text path that starts from prompt *embeddings*.

Soft-prompt methods (CoOp, VSD) learn context vectors that live in the token-embedding space, so the text
encoder must accept embeddings rather than token ids. :meth:`FrozenCLIP.encode_text_embeddings` runs the same
steps as open_clip's ``CLIP.encode_text`` after the embedding lookup:

    x = prompts + E_pos;  x = Transformer(x, causal mask);  x = LN(x);  t = x[eot] · W_proj

Because the attention mask is causal, positions after the end-of-text (eot) token never influence the eot
output, so the transformer runs only up to ``max(eot) + 1`` (end-of-text truncation).

Deep prompts (MaPLe): both paths accept prompt tokens that are set again before each of the first layers, run
layer by layer over open_clip's own blocks (:mod:`causalvlm.backbones.deep_prompts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from open_clip.transformer import VisionTransformer
from torch import nn

from causalvlm.backbones.deep_prompts import check_deep_prompts, check_prompt_shape, run_blocks
from causalvlm.backbones.loading import (
    build_from_checkpoint,
    build_from_config,
    build_from_pretrained,
    pretrained_source,
)

# Pooling types whose feature is read at one token position we can compute from the token ids.
POSITIONAL_POOL_TYPES = ("argmax", "eos")
RANDOM_INIT_SEED = 0  # the seed of a backbone built without weights (--pretrained none)


class FrozenCLIP(nn.Module):
    """open_clip CLIP with every weight frozen and an embedding-level text path.

    Frozen means: eval mode always (``train()`` is a no-op), ``requires_grad=False`` on every parameter.
    Gradients still flow *through* the encoders to learnable inputs such as prompt context vectors.
    """

    def __init__(self, model: nn.Module, tokenizer: Callable[..., Any], preprocess: Callable | None = None):
        super().__init__()
        # open_clip's models and tokenizers are duck-typed (CLIP, CustomTextCLIP, timm towers, ...): their
        # towers are reached by attribute, so they are typed Any here rather than nn.Module.
        self.model: Any = model
        self.tokenizer: Any = tokenizer
        self.preprocess = preprocess
        self._text_on_model, self.text_pool_type, self._eos_id = _locate_text_tower(model)
        tower = self.text_tower
        self.context_length = int(tower.positional_embedding.shape[0])
        self.width = int(tower.token_embedding.weight.shape[1])
        self.embed_dim = int(_output_dim(tower, self.width))
        size = getattr(model.visual, "image_size", 224)
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.image_mean = tuple(getattr(model.visual, "image_mean", None) or open_clip_default("mean"))
        self.image_std = tuple(getattr(model.visual, "image_std", None) or open_clip_default("std"))
        # End-of-text truncation (see the module docstring); off only to measure what it saves.
        self.truncate_text = True
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        super().train(False)

    @property
    def text_tower(self) -> Any:
        """The module holding token/positional embeddings, transformer, ln_final and text_projection."""
        return self.model if self._text_on_model else self.model.text

    @property
    def text_layers(self) -> int:
        """Number of blocks of the text transformer."""
        return len(self.text_tower.transformer.resblocks)

    # ---- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, arch: str, tag: str, cache_dir: str | None = None) -> FrozenCLIP:
        """Download through open_clip (e.g. ``("ViT-B-16", "openai")``); QuickGELU forced where needed."""
        return cls(*build_from_pretrained(arch, tag, cache_dir=cache_dir))

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, arch: str | Path, quick_gelu: bool | None = None
    ) -> FrozenCLIP:
        """Load a local file: an OpenAI TorchScript archive or a (wrapped / DataParallel) state dict.

        ``arch`` is an open_clip architecture name or a config JSON path. Raises FileNotFoundError for a
        missing file and ValueError naming the file and the mismatched keys for a wrong architecture.
        """
        return cls(*build_from_checkpoint(path, arch, quick_gelu=quick_gelu))

    @classmethod
    def from_config(cls, arch_or_json_path: str | Path) -> FrozenCLIP:
        """Random-init model from a built-in architecture name or an open_clip config JSON (arch = stem)."""
        return cls(*build_from_config(arch_or_json_path))

    def train(self, mode: bool = True) -> FrozenCLIP:
        # A parent module's .train() (e.g. Lightning's) must not switch dropout / patch dropout back on.
        return super().train(False)

    def set_text_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute text-transformer activations in the backward pass instead of storing them.

        Soft prompts need gradients through all text layers for M×C prompts at once; checkpointing trades
        about one extra forward pass for activation memory that no longer grows with the layer count.
        """
        self.text_tower.transformer.grad_checkpointing = bool(enable)

    @property
    def device(self) -> torch.device:
        """Where the weights live (inputs go there)."""
        return self.model.logit_scale.device

    @property
    def logit_scale(self) -> torch.Tensor:
        """exp of the learned log temperature (~100 for trained CLIP), detached."""
        return self.model.logit_scale.detach().exp()

    # ---- image path ---------------------------------------------------------------------------------------
    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """images [B,3,H,W] → features [B,D]."""
        features = self.model.encode_image(images)
        return F.normalize(features, dim=-1) if normalize else features

    @property
    def has_vision_transformer(self) -> bool:
        """True when the image tower is open_clip's ``VisionTransformer`` (tokens that prompts can join)."""
        return isinstance(self.model.visual, VisionTransformer)

    def _vision_transformer(self) -> VisionTransformer:
        visual = self.model.visual
        if not isinstance(visual, VisionTransformer):
            raise ValueError(
                f"the image tower is {type(visual).__name__}, not open_clip's VisionTransformer; vision "
                "prompts need a ViT image tower (e.g. ViT-B-16): a convolutional tower has no tokens to join"
            )
        return visual

    @property
    def vision_width(self) -> int:
        """Token width of the ViT image tower (ValueError for a non-ViT tower)."""
        return int(self._vision_transformer().transformer.width)

    @property
    def vision_layers(self) -> int:
        """Number of blocks of the ViT image tower (ValueError for a non-ViT tower)."""
        return len(self._vision_transformer().transformer.resblocks)

    def encode_image_prompted(
        self,
        images: torch.Tensor,
        prompts: torch.Tensor | None = None,
        deep_prompts: Sequence[torch.Tensor] | None = None,
        normalize: bool = True,
    ) -> torch.Tensor:
        """images [N,3,H,W] with vision prompt tokens → features [N,D] (MaPLe's image side).

        h_0 = [LN_pre(E_img(x)), LN_pre(P_0)]: the n shallow prompt tokens P_0 ([n,width] or [N,n,width]) are
        appended to the class and patch tokens (after the positional embedding, through ln_pre like them);
        before blocks i = 1..J−1 the last n positions are replaced, h_i[:, −n:] = P_i (``deep_prompts``).
        The prompt tokens are dropped before open_clip's own pooling, so f(x) = LN_post(h_L[:, cls]) · W_proj
        as in ``encode_image``; with no prompts this equals ``encode_image`` exactly.
        """
        visual = self._vision_transformer()
        if images.dim() != 4:
            raise ValueError(f"images must be [N,3,H,W], got shape {tuple(images.shape)}")
        width, batch = self.vision_width, images.shape[0]
        deep_prompts = list(deep_prompts or ())
        n_deep = check_deep_prompts(deep_prompts, self.vision_layers, batch, width, "image tower")
        x = visual._embeds(images)  # open_clip: patches + class token + positional embedding → ln_pre
        tokens = x.shape[1]
        if prompts is not None:
            n = check_prompt_shape(prompts, batch, width, "layer-0 vision prompt")
            if deep_prompts and n_deep != n:
                raise ValueError(f"layer-0 vision prompt has {n} tokens but the deep ones have {n_deep}")
            shallow = prompts.unsqueeze(0) if prompts.dim() == 2 else prompts
            x = torch.cat([x, visual.ln_pre(shallow.to(x.dtype)).expand(batch, -1, -1)], dim=1)
        elif deep_prompts:
            raise ValueError("deep vision prompts need the layer-0 prompt they replace (prompts=None given)")
        x = run_blocks(visual.transformer, x, None, deep_prompts, tokens)
        pooled, _ = visual._pool(x[:, :tokens])  # open_clip's pooling on the image tokens alone
        if visual.proj is not None:
            pooled = pooled @ visual.proj
        return F.normalize(pooled, dim=-1) if normalize else pooled

    # ---- tokens -------------------------------------------------------------------------------------------
    @property
    def sot_token_id(self) -> int:
        return int(self.tokenizer.sot_token_id)

    @property
    def eot_token_id(self) -> int:
        return int(self.tokenizer.eot_token_id)

    def word_ids(self, text: str) -> list[int]:
        """BPE ids of ``text`` without start/end tokens (needed to place soft context next to words)."""
        encode = getattr(self.tokenizer, "encode", None)
        if encode is None or not hasattr(self.tokenizer, "sot_token_id"):
            raise ValueError(
                f"tokenizer {type(self.tokenizer).__name__} has no encode()/sot_token_id; "
                "soft prompts need an open_clip SimpleTokenizer-style tokenizer"
            )
        return list(encode(text))

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """texts → LongTensor[N, context_length]; ValueError naming a text longer than the context."""
        if hasattr(self.tokenizer, "encode") and hasattr(self.tokenizer, "sot_token_id"):
            for text in texts:
                length = len(self.word_ids(text)) + 2
                if length > self.context_length:
                    raise ValueError(
                        f"text {text!r} is {length} tokens long; the context length is {self.context_length}"
                    )
        return self.tokenizer(list(texts), context_length=self.context_length)

    def eot_index(self, tokens: torch.Tensor) -> torch.Tensor:
        """Position of the end-of-text token in each row of tokens [N,L].

        For the OpenAI BPE the eot id (49407) is the largest id, so open_clip pools at ``argmax`` of the ids;
        ``eos`` pooling looks for the configured id instead.
        """
        if self.text_pool_type == "argmax":
            return tokens.argmax(dim=-1)
        if self._eos_id is None:
            raise ValueError("eos pooling needs the text tower's end-of-text id, and it names none")
        return tokens.eq(self._eos_id).int().argmax(dim=-1)

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [N,L] → token embeddings [N,L,width] (no positional embedding)."""
        cast_dtype = self.text_tower.transformer.get_cast_dtype()
        return self.text_tower.token_embedding(tokens).to(cast_dtype)

    # ---- text path ----------------------------------------------------------------------------------------
    def encode_text_embeddings(
        self,
        prompts: torch.Tensor,
        eot_index: torch.Tensor,
        truncate: bool | None = None,
        normalize: bool = True,
        deep_prompts: Sequence[torch.Tensor] | None = None,
        deep_start: int = 1,
    ) -> torch.Tensor:
        """Prompt embeddings [N,L,width] → text features [N,D].

        t = LN(Transformer(prompts + E_pos, mask_causal))[eot] · W_proj. With ``truncate``, positions beyond
        L' = max(eot)+1 are dropped together with the matching rows/columns of the causal mask; the result is
        unchanged because no position ≤ eot attends to a later one. ``truncate=None`` follows
        ``self.truncate_text`` (default True). Without a causal mask (bidirectional text
        towers) truncation would change the output, so it is skipped.

        ``deep_prompts`` (MaPLe's deep text prompts P_1..P_{J−1}, each [n,width] or [N,n,width]) replace the
        hidden states of positions ``deep_start .. deep_start+n`` before blocks 1..J−1:
        h_i[:, deep_start : deep_start+n] = P_i. Those positions must lie before every row's eot, so
        truncation is unaffected.
        """
        tower = self.text_tower
        if prompts.dim() != 3 or prompts.shape[-1] != self.width:
            raise ValueError(f"prompts must be [N, L, {self.width}], got {tuple(prompts.shape)}")
        if prompts.shape[1] > self.context_length:
            raise ValueError(
                f"prompts have {prompts.shape[1]} positions; context length is {self.context_length}"
            )
        eot_index = eot_index.to(prompts.device).long()
        deep_prompts = list(deep_prompts or ())
        if deep_prompts:
            n = check_deep_prompts(deep_prompts, self.text_layers, prompts.shape[0], self.width, "text tower")
            if deep_start < 1 or deep_start + n > int(eot_index.min()):
                raise ValueError(
                    f"deep text prompts at positions {deep_start}..{deep_start + n - 1} must lie after the "
                    f"start token and before every end-of-text token (earliest eot at {int(eot_index.min())})"
                )
        truncate = self.truncate_text if truncate is None else truncate
        attn_mask = tower.attn_mask
        length = prompts.shape[1]
        if truncate and attn_mask is not None:
            length = int(eot_index.max()) + 1
        cast_dtype = tower.transformer.get_cast_dtype()
        x = prompts[:, :length].to(cast_dtype) + tower.positional_embedding[:length].to(cast_dtype)
        if attn_mask is not None:
            attn_mask = attn_mask[:length, :length]
        if deep_prompts:
            x = run_blocks(tower.transformer, x, attn_mask, deep_prompts, deep_start)
        else:
            x = tower.transformer(x, attn_mask=attn_mask)
        x = tower.ln_final(x)
        pooled = x[torch.arange(x.shape[0], device=x.device), eot_index]
        projection = tower.text_projection
        if isinstance(projection, nn.Linear):
            pooled = projection(pooled)
        elif projection is not None:
            pooled = pooled @ projection
        return F.normalize(pooled, dim=-1) if normalize else pooled

    def encode_text(self, texts: list[str], normalize: bool = True) -> torch.Tensor:
        """texts → text features [N,D] through the embedding path (equal to open_clip's encode_text)."""
        device = self.text_tower.token_embedding.weight.device
        tokens = self.tokenize(texts).to(device)
        return self.encode_text_embeddings(
            self.embed_tokens(tokens), self.eot_index(tokens), normalize=normalize
        )


def load_backbone(arch: str | Path, pretrained: str | Path | None = None) -> FrozenCLIP:
    """A frozen CLIP from an architecture and ``pretrained`` = None, a checkpoint path or an open_clip tag.

    The one place that turns (``--backbone``, ``--pretrained``) into a model, as open_clip's
    ``create_model(arch, pretrained=tag or path)`` does; ``loading.pretrained_source`` decides between file
    and tag. ``arch`` is an open_clip name or a model-config JSON path.
    """
    source = pretrained_source(pretrained)
    if source == "none":
        # Random init draws from a fixed seed without touching the global RNG: the same command builds the
        # same model in every process, so such runs are reproducible and can be resumed.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            return FrozenCLIP.from_config(arch)
    if source == "file":
        return FrozenCLIP.from_checkpoint(Path(str(pretrained)).expanduser(), arch)
    return FrozenCLIP.from_pretrained(str(arch), str(pretrained))


def _locate_text_tower(model: Any) -> tuple[bool, str, int | None]:
    """(text tower is on the model itself, pool type, eos id) for CLIP or CustomTextCLIP; else ValueError."""
    if hasattr(model, "token_embedding") and hasattr(model, "transformer"):  # open_clip CLIP
        on_model, pool_type, eos_id = True, model.text_pool_type, getattr(model, "text_eos_id", None)
    else:  # CustomTextCLIP with open_clip's own TextTransformer
        tower = getattr(model, "text", None)
        if tower is None or not hasattr(tower, "token_embedding"):
            raise ValueError(
                f"{type(model).__name__} has no open_clip text transformer (HF text towers are unsupported); "
                "FrozenCLIP needs token_embedding / positional_embedding / transformer / ln_final"
            )
        if getattr(tower, "cls_emb", None) is not None:
            raise ValueError(
                "FrozenCLIP does not support text towers with an appended CLS token (CoCa-style)"
            )
        on_model, pool_type, eos_id = False, tower.pool_type, getattr(tower, "eos_id", None)
    if pool_type not in POSITIONAL_POOL_TYPES:
        raise ValueError(
            f"text pool type {pool_type!r} is not supported; FrozenCLIP needs one of {POSITIONAL_POOL_TYPES}"
        )
    return on_model, pool_type, eos_id


def _output_dim(tower: Any, width: int) -> int:
    projection = tower.text_projection
    if isinstance(projection, nn.Linear):
        return projection.out_features
    return width if projection is None else projection.shape[1]


def open_clip_default(which: str) -> tuple[float, ...]:
    from open_clip import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    return OPENAI_DATASET_MEAN if which == "mean" else OPENAI_DATASET_STD
