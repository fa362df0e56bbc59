"""The writer's training windows: clips packed as Whisper reads audio, and their prompts.

    windows = pack_windows(entries, window_s=28.0, seed=0)
    prompt = window_prompt(windows, 3, terms, config, random.Random(0))   # or None

Clips are joined with short pauses into windows of up to ``window_s`` seconds: one encoder
pass for several clips, and Whisper keeps writing several sentences per window as in a
long recording. A window's prompt is the text before it (as Whisper's long-form decoding
prompts), or its terms and a few others (as the two-pass prompts), or none.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from ..constants import SAMPLE_RATE
from ..data.audio import load_audio
from ..data.manifest import ManifestEntry
from ..text import normalize

PAUSE_S = 0.3  # silence between packed clips


class PromptSettings(Protocol):
    """What :func:`window_prompt` reads of a ``WriterConfig``."""

    prompt_share: float
    context_share: float
    prompt_others: int


@dataclass(frozen=True)
class Window:
    """Clips joined into one Whisper window: their audio and their joined text."""

    wave: np.ndarray
    text: str


def pack_windows(entries: Sequence[ManifestEntry], window_s: float, seed: int) -> list[Window]:
    """The clips, in a seeded order, joined with short pauses into windows of at most
    ``window_s`` seconds (a longer clip is left out)."""
    order = [e for e in entries if e.duration <= window_s]
    random.Random(seed).shuffle(order)
    pause = np.zeros(round(PAUSE_S * SAMPLE_RATE), np.float32)
    windows, waves, texts = [], [], []
    for entry in order:
        wave = load_audio(entry.audio_filepath)
        if waves and sum(len(w) for w in waves) + len(pause) * len(waves) + len(wave) > window_s * SAMPLE_RATE:
            windows.append(Window(np.concatenate([p for w in waves for p in (w, pause)][:-1]), " ".join(texts)))
            waves, texts = [], []
        waves.append(wave)
        texts.append(entry.text)
    if waves:
        windows.append(Window(np.concatenate([p for w in waves for p in (w, pause)][:-1]), " ".join(texts)))
    return windows


def prompt_for(text: str, terms: Sequence[str], others: int, rng: random.Random) -> str:
    """A prompt as the two-pass writes one: the terms in ``text`` and ``others`` more."""
    padded = f" {normalize(text)} "
    present = [t for t in terms if f" {t} " in padded]
    rest = [t for t in terms if t not in present]
    chosen = present + rng.sample(rest, min(others, len(rest)))
    rng.shuffle(chosen)
    return ", ".join(chosen)


def window_prompt(windows: Sequence[Window], i: int, terms: Sequence[str], config: PromptSettings,
                  rng: random.Random) -> str | None:
    """Window ``i``'s prompt: the text of the window before it (``context_share``), as
    Whisper's long-form decoding prompts each window; or its terms and a few others
    (``prompt_share``), as the two-pass does; or none."""
    if config.context_share and rng.random() < config.context_share:  # no draw when off: same order as before
        return windows[i - 1].text if i else None
    if terms and rng.random() < config.prompt_share:
        return prompt_for(windows[i].text, terms, config.prompt_others, rng)
    return None
