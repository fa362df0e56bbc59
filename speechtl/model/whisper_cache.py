"""faster-whisper's WhisperModel with a memo of encoder outputs (model/seq2seq.py's
WhisperRecognizer loads it): Whisper's encoder is most of its time on a short clip, and the
two-pass encodes each clip for several prompts, N-best searches and the judge.

    model = whisper_model_class()(folder, device="cpu", compute_type="int8")
    model.encoder_cache_size = 32
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Sequence

import numpy as np


def whisper_model_class():
    """faster-whisper's WhisperModel with a memo of encoder outputs by input features.
    ``generate_segments`` calls ``encode`` once per 30-second window; the same features
    give the same output, so a cached one changes nothing but the time."""
    from faster_whisper import WhisperModel

    import ctranslate2

    class CachingWhisperModel(WhisperModel):
        encoder_cache_size = 0
        _encoder_cache: OrderedDict | None = None

        def encode(self, features: np.ndarray):
            key = _key(features)
            output = self._cached(key)
            if output is None:
                output = super().encode(features)
                self._keep(key, output)
            return output

        def encode_many(self, features: Sequence[np.ndarray]):
            """The encoder outputs of several windows' features as one batch: those in the
            cache taken from it, the rest encoded together (and cached, on a CPU)."""
            if self.model.device != "cpu":
                return self.model.encode(ctranslate2.StorageView.from_array(np.stack(features)), to_cpu=False)
            keys = [_key(f) for f in features]
            outputs = [self._cached(key) for key in keys]
            todo = [i for i, o in enumerate(outputs) if o is None]
            if todo:
                batch = np.array(self.model.encode(ctranslate2.StorageView.from_array(
                    np.ascontiguousarray(np.stack([features[i] for i in todo]))), to_cpu=True))
                for j, i in enumerate(todo):
                    outputs[i] = ctranslate2.StorageView.from_array(np.ascontiguousarray(batch[j:j + 1]))
                    self._keep(keys[i], outputs[i])
            return ctranslate2.StorageView.from_array(np.ascontiguousarray(
                np.concatenate([np.array(o) for o in outputs], axis=0)))

        def _cached(self, key: bytes):
            if not self.encoder_cache_size or self._encoder_cache is None or key not in self._encoder_cache:
                return None
            self._encoder_cache.move_to_end(key)
            return self._encoder_cache[key]

        def _keep(self, key: bytes, output) -> None:
            if not self.encoder_cache_size:
                return
            if self._encoder_cache is None:
                self._encoder_cache = OrderedDict()
            self._encoder_cache[key] = output
            while len(self._encoder_cache) > self.encoder_cache_size:
                self._encoder_cache.popitem(last=False)

    def _key(features: np.ndarray) -> bytes:
        return hashlib.blake2b(np.ascontiguousarray(features).tobytes(), digest_size=16).digest()

    return CachingWhisperModel
