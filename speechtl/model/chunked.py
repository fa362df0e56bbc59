"""Running a CTC model over audio of any length: chunked, batched, streamed from a file.

Audio longer than ``chunk_length_s`` seconds is cut into overlapping chunks. Each
chunk sees ``stride_length_s`` seconds of context on either side, and only the
frames of its middle are kept, so every output frame is computed once with
context and the joined log-probabilities have no duplicated or missing words.
Transcription, evaluation, segmentation and pseudo-labelling all run the model here.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import soundfile as sf
import torch

from ..constants import DEFAULT_BATCH_SIZE
from ..data.audio import audio_info, normalize_waveform, prepare
from ..errors import AudioError, SettingError
from .bundle import Bundle
from .inference import batch_logits, min_samples

DEFAULT_CHUNK_LENGTH_S = 20.0  # seconds of audio per forward pass
DEFAULT_STRIDE_LENGTH_S = 2.0  # seconds of context each side of a chunk, computed but not kept


def check_chunking(chunk_length_s: float, stride_length_s: float) -> None:
    """Chunks must keep a middle between their two strides of context."""
    if not chunk_length_s > 2 * stride_length_s >= 0:
        raise SettingError(f"the chunk length ({chunk_length_s} s) must exceed twice the stride length "
                           f"({stride_length_s} s, at least 0)")


@dataclass(frozen=True)
class _Piece:
    item: int  # which input waveform
    start: int  # first sample
    stop: int  # one past the last sample
    keep_from: int  # first global frame this piece contributes
    keep_to: int | None  # one past its last contributed frame; None: to its end


class AcousticModel:
    """A CTC model ready for inference: on its device and precision, in eval mode, run in
    batches, on audio longer than ``chunk_length_s`` chunk by chunk (overlapping chunks,
    each seeing ``stride_length_s`` of context either side; only their middles are kept,
    so every frame is computed once with context and nothing is duplicated or lost).

        acoustic = AcousticModel(load_pretrained("runs/legal/model/best"))
        logprobs = acoustic.logits(waves)                    # 16 kHz mono, any lengths
        logprobs, seconds = acoustic.stream_logits("hearing.wav")   # memory flat in the length
    """

    def __init__(self, bundle: Bundle, device: str | torch.device | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, chunk_length_s: float = DEFAULT_CHUNK_LENGTH_S,
                 stride_length_s: float = DEFAULT_STRIDE_LENGTH_S,
                 int8: bool = False, half: bool = False) -> None:
        """``int8``: quantized encoder layers (CPU). ``half``: float16 weights (GPU).
        The caller's ``bundle`` is left as it was: where the model must move, change
        precision or leave training mode, it works on its own copy."""
        check_chunking(chunk_length_s, stride_length_s)
        if batch_size < 1:
            raise SettingError(f"the batch size must be at least 1, not {batch_size}")
        self.device = torch.device(device) if device else (
            torch.device("cuda") if torch.cuda.is_available() and not int8 else next(bundle.model.parameters()).device)
        if int8:
            if self.device.type != "cpu":
                raise ValueError("int8 quantization runs on the CPU; use half precision on a GPU")
            from .quantize import quantize_int8

            bundle = quantize_int8(bundle)  # a copy already
        else:
            param = next(bundle.model.parameters())
            if half or bundle.model.training or param.device != self.device:
                bundle = replace(bundle, model=copy.deepcopy(bundle.model))
        bundle.model.to(self.device).eval()
        if half:
            bundle.model.half()
        self.bundle = bundle
        self.batch_size = batch_size
        hop = round(bundle.frame_shift * bundle.sampling_rate)  # samples per output frame
        self.hop_samples = hop
        self.chunk_samples = max(1, round(chunk_length_s * bundle.sampling_rate / hop)) * hop
        self.stride_samples = max(1, round(stride_length_s * bundle.sampling_rate / hop)) * hop
        self.min_samples = min_samples(bundle)

    def check_length(self, wave: np.ndarray, name: str) -> np.ndarray:
        """``wave`` when the model can run on it; AudioError (the clip is skipped) when too short."""
        if len(wave) < self.min_samples:
            rate = self.bundle.sampling_rate
            raise AudioError(f"{name}: {1000 * len(wave) / rate:.0f} ms of audio is too short for the model "
                             f"(it needs at least {1000 * self.min_samples / rate:.0f} ms)")
        return wave

    def plan(self, item: int, num_samples: int) -> list[_Piece]:
        """Chunk boundaries (multiples of the frame hop) for one waveform."""
        if num_samples <= self.chunk_samples:
            return [_Piece(item, 0, num_samples, 0, None)]
        step = self.chunk_samples - 2 * self.stride_samples
        starts = [0]
        while starts[-1] + self.chunk_samples < num_samples:
            starts.append(starts[-1] + step)
        pieces = []
        for k, start in enumerate(starts):
            last = k == len(starts) - 1
            keep_from = 0 if k == 0 else (start + self.stride_samples) // self.hop_samples
            keep_to = None if last else (starts[k + 1] + self.stride_samples) // self.hop_samples
            pieces.append(_Piece(item, start, num_samples if last else start + self.chunk_samples, keep_from, keep_to))
        return pieces

    def logits(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Log-probabilities per waveform; long ones computed chunk by chunk."""
        # Normalize each whole input once, so its chunks share one set of statistics
        # and a chunked decode matches an unchunked one.
        if self.bundle.normalize_audio:
            waves = [normalize_waveform(w) for w in waves]
        pieces = [p for i, w in enumerate(waves) for p in self.plan(i, len(w))]
        pieces.sort(key=lambda p: p.stop - p.start)  # batch similar lengths: little padding
        outputs: dict[_Piece, np.ndarray] = {}
        for b in range(0, len(pieces), self.batch_size):
            batch = pieces[b:b + self.batch_size]
            for piece, lp in zip(batch, batch_logits(self.bundle, [waves[p.item][p.start:p.stop] for p in batch], self.device,
                                                       normalize=False)):
                first = piece.start // self.hop_samples  # global index of this piece's first frame
                lo = piece.keep_from - first
                hi = None if piece.keep_to is None else piece.keep_to - first
                outputs[piece] = lp[lo:hi]
        joined = []
        for i in range(len(waves)):
            parts = sorted((p for p in outputs if p.item == i), key=lambda p: p.start)
            joined.append(np.concatenate([outputs[p] for p in parts], axis=0))
        return joined

    def stream_logits(self, path: str | os.PathLike[str]) -> tuple[np.ndarray, float]:
        """Log-probabilities of a long file read chunk by chunk: memory stays flat in its
        length. Returns them with the duration in seconds."""
        info = audio_info(path)
        sr = self.bundle.sampling_rate
        num_samples = int(info.num_samples * sr / info.sampling_rate)
        mean, std = _file_stats(path) if self.bundle.normalize_audio else (0.0, 1.0)
        pieces = self.plan(0, num_samples)
        out = []
        for b in range(0, len(pieces), self.batch_size):
            batch = pieces[b:b + self.batch_size]
            waves = []
            for p in batch:
                start = int(p.start * info.sampling_rate / sr)
                stop = min(info.num_samples, int(np.ceil(p.stop * info.sampling_rate / sr)))
                try:
                    data, rate = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=True)
                except (RuntimeError, sf.LibsndfileError) as exc:
                    raise AudioError(f"{path}: cannot decode audio at {start / info.sampling_rate:.1f}s ({exc})") \
                        from None
                wave = prepare(data, rate, sr, name=str(path))[: p.stop - p.start]
                wave = np.pad(wave, (0, p.stop - p.start - len(wave)))  # resampling may lose a sample
                waves.append(((wave - mean) / std).astype(np.float32))
            for p, lp in zip(batch, batch_logits(self.bundle, waves, self.device, normalize=False)):
                first = p.start // self.hop_samples
                out.append(lp[p.keep_from - first: None if p.keep_to is None else p.keep_to - first])
        return np.concatenate(out, axis=0), num_samples / sr


def _file_stats(path: str | os.PathLike[str], block: int = 1 << 20) -> tuple[float, float]:
    """Mean and standard deviation of a file's mono signal, read block by block."""
    total = total_sq = 0.0
    count = 0
    try:
        for data in sf.blocks(str(path), blocksize=block, dtype="float64", always_2d=True):
            mono = data.mean(axis=1)
            total += float(mono.sum())
            total_sq += float((mono ** 2).sum())
            count += len(mono)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioError(f"{path}: cannot decode audio ({exc})") from None
    mean = total / max(count, 1)
    return mean, float(np.sqrt(max(total_sq / max(count, 1) - mean ** 2, 0.0) + 1e-7))
