"""Greedy (best path) CTC decoding with word timestamps.

Take the most likely symbol per frame, merge repeats, drop blanks. A word starts at
the frame of its first character and ends after the frame of its last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..alphabet import SPECIAL_TOKENS, WORD_DELIMITER, Alphabet


@dataclass(frozen=True)
class Word:
    word: str
    start: float  # seconds
    end: float  # seconds


@dataclass(frozen=True)
class Hypothesis:
    text: str
    words: tuple[Word, ...] = field(default=())


def greedy_decode(
    logits: np.ndarray, alphabet: Alphabet, frame_shift: float, time_offset: float = 0.0
) -> Hypothesis:
    """Decode one utterance's logits, shape (frames, vocab)."""
    ids = np.asarray(logits).argmax(axis=-1)
    return collapse(ids, alphabet, frame_shift, time_offset)


def collapse(ids: np.ndarray, alphabet: Alphabet, frame_shift: float, time_offset: float = 0.0) -> Hypothesis:
    """Best-path ids -> words with times. Repeats merge unless a blank separates them."""
    blank, delim = alphabet.blank_id, alphabet.delimiter_id
    words: list[Word] = []
    chars: list[str] = []
    start = end = 0
    prev = -1
    for frame, sym_id in enumerate(np.asarray(ids).tolist()):
        if sym_id == prev:
            if chars and sym_id not in (blank, delim):
                end = frame  # a character held over several frames
            continue
        prev = sym_id
        symbol = alphabet.symbols[sym_id]
        if sym_id == blank:
            continue
        if sym_id == delim or symbol == WORD_DELIMITER:
            _flush(words, chars, start, end, frame_shift, time_offset)
            chars = []
            continue
        if symbol in SPECIAL_TOKENS:
            continue
        if not chars:
            start = frame
        chars.append(symbol)
        end = frame
    _flush(words, chars, start, end, frame_shift, time_offset)
    return Hypothesis(" ".join(w.word for w in words), tuple(words))


def _flush(words: list[Word], chars: list[str], start: int, end: int, shift: float, offset: float) -> None:
    if chars:
        words.append(Word("".join(chars), round(offset + start * shift, 3), round(offset + (end + 1) * shift, 3)))
