"""Short clips packed into one Whisper window, and the window's words split back per clip.

Whisper's encoder always reads 30 seconds: a 4-second clip alone pays for 26 seconds of
padding, four fifths of Whisper's time on the legal test's clips. Packed, consecutive
clips share a window (with ``PACK_GAP_S`` of silence between them, blank frames in the
CTC log-probabilities), and the two-pass's window decoding (decode/twopass.py) writes,
spots and judges them together. The words come back to their clips by their CTC frames,
which the two-pass aligns anyway.

    groups = pack([3.1, 4.0, 12.5, 27.0], window_s=28.0)      # [[0, 1, 2], [3]]
    packed = join(waves, logprobs, frame_shift, alphabet.blank_id, alphabet.delimiter_id)
    hyps = split(window_words, packed, frame_shift)             # one Hypothesis per clip
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..constants import SAMPLE_RATE
from .greedy import Hypothesis, Word

PACK_GAP_S = 0.6  # silence between packed clips: a pause between sentences, as Whisper hears them
GAP_LOGPROB = -30.0  # every symbol but the blank (and one word delimiter) in a gap's frames


@dataclass(frozen=True)
class Packed:
    """Clips joined: the audio, the CTC log-probabilities, and each clip's first frame."""

    wave: np.ndarray
    logprobs: np.ndarray
    starts: tuple[int, ...]  # frames


def pack(durations: Sequence[float], window_s: float, gap_s: float = PACK_GAP_S) -> list[list[int]]:
    """Consecutive clips (indices) grouped so that each group, gaps included, lasts at most
    ``window_s`` seconds; a clip longer than that is a group of its own."""
    groups: list[list[int]] = []
    length = 0.0
    for i, seconds in enumerate(durations):
        if groups and length + gap_s + seconds <= window_s:
            groups[-1].append(i)
            length += gap_s + seconds
        else:
            groups.append([i])
            length = seconds
    return groups


def join(waves: Sequence[np.ndarray], logprobs: Sequence[np.ndarray], frame_shift: float, blank_id: int,
         delimiter_id: int, gap_s: float = PACK_GAP_S) -> Packed:
    """The clips one after another with ``gap_s`` of silence between: blank frames with a
    word delimiter in their middle (the last word of a clip and the first of the next are
    two words)."""
    gap_frames = round(gap_s / frame_shift)
    gap_wave = np.zeros(round(gap_frames * frame_shift * SAMPLE_RATE), np.float32)
    vocab = np.asarray(logprobs[0]).shape[1]
    gap_lp = np.full((gap_frames, vocab), GAP_LOGPROB, np.float32)
    gap_lp[:, blank_id] = 0.0
    gap_lp[gap_frames // 2] = GAP_LOGPROB
    gap_lp[gap_frames // 2, delimiter_id] = 0.0
    audio, frames, starts, at = [], [], [], 0
    for i, (wave, lp) in enumerate(zip(waves, logprobs)):
        if i:
            audio.append(gap_wave)
            frames.append(gap_lp)
            at += gap_frames
        starts.append(at)
        audio.append(np.asarray(wave, np.float32))
        frames.append(np.asarray(lp, np.float32))
        at += len(lp)
    return Packed(np.concatenate(audio), np.concatenate(frames), tuple(starts))


def split(words: Sequence[Word], packed: Packed, frame_shift: float) -> list[Hypothesis]:
    """Each clip's words (the window's words, timed on its frames, given back by the frame
    in their middle), with times from the clip's own start."""
    bounds = np.asarray(packed.starts[1:]) * frame_shift  # seconds where each clip after the first begins
    per_clip: list[list[Word]] = [[] for _ in packed.starts]
    for w in words:
        i = int(np.searchsorted(bounds, (w.start + w.end) / 2, side="right"))
        offset = packed.starts[i] * frame_shift
        per_clip[i].append(Word(w.word, round(max(w.start - offset, 0.0), 3), round(max(w.end - offset, 0.0), 3)))
    return [Hypothesis(" ".join(w.word for w in ws), tuple(ws)) for ws in per_clip]
