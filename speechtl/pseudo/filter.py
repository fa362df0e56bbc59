"""Which teacher labels to trust: each check names its reason, so every rejection in
``rejected.jsonl`` says why.

Compression ratio 2.4 and no-speech 0.6 are Whisper's own fallback rules; the rates bound
read and conversational English (about 8 to 20 characters a second, spaces included). The
average log-probability and agreement thresholds were chosen by measurement
(``tools/bench_pseudo.py``: Whisper tiny.en on 13 held-out non-native speechocean762 speakers,
17 minutes joined into recordings): Whisper's own -1.0 kept 99% of segments at 27.9% label
WER, -0.5 keeps 69% at 16.4%; agreement with the shipped CTC model within WER 0.5 keeps 72%
at 16.5%, both together 60% at 13.4%.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..alphabet import Alphabet
from ..metrics import score
from ..text import MAX_COMPRESSION_RATIO, normalize

MIN_AVG_LOGPROB = -0.5
MAX_NO_SPEECH_PROB = 0.6
MIN_CHARS_PER_S = 5.0
MAX_CHARS_PER_S = 25.0
MAX_DISAGREEMENT_WER = 0.5  # between two teachers, when a second one is given


@dataclass(frozen=True)
class Label:
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


@dataclass(frozen=True)
class FilterConfig:
    min_avg_logprob: float = MIN_AVG_LOGPROB
    max_no_speech_prob: float = MAX_NO_SPEECH_PROB
    max_compression_ratio: float = MAX_COMPRESSION_RATIO
    min_chars_per_s: float = MIN_CHARS_PER_S
    max_chars_per_s: float = MAX_CHARS_PER_S
    max_disagreement_wer: float = MAX_DISAGREEMENT_WER


def rejection(label: Label, duration_s: float, alphabet: Alphabet, config: FilterConfig = FilterConfig(),
              second: Label | None = None) -> str | None:
    """Why ``label`` (of ``duration_s`` seconds of audio) is not kept, or None to keep it."""
    text = normalize(label.text)
    if not text:
        return "empty label"
    unknown = alphabet.unknown_characters(text)
    if unknown:
        return f"characters outside the alphabet: {''.join(sorted(unknown))}"
    if label.no_speech_prob > config.max_no_speech_prob:
        return f"no-speech probability {label.no_speech_prob:.2f} > {config.max_no_speech_prob}"
    if label.avg_logprob < config.min_avg_logprob:
        return f"average log-probability {label.avg_logprob:.2f} < {config.min_avg_logprob}"
    if label.compression_ratio > config.max_compression_ratio:
        return f"compression ratio {label.compression_ratio:.2f} > {config.max_compression_ratio} (repetition)"
    rate = len(text) / max(duration_s, 1e-3)
    if not config.min_chars_per_s <= rate <= config.max_chars_per_s:
        return f"{rate:.1f} characters per second, outside {config.min_chars_per_s}-{config.max_chars_per_s}"
    if second is not None:
        wer = score(["x"], [text], [normalize(second.text)]).wer
        if wer > config.max_disagreement_wer:
            return f"teachers disagree: WER {wer:.2f} > {config.max_disagreement_wer}"
    return None
