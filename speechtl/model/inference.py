"""Running a CTC model on a batch of waveforms: padding, masks, output lengths."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..data.dataset import pad_waveforms
from .adapters import family_of
from .bundle import Bundle
from . import hf
from .family import unwrap


def min_samples(bundle: Bundle) -> int:
    """The shortest input (samples) the model gives at least one frame for: Wav2Vec2's
    convolutions need 400 samples (25 ms at 16 kHz); Whisper's spectrogram pads 200 each side."""
    lo, hi = 1, bundle.sampling_rate  # one second always gives frames
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if output_lengths(bundle, [mid])[0] >= 1 else (mid + 1, hi)
    return max(lo, family_of(bundle.model).shortest_input)


def output_lengths(bundle: Bundle, num_samples: Sequence[int]) -> list[int]:
    model = unwrap(bundle.model)
    lengths = hf.output_lengths(model, torch.tensor(list(num_samples)))
    return [int(n) for n in lengths]


@torch.inference_mode()
def batch_logits(bundle: Bundle, waves: Sequence[np.ndarray], device: torch.device | str | None = None,
                 normalize: bool | None = None) -> list[np.ndarray]:
    """Log-probabilities (frames, vocab) for each waveform, padding frames cut off.

    ``normalize``: default as the model family wants; False when the caller already
    normalized (chunks of one file share the whole file's statistics)."""
    model = bundle.model
    device = device or next(model.parameters()).device
    values, mask = pad_waveforms(waves, bundle.normalize_audio if normalize is None else normalize)
    dtype = next(model.parameters()).dtype
    kwargs = {"attention_mask": mask.to(device)} if bundle.uses_attention_mask else {}
    logits = model(values.to(device, dtype), **kwargs).logits
    logprobs = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
    lengths = output_lengths(bundle, [len(w) for w in waves])
    return [logprobs[i, : lengths[i]] for i in range(len(waves))]
