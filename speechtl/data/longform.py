"""Long recordings made by joining utterances: long-form test sets from speech one has.

The people who use speechtl transcribe hearings and interviews that run for minutes,
with short answers between long turns; a test set of single sentences never shows
what a long-form decoder drops at a cut or loses without the text before it. Joining
transcribed utterances with pauses gives long recordings whose reference is known
word for word, turn by turn:

    turns = plan_conversation([entries_a, entries_b], short=[yes_clip, okay_clip], seed=0)
    entry = join_utterances(turns, "data/longform/conv-01.wav", seed=0)

The written entry is one manifest line: the joined transcript as ``text``, and
``turns`` (each utterance's id, speaker, text, ``start``/``end`` seconds) in its extra
fields, so a report can score per turn or find which turn lost a word.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

from ..constants import SAMPLE_RATE
from ..errors import SpeechtlError
from ..fileio import atomic_path
from .manifest import ManifestEntry, load_entry

DEFAULT_PAUSE_S = (0.2, 2.0)  # silence between turns, drawn uniformly
SHORT_TURN_S = 0.5  # a short answer ("yes", "okay") is at most this long
LEAD_S = 0.3  # silence before the first turn and after the last
CHAPTER_MIN_S = 300.0  # long-form LibriSpeech: a speaker's chapters joined into 5...
CHAPTER_MAX_S = 900.0  # ...to 15 minute recordings


@dataclass(frozen=True)
class Turn:
    """One utterance inside a long recording."""
    id: str
    speaker: str | None
    text: str
    start: float  # seconds
    end: float  # seconds


def join_utterances(entries: Sequence[ManifestEntry], output: str | os.PathLike[str],
                    pause_s: tuple[float, float] = DEFAULT_PAUSE_S, seed: int = 0,
                    recording_id: str | None = None) -> ManifestEntry:
    """Write ``entries``' audio, in order, with pauses drawn from ``pause_s`` between
    them, to one 16 kHz WAV file (atomically); return its manifest entry, ``turns`` in
    its extra fields. A clip that cannot be read is an error: a long-form reference with
    a turn missing from its audio would count the decoder wrong."""
    if not entries:
        raise SpeechtlError("a long recording needs at least one utterance")
    low, high = pause_s
    if not 0 <= low <= high:
        raise SpeechtlError(f"pause range must be 0 <= low <= high, not {pause_s}")
    rng = random.Random(seed)
    lead = np.zeros(round(LEAD_S * SAMPLE_RATE), np.float32)
    pieces, turns, cursor = [lead], [], len(lead)
    for i, entry in enumerate(entries):
        if i:
            pause = np.zeros(round(rng.uniform(low, high) * SAMPLE_RATE), np.float32)
            pieces.append(pause)
            cursor += len(pause)
        wave = load_entry(entry, SAMPLE_RATE)
        turns.append(Turn(entry.id, entry.speaker, entry.text, round(cursor / SAMPLE_RATE, 3),
                          round((cursor + len(wave)) / SAMPLE_RATE, 3)))
        pieces.append(wave.astype(np.float32))
        cursor += len(wave)
    pieces.append(lead)
    audio = np.concatenate(pieces)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        sf.write(str(tmp), audio, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    speakers = sorted({t.speaker for t in turns if t.speaker})
    return ManifestEntry(recording_id or output.stem, str(output.resolve()), round(len(audio) / SAMPLE_RATE, 3),
                         " ".join(t.text for t in turns), speaker=",".join(speakers) or None,
                         extra={"turns": [t.__dict__ for t in turns]})


def turns_of(entry: ManifestEntry) -> list[Turn]:
    """The turns a joined recording's entry lists (none for an ordinary utterance)."""
    return [Turn(**t) for t in entry.extra.get("turns", [])]


def chapter_groups(entries: Sequence[ManifestEntry], min_s: float = CHAPTER_MIN_S,
                   max_s: float = CHAPTER_MAX_S) -> list[list[ManifestEntry]]:
    """LibriSpeech utterances (ids ``speaker-chapter-number``) grouped into recordings of
    ``min_s`` to ``max_s`` seconds: each chapter in reading order; a chapter shorter than
    ``min_s`` continues with the same speaker's next chapter; a longer stretch is cut at
    an utterance boundary. A speaker with too little speech left over joins it to their
    last recording when that stays within ``max_s``, else it is dropped."""
    by_speaker: dict[str, list[ManifestEntry]] = defaultdict(list)
    for e in entries:
        parts = e.id.split("-")
        if len(parts) != 3:
            raise SpeechtlError(f"{e.id}: not a LibriSpeech id (speaker-chapter-utterance)")
        by_speaker[parts[0]].append(e)
    groups: list[list[ManifestEntry]] = []
    for speaker in sorted(by_speaker, key=int):
        ordered = sorted(by_speaker[speaker], key=lambda e: tuple(int(p) for p in e.id.split("-")))
        mine: list[list[ManifestEntry]] = []
        current: list[ManifestEntry] = []
        for e, after in zip(ordered, ordered[1:] + [None]):
            if current and sum(x.duration for x in current) + e.duration > max_s:
                mine.append(current)
                current = []
            current.append(e)
            chapter_ends = after is None or after.id.split("-")[1] != e.id.split("-")[1]
            if chapter_ends and sum(x.duration for x in current) >= min_s:
                mine.append(current)
                current = []
        if current:
            if mine and sum(x.duration for x in mine[-1] + current) <= max_s:
                mine[-1] = mine[-1] + current
            elif sum(x.duration for x in current) >= min_s:
                mine.append(current)
        groups += mine
    return groups


def plan_conversation(speakers: Sequence[Sequence[ManifestEntry]], short: Sequence[ManifestEntry] = (),
                      short_every: int = 3, seed: int = 0) -> list[ManifestEntry]:
    """Turns of a two-speaker conversation: each speaker's utterances in order, the
    floor passing to the other one after one or two turns, and after every
    ``short_every``-th turn a short answer by the listener (from ``short``: entries
    whose ``speaker`` is one of the two, each used once)."""
    if len(speakers) != 2 or not all(speakers):
        raise SpeechtlError("a conversation needs two speakers with utterances")
    queues = [list(s) for s in speakers]
    names = [s[0].speaker for s in speakers]
    answers = {name: [s for s in short if s.speaker == name] for name in names}
    rng = random.Random(seed)
    turns: list[ManifestEntry] = []
    who = 0
    while any(queues):
        if not queues[who]:
            who = 1 - who
        turns.append(queues[who].pop(0))
        listener = names[1 - who]
        if len(turns) % short_every == 0 and answers[listener]:
            turns.append(answers[listener].pop(0))
        if rng.random() < 0.7:  # the floor passes, or the speaker goes on
            who = 1 - who
    return turns
