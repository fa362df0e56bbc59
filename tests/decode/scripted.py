"""What scripted Whispers (decode/base.Recognizer) share in tests."""

from __future__ import annotations


class OneByOne:
    """``transcribe_many`` as a loop over the class's own ``transcribe``."""

    def transcribe_many(self, waves, hotwords=None, timestamps=False):
        hotwords = list(hotwords) if hotwords is not None else [None] * len(waves)
        return [self.transcribe(w, h, timestamps) for w, h in zip(waves, hotwords)]
