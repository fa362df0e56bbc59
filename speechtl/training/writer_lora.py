"""Low-rank adapters on the writer (LoRA, Hu et al. 2022, through ``peft``).

    wrapped, trained = add_lora(model, rank=16, alpha=32, encoder_blocks=())
    ... train ``trained`` (the adapters only) ...
    model = merge_lora(wrapped)   # the adapters added into the weights, as before LoRA

Each linear layer of the decoder's blocks (attention projections and feed-forward) gets
a trainable product of two thin matrices beside its frozen weight; the change a step
can make is limited to a low rank. The adapters are merged into the weights before the
export, so the exported writer is an ordinary CTranslate2 folder.
"""

from __future__ import annotations

import warnings
from typing import Iterable

import torch

from ..errors import SpeechtlError

# the linear layers of a block of Whisper's decoder (and of its encoder) that get adapters
_BLOCK_LINEARS = r"(self_attn\.(q|k|v|out)_proj|encoder_attn\.(q|k|v|out)_proj|fc1|fc2)"


def lora_targets(encoder_blocks: Iterable[int] = ()) -> str:
    """The regular expression of the modules that get adapters: every decoder block's
    linear layers and those of the encoder blocks listed."""
    targets = [rf"model\.decoder\.layers\.\d+\.{_BLOCK_LINEARS}"]
    blocks = "|".join(str(i) for i in encoder_blocks)
    if blocks:
        targets.append(rf"model\.encoder\.layers\.({blocks})\.{_BLOCK_LINEARS}")
    return "|".join(f"({t})" for t in targets)


def add_lora(model: torch.nn.Module, rank: int, alpha: float,
             encoder_blocks: Iterable[int] = ()) -> tuple[torch.nn.Module, dict[str, torch.nn.Parameter]]:
    """``model`` with adapters of ``rank`` (scaled by ``alpha / rank``) added in place, and
    the adapters' weights by name (the only weights left trainable)."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as e:
        raise SpeechtlError("writer.lora_rank needs peft: pip install 'speechtl[lora]'") from e
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=lora_targets(encoder_blocks))
    with warnings.catch_warnings():  # peft asks transformers a question it has deprecated
        warnings.simplefilter("ignore", FutureWarning)
        wrapped = get_peft_model(model, config)
    trained = {n: p for n, p in wrapped.named_parameters() if p.requires_grad}
    if not trained:
        raise SpeechtlError("LoRA found no layer to adapt in this Whisper model")
    return wrapped, trained


def merge_lora(wrapped: torch.nn.Module) -> torch.nn.Module:
    """The model under ``wrapped`` with each adapter added into its layer's weight."""
    return wrapped.merge_and_unload()
