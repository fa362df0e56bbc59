"""One training forward: the loss of a batch, through the whole model or, when the
frozen bottom is cached, from its cached outputs (model/split.py, cache.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import torch
import torch.distributed as dist

from ..data.dataset import SpeechDataset
from ..data.manifest import ManifestEntry
from ..model.ctc import ctc_loss
from ..model.adapters import family_of
from ..model.loader import Bundle
from ..model.specaugment import spec_augment
from ..model.split import first_trainable_layer, suffix
from .cache import CachedDataset, PrefixCache
from .config import TrainConfig

log = logging.getLogger(__name__)


class FullStep(torch.nn.Module):
    """One training forward through the whole model: the loss of a waveform batch."""

    def __init__(self, model: torch.nn.Module, use_mask: bool) -> None:
        super().__init__()
        self.model, self.use_mask = model, use_mask

    def forward(self, batch: dict) -> torch.Tensor:
        device = next(self.model.parameters()).device
        mask = batch["mask"].long().to(device) if self.use_mask else None
        return self.model(input_values=batch["inputs"].to(device), attention_mask=mask,
                          labels=batch["labels"].to(device)).loss


class SuffixStep(torch.nn.Module):
    """One training forward from cached prefix outputs: SpecAugment at the cut, then
    the trainable layers, the head and the CTC loss."""

    def __init__(self, model: torch.nn.Module, k: int) -> None:
        super().__init__()
        self.model, self.k = model, k

    def forward(self, batch: dict) -> torch.Tensor:
        device = next(self.model.parameters()).device
        hidden, frames = batch["inputs"].to(device), batch["mask"].to(device)
        hidden = mask_hidden(self.model, hidden, frames)
        logits = suffix(self.model, hidden, frames, self.k)
        return ctc_loss(logits, frames, batch["labels"].to(device), self.model.config)


def mask_hidden(model: torch.nn.Module, hidden: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """SpecAugment on hidden states: time spans get the learned mask vector (zeros where
    the model has none), channel bands get zeros. Only in training mode."""
    if not model.training or not getattr(model.config, "apply_spec_augment", False):
        return hidden
    vector = family_of(model).mask_vector(model)
    return spec_augment(hidden, model.config, time_dim=1, valid=frames, time_value=vector)


def data_and_step(bundle: Bundle, entries: Sequence[ManifestEntry], config: TrainConfig, rank: int, world: int,
                   device: torch.device):
    """Dataset and step module: cached when the prefix is frozen."""
    model = bundle.model
    k = first_trainable_layer(model) if config.cache_prefix else None
    if k is not None:
        cache = PrefixCache(bundle, k, config.cache_dir or Path(config.output_dir) / "prefix-cache",
                            config.cache_max_gb)
        if cache.fits(entries):
            if rank == 0:
                computed = cache.fill(entries, config.eval_batch_size, config.progress, config.strict)
                log.info("frozen prefix (below layer %d) cached for %d utterances (%d new) in %s",
                         k, len(entries), computed, cache.dir)
            if world > 1:
                dist.barrier()
            return CachedDataset(entries, cache, bundle.alphabet), SuffixStep(model, k)
        log.warning("prefix cache would exceed %.0f GB: training without it", config.cache_max_gb)
    dataset = SpeechDataset(entries, bundle.alphabet, bundle.sampling_rate, normalize=bundle.normalize_audio,
                            strict=config.strict)
    return dataset, FullStep(model, bundle.uses_attention_mask)


def configure_model(model: torch.nn.Module, config: TrainConfig) -> None:
    c = model.config
    c.mask_time_prob = config.mask_time_prob
    c.mask_time_length = config.mask_time_length
    c.mask_feature_prob = config.mask_feature_prob
    c.mask_feature_length = config.mask_feature_length
    c.layerdrop = config.layerdrop
    c.apply_spec_augment = config.mask_time_prob > 0 or config.mask_feature_prob > 0
    family_of(model).configure_training(model, config.layerdrop)
