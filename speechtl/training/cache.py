"""Frozen-prefix caching: compute the frozen bottom of the model once per utterance.

With the feature encoder and the lower layers frozen, every epoch recomputes the
same numbers below the first trainable layer. :class:`PrefixCache` stores them as
float16 ``.npy`` files (read back memory-mapped) under a folder named by a
fingerprint of everything that determines them: the frozen weights, the cut point,
the model family and the audio preprocessing. Change the checkpoint or the freeze
policy and the fingerprint changes, so stale features are never read; each file's
name hashes its audio file's path, size, modification time, offset and duration.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..alphabet import Alphabet
from ..constants import DEFAULT_BATCH_SIZE, FRAMES_PER_SECOND
from ..data.dataset import Example, pad_waveforms
from ..data.manifest import ManifestEntry, load_entry
from ..errors import AudioError, SpeechtlError
from ..fileio import atomic_path
from ..model.freeze import model_blocks
from ..model.loader import Bundle
from ..model.split import prefix

log = logging.getLogger(__name__)

DEFAULT_MAX_GB = 20.0


class PrefixCache:
    def __init__(self, bundle: Bundle, k: int, root: str | os.PathLike[str], max_gb: float = DEFAULT_MAX_GB) -> None:
        self.bundle = bundle
        self.k = k
        self.max_bytes = int(max_gb * 1e9)
        self.dir = Path(root) / fingerprint(bundle, k)

    def path(self, entry: ManifestEntry) -> Path:
        stat = os.stat(entry.audio_filepath)
        key = f"{Path(entry.audio_filepath).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{entry.offset}|" \
              f"{entry.duration if entry.offset is not None else ''}"
        digest = hashlib.sha1(key.encode()).hexdigest()[:24]
        return self.dir / digest[:2] / f"{digest}.npy"

    def estimated_bytes(self, entries: Sequence[ManifestEntry]) -> int:
        dim = self.bundle.model.config.d_model if hasattr(self.bundle.model.config, "d_model") \
            else self.bundle.model.config.hidden_size
        return int(sum(e.duration for e in entries) * FRAMES_PER_SECOND * dim * 2)

    def fits(self, entries: Sequence[ManifestEntry]) -> bool:
        return self.estimated_bytes(entries) <= self.max_bytes

    @torch.no_grad()
    def fill(self, entries: Sequence[ManifestEntry], batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = True,
             strict: bool = False) -> int:
        """Compute what is missing; return how many utterances were computed. Audio that
        fails to load is logged and left out (an error with ``strict``)."""
        missing = [e for e in entries if not self.has(e) and os.path.exists(e.audio_filepath)]
        if not missing:
            return 0
        model = self.bundle.model
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        missing.sort(key=lambda e: e.duration)
        done = 0
        for i in tqdm(range(0, len(missing), batch_size), desc="cache frozen prefix",
                      disable=None if progress else True):
            batch, waves = [], []
            for e in missing[i:i + batch_size]:
                try:
                    waves.append(load_entry(e, self.bundle.sampling_rate))
                    batch.append(e)
                except AudioError as exc:
                    if strict:
                        raise SpeechtlError(f"{e.id}: {exc}") from None
                    log.warning("skipping %s: %s", e.id, exc)
            if not batch:
                continue
            values, mask = pad_waveforms(waves, self.bundle.normalize_audio)
            hidden, frames = prefix(model, values.to(device), mask.to(device) if self.bundle.uses_attention_mask
                                    else None, self.k)
            lengths = frames.sum(-1).tolist()
            for e, h, n in zip(batch, hidden, lengths):
                path = self.path(e)
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    with open(tmp, "wb") as f:
                        np.save(f, h[:n].to(torch.float16).cpu().numpy())
                done += 1
        model.train(was_training)
        return done

    def load(self, entry: ManifestEntry) -> np.ndarray:
        return np.load(self.path(entry), mmap_mode="r")

    def has(self, entry: ManifestEntry) -> bool:
        try:
            return self.path(entry).is_file()
        except OSError:
            return False


def fingerprint(bundle: Bundle, k: int) -> str:
    """Hash of what determines the prefix output: frozen weights, cut point, preprocessing."""
    model = bundle.model
    blocks = model_blocks(model)
    names = ["feature_encoder", "feature_projection", "positional"] + [f"layers.{i}" for i in range(k)]
    h = hashlib.sha1(f"{bundle.family}|{k}|{bundle.sampling_rate}|{bundle.normalize_audio}".encode())
    for name in names:
        for module in blocks[name]:
            for tensor in list(module.parameters()) + list(module.buffers()):
                h.update(tensor.detach().to(torch.float32).cpu().numpy().tobytes())
    return h.hexdigest()[:16]


class CachedDataset(Dataset):
    def __init__(self, entries: Sequence[ManifestEntry], cache: PrefixCache, alphabet: Alphabet) -> None:
        self.entries = [e for e in entries if cache.has(e)]  # utterances whose audio failed are left out
        self.cache = cache
        self.alphabet = alphabet

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> Example:
        e = self.entries[index]
        return Example(e.id, self.cache.load(e), self.alphabet.encode(e.text))
