"""The dev score that decides "best" during training: the acoustic model and greedy
decoding only. An LM, terms or Whisper would make each evaluation slower and the
choice between checkpoints no better, so the decoding stack is not imported here."""

from __future__ import annotations

from typing import Sequence

import torch

from ..data.manifest import ManifestEntry, load_entry
from ..decode.greedy import greedy_decode
from ..metrics import CorpusScore, score
from ..model.bundle import Bundle
from ..model.chunked import AcousticModel


def dev_score(bundle: Bundle, entries: Sequence[ManifestEntry], batch_size: int,
              device: torch.device | str | None = None) -> CorpusScore:
    """WER and CER of greedy decoding on validated ``entries`` (shortest first, so batches
    pad little); the model is left in the mode it was in."""
    was_training = bundle.model.training
    acoustic = AcousticModel(bundle, device=device, batch_size=batch_size)
    order = sorted(entries, key=lambda e: e.duration)
    hyps = {}
    for i in range(0, len(order), batch_size):
        batch = order[i:i + batch_size]
        waves = [acoustic.check_length(load_entry(e, bundle.sampling_rate), e.audio_filepath) for e in batch]
        for e, lp in zip(batch, acoustic.logits(waves)):
            hyps[e.id] = greedy_decode(lp, bundle.alphabet, bundle.frame_shift).text
    bundle.model.train(was_training)
    return score([e.id for e in entries], [e.text for e in entries], [hyps[e.id] for e in entries])
