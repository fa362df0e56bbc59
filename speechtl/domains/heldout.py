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
hashes the file or sentence. With ``train=True`` a third of the transcript files is kept
out of both for training text (:func:`transcript_text`): the user's own past transcripts,
spoken by the synthesizer and read by the LM, never a dev or test file.
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
TRAIN = "train"  # the third split of transcript files, when asked for
DEV_SHARE = 3  # one in DEV_SHARE files or sentences goes to dev (and one more to train, when asked for)
MAX_PER_TERM = 3
MIN_WORDS, MAX_WORDS = 5, 30


def split_of(key: str, train: bool = False) -> str:
    """"dev" or "test" (or "train", with ``train``): which split a sentence or transcript
    file belongs to (by hash). Dev is the same with or without a train split."""
    bucket = int(hashlib.sha1(key.encode()).hexdigest(), 16) % DEV_SHARE
    return "dev" if bucket == 0 else TRAIN if train and bucket == 2 else "test"


def heldout_sentences(domain: str, split: str, transcripts_dir: str | os.PathLike[str] | None = None,
                      train: bool = False) -> list[str]:
    """The domain's held-out sentences of one split ("dev" or "test"); [] for a domain without any.
    ``train``: a third of the transcript files is training text, in neither split."""
    if split not in SPLITS:
        raise SpeechtlError(f"unknown held-out split {split!r} ({' or '.join(SPLITS)})")
    if transcripts_dir is not None:
        return _from_transcripts(domain, split, Path(transcripts_dir), train)
    path = domain_folder(domain) / HELDOUT_FILE
    if not path.is_file():
        return []
    lines = [line.strip() for line in read_text_file(path, "held-out text").splitlines()]
    return [line for line in lines if line and not line.startswith("#") and split_of(line) == split]


def transcript_text(folder: str | os.PathLike[str]) -> list[str]:
    """Every sentence of the training third of ``folder``'s transcript files (turn labels dropped)."""
    return [s for f in _transcript_files(Path(folder)) if split_of(f.name, train=True) == TRAIN
            for s in _sentences(f)]


def _transcript_files(folder: Path) -> list[Path]:
    files = [f for f in sorted(folder.glob("*.txt")) if f.name != "SOURCE.md"]
    if not files:
        raise SpeechtlError(f"{folder}: no .txt transcripts")
    return files


def _sentences(f: Path) -> list[str]:
    """A transcript's sentences of MIN_WORDS to MAX_WORDS words, ``D:``/``P:`` labels dropped."""
    from ..text import split_sentences

    out = []
    for line in read_text_file(f, "transcript").splitlines():
        turn = line.split(":", 1)[1] if line[:3].rstrip().endswith(":") else line
        out += [s for s in split_sentences(turn.strip()) if MIN_WORDS <= len(normalize(s).split()) <= MAX_WORDS]
    return out


def _from_transcripts(domain: str, split: str, folder: Path, train: bool) -> list[str]:
    """Sentences of ``folder``'s transcripts that contain a term of the domain."""
    # longest first, ties by spelling: a set's order changes with each process's string hashing, and
    # with it which term a sentence counts for (the medical test set differed from run to run)
    phrases = sorted({" ".join(t.words) for t in domain_terms(domain)}, key=lambda p: (-len(p), p))
    per_term: dict[str, int] = {}
    out = []
    for f in _transcript_files(folder):
        if split_of(f.name, train) != split:
            continue
        for sentence in _sentences(f):
            padded = f" {normalize(sentence)} "
            term = next((p for p in phrases if f" {p} " in padded), None)
            if term is None or per_term.get(term, 0) >= MAX_PER_TERM:
                continue
            per_term[term] = per_term.get(term, 0) + 1
            out.append(sentence)
    return out
