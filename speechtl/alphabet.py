"""The CTC alphabet: which characters a model emits, and their ids.

The layout follows Hugging Face's ``Wav2Vec2CTCTokenizer`` so a saved model reloads
with plain ``transformers``: the CTC blank is the pad token ``<pad>``, the word
delimiter ``|`` stands for the space, and ``<unk>`` exists but is never a target.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import AlphabetError
from .text import ALPHABET

BLANK = "<pad>"
UNK = "<unk>"
WORD_DELIMITER = "|"
SPECIAL_TOKENS: tuple[str, ...] = (BLANK, UNK, WORD_DELIMITER)


@dataclass(frozen=True)
class Alphabet:
    """Ordered CTC symbols; a symbol's position is its id."""

    symbols: tuple[str, ...]

    def __post_init__(self) -> None:
        missing = [s for s in SPECIAL_TOKENS if s not in self.symbols]
        if missing:
            raise AlphabetError(f"alphabet lacks the special tokens {missing}")
        if len(set(self.symbols)) != len(self.symbols):
            raise AlphabetError("alphabet has duplicate symbols")

    @classmethod
    def default(cls) -> "Alphabet":
        """Blank, unk, delimiter, then the normalizer's characters."""
        return cls(SPECIAL_TOKENS + ALPHABET)

    @classmethod
    def from_vocab(cls, vocab: dict[str, int]) -> "Alphabet":
        ordered = sorted(vocab.items(), key=lambda kv: kv[1])
        if [i for _, i in ordered] != list(range(len(ordered))):
            raise AlphabetError("vocab ids must be 0..N-1 without gaps")
        return cls(tuple(tok for tok, _ in ordered))

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> "Alphabet":
        path = Path(directory) / "vocab.json"
        if not path.is_file():
            raise AlphabetError(f"{path}: no vocab.json (not a speechtl / Hugging Face CTC model folder?)")
        return cls.from_vocab(json.loads(path.read_text(encoding="utf-8")))

    @property
    def vocab(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.symbols)}

    @property
    def blank_id(self) -> int:
        return self.symbols.index(BLANK)

    @property
    def delimiter_id(self) -> int:
        return self.symbols.index(WORD_DELIMITER)

    @property
    def characters(self) -> frozenset[str]:
        """Characters a transcript may use (space maps to the delimiter)."""
        return frozenset(s for s in self.symbols if len(s) == 1 and s != WORD_DELIMITER)

    def __len__(self) -> int:
        return len(self.symbols)

    def unknown_characters(self, text: str) -> set[str]:
        known = self.characters  # built once per call, not once per character
        return {ch for ch in text if ch != " " and ch not in known}

    def encode(self, text: str) -> list[int]:
        """Ids of a *normalized* text; raises AlphabetError on unknown characters."""
        bad = self.unknown_characters(text)
        if bad:
            raise AlphabetError(f"characters outside the alphabet: {''.join(sorted(bad))!r} in {text!r}")
        vocab = self.vocab
        return [vocab[WORD_DELIMITER] if ch == " " else vocab[ch] for ch in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Join symbols of already-collapsed ids; specials other than '|' are skipped."""
        out = []
        for i in ids:
            sym = self.symbols[i]
            if sym == WORD_DELIMITER:
                out.append(" ")
            elif sym not in SPECIAL_TOKENS:
                out.append(sym)
        return " ".join("".join(out).split())

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write vocab.json and the tokenizer configs in Hugging Face's layout."""
        from transformers import Wav2Vec2CTCTokenizer  # heavy import kept local

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "vocab.json").write_text(json.dumps(self.vocab, indent=1), encoding="utf-8")
        tokenizer = Wav2Vec2CTCTokenizer(
            str(directory / "vocab.json"), unk_token=UNK, pad_token=BLANK,
            word_delimiter_token=WORD_DELIMITER, do_lower_case=False, bos_token=None, eos_token=None,
        )
        tokenizer.save_pretrained(str(directory))


def match_symbol(symbol: str, old_vocab: dict[str, int]) -> int | None:
    """Row of ``symbol`` in a checkpoint's vocabulary, matching letters case-blind.

    facebook/wav2vec2-base-960h spells its letters in upper case; the speechtl
    normalizer in lower case. They are the same characters for the CTC head.
    """
    for candidate in (symbol, symbol.upper(), symbol.lower()):
        if candidate in old_vocab:
            return old_vocab[candidate]
    return None


