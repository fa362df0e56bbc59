"""Sentences for honest dev and test sets: written apart from the sentence generators.

    heldout_sentences("legal", "test")                                  # the hand-written legal set
    heldout_sentences("medical", "dev", "../shared/corpora/medical-dialogue")

A model tuned and scored on the generator's own sentences learns its templates; users
speak other sentences: the domain folder's ``heldout.txt`` (recipes/legal's and
recipes/medical's were written for this project), or, when a folder of real
transcripts is given (the medical recipe's: ../shared's doctor-patient interviews),
their sentences that contain a term of the domain (``D:``/``P:`` turn labels dropped,
at most :data:`MAX_PER_TERM` sentences per term so common words do not crowd out
drugs). Dev and test never share a sentence (or, for transcripts, a file): the split
hashes the file or sentence.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import SpeechtlError
from ..fileio import read_text_file
from ..text import normalize
from . import HELDOUT_FILE, domain_folder, domain_terms

SPLITS = ("dev", "test")
DEV_SHARE = 3  # one in DEV_SHARE files or sentences goes to dev
MAX_PER_TERM = 3
MIN_WORDS, MAX_WORDS = 5, 30


def split_of(key: str) -> str:
    """"dev" or "test": which held-out split a sentence or transcript file belongs to (by hash)."""
    return "dev" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % DEV_SHARE == 0 else "test"


def heldout_sentences(domain: str, split: str, transcripts_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The domain's held-out sentences of one split ("dev" or "test"); [] for a domain without any."""
    if split not in SPLITS:
        raise SpeechtlError(f"unknown held-out split {split!r} ({' or '.join(SPLITS)})")
    if transcripts_dir is not None:
        return _from_transcripts(domain, split, Path(transcripts_dir))
    path = domain_folder(domain) / HELDOUT_FILE
    if not path.is_file():
        return []
    lines = [line.strip() for line in read_text_file(path, "held-out text").splitlines()]
    return [line for line in lines if line and not line.startswith("#") and split_of(line) == split]


def _from_transcripts(domain: str, split: str, folder: Path) -> list[str]:
    """Sentences of ``folder``'s transcripts that contain a term of the domain."""
    from ..text import split_sentences

    files = sorted(folder.glob("*.txt"))
    if not files:
        raise SpeechtlError(f"{folder}: no .txt transcripts for held-out sentences")
    # longest first, ties by spelling: a set's order changes with each process's string hashing, and
    # with it which term a sentence counts for (the medical test set differed from run to run)
    phrases = sorted({" ".join(t.words) for t in domain_terms(domain)}, key=lambda p: (-len(p), p))
    per_term: dict[str, int] = {}
    out = []
    for f in files:
        if f.name == "SOURCE.md" or split_of(f.name) != split:
            continue
        for line in read_text_file(f, "transcript").splitlines():
            turn = line.split(":", 1)[1] if line[:3].rstrip().endswith(":") else line
            for sentence in split_sentences(turn.strip()):
                words = normalize(sentence)
                if not MIN_WORDS <= len(words.split()) <= MAX_WORDS:
                    continue
                padded = f" {words} "
                term = next((p for p in phrases if f" {p} " in padded), None)
                if term is None or per_term.get(term, 0) >= MAX_PER_TERM:
                    continue
                per_term[term] = per_term.get(term, 0) + 1
                out.append(sentence)
    return out
