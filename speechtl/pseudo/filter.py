"""Which teacher labels to trust: each check names its reason, so every rejection in
``rejected.jsonl`` says why.

Defaults follow Whisper's own fallback rules (avg log-prob -1.0, compression ratio 2.4,
no-speech 0.6) and the speaking rates of read and conversational English (about 8 to 20
characters a second, spaces included).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..alphabet import Alphabet
from ..metrics import score
from ..text import normalize

MIN_AVG_LOGPROB = -1.0
MAX_NO_SPEECH_PROB = 0.6
MAX_COMPRESSION_RATIO = 2.4  # a repetition loop compresses much better than speech
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
