"""What scripted Whispers (decode/base.Recognizer) share in tests."""

from __future__ import annotations

from pathlib import Path

from speechtl.text import normalize

# natural English for a scripted Whisper to write at length (one phrase said over and over
# is a repetition loop, which the two-pass writes again: text.MAX_COMPRESSION_RATIO)
ENGLISH = normalize(" ".join(line for line in (Path(__file__).parents[2] / "recipes/legal/heldout.txt").read_text()
                             .splitlines() if not line.startswith("#")))


class OneByOne:
    """``transcribe_many`` and ``nbest_many`` as loops over the class's own ``transcribe`` and ``nbest``."""

    def transcribe_many(self, waves, hotwords=None, timestamps=False):
        hotwords = list(hotwords) if hotwords is not None else [None] * len(waves)
        return [self.transcribe(w, h, timestamps) for w, h in zip(waves, hotwords)]

    def nbest_many(self, waves, n, hotwords):
        return [self.nbest(w, n, h) for w, h in zip(waves, hotwords)]
