"""CTC forced alignment: where each word of a given transcript sits in a model's frames.

Another recognizer's transcript (Whisper's, in the two-pass decoder) carries no frame
times; term spotting needs them to score a term against the span it would replace.
The Viterbi path of the transcript's characters through the CTC posteriors gives each
word its first and last frame.

    words = align_words(logprobs, "the court held a daubert hearing", alphabet)
    # [("the", (3, 9)), ("court", (11, 24)), ...]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..alphabet import Alphabet
from .greedy import Word

NEG_INF = -1e30
FrameWord = tuple[str, tuple[int, int]]  # a word and its (start, end) frames, end exclusive


def viterbi_states(logprobs: np.ndarray, ids: Sequence[int], blank: int) -> np.ndarray:
    """Best CTC path of ``ids`` through ``logprobs`` (frames, vocab): for each frame, its
    state in the blank-interleaved label sequence (odd states are the labels)."""
    frames = len(logprobs)
    ext = np.full(2 * len(ids) + 1, blank, dtype=np.int64)
    ext[1::2] = ids
    states = len(ext)
    # a label may be reached from two states back unless it repeats the label before it
    skip = np.zeros(states, dtype=bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    score = np.full(states, NEG_INF)
    score[0] = logprobs[0, blank]
    if states > 1:
        score[1] = logprobs[0, ext[1]]
    back = np.zeros((frames, states), dtype=np.int8)  # 0 stay, 1 step, 2 jump
    for t in range(1, frames):
        stay = score
        step = np.concatenate(([NEG_INF], score[:-1]))
        jump = np.where(skip, np.concatenate(([NEG_INF, NEG_INF], score[:-2])), NEG_INF)
        moves = np.stack([stay, step, jump])
        best = moves.argmax(axis=0)
        score = moves[best, np.arange(states)] + logprobs[t, ext]
        back[t] = best
    state = states - 1 if states == 1 or score[-1] >= score[-2] else states - 2
    path = np.empty(frames, dtype=np.int64)
    for t in range(frames - 1, -1, -1):
        path[t] = state
        state -= int(back[t, state])
    return path


def align_words(logprobs: np.ndarray, text: str, alphabet: Alphabet) -> list[FrameWord] | None:
    """Each word of a normalized ``text`` with its (start, end) frames; None when the
    text cannot fit the frames (more labels than CTC can emit)."""
    words = text.split()
    if not words:
        return []
    joined = " ".join(words)
    ids = alphabet.encode(joined)
    repeats = sum(1 for a, b in zip(ids, ids[1:]) if a == b)
    if len(ids) + repeats > len(logprobs):
        return None
    path = viterbi_states(np.asarray(logprobs, dtype=np.float64), ids, alphabet.blank_id)
    word_of_label = np.cumsum([ch == " " for ch in joined])  # word index of each character
    is_letter = np.array([ch != " " for ch in joined])
    spans: dict[int, list[int]] = {}
    for t, state in enumerate(path):
        if state % 2 == 1 and is_letter[state // 2]:
            w = int(word_of_label[state // 2])
            span = spans.setdefault(w, [t, t + 1])
            span[1] = t + 1
    out: list[FrameWord] = []
    for i, word in enumerate(words):
        start, end = spans[i]
        out.append((word, (start, end)))
    return out


def align_segments(logprobs: np.ndarray, segments: Sequence[tuple[float, float, str]], alphabet: Alphabet,
                   frame_shift: float) -> list[Word]:
    """Timed segments of a recording ((start s, end s, normalized text), as a recognizer's
    long-form decoding writes them) as words timed on the CTC frames: each segment's words
    aligned within its span, spread evenly over it where they do not fit."""
    words: list[Word] = []
    for start, end, text in segments:
        if not text:
            continue
        first = min(len(logprobs) - 1, max(0, int(start / frame_shift)))
        last = min(len(logprobs), max(first + 1, int(np.ceil(end / frame_shift))))
        aligned = align_words(logprobs[first:last], text, alphabet)
        if not aligned:
            step = (last - first) / len(text.split())
            aligned = [(w, (round(i * step), round((i + 1) * step))) for i, w in enumerate(text.split())]
        words += [Word(w, round((first + s) * frame_shift, 3), round((first + e) * frame_shift, 3))
                  for w, (s, e) in aligned]
    return words


def frame_words(words: Sequence[Word], frame_shift: float) -> list[FrameWord]:
    """Words timed in seconds as words with frame spans (each at least one frame)."""
    out = []
    for w in words:
        start = round(w.start / frame_shift)
        out.append((w.word, (start, max(round(w.end / frame_shift), start + 1))))
    return out
