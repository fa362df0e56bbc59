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
