"""The two-pass decoder as a model folder describes it, with its Whisper writer loaded.

    decoding = choose_decoding(bundle.alphabet, "runs/legal/model/best")   # decode/policy.py
    two_pass = load_two_pass(decoding, "runs/legal/model/best")             # the settings a recipe tuned
    two_pass = load_two_pass(decoding, None, Vocabulary.load("terms.csv"), "whisper-base")

This module joins the decoding stack (decode/) to the Whisper that runs it
(model/seq2seq.py); the decoders themselves know Whisper only as a
:class:`~speechtl.decode.base.Recognizer`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .decode.policy import Decoding
from .decode.twopass import TwoPass
from .decode.twopass_config import read_two_pass_file, writer_defaults
from .errors import SpeechtlError
from .constants import DEFAULT_WHISPER
from .model.seq2seq import WhisperRecognizer
from .vocabulary import Vocabulary

# Whisper encoder outputs kept (2.3-3 MB each): a clip or window transcribed again (the
# timestamp and unprompted redos of a long recording's windows) and scored by the judge
# is encoded once; twice the two-pass's chunk of clips (decode/twopass.CHUNK_CLIPS)
WHISPER_ENCODER_CACHE = 32


def load_two_pass(decoding: Decoding, model_dir: str | os.PathLike[str] | None, vocabulary: Vocabulary | None = None,
                  whisper: str | None = None) -> TwoPass:
    """A two-pass decoding over ``decoding``: the settings saved beside the model (a recipe's
    two-pass stage) when there are any, else the writer's defaults (``writer_defaults``).
    The terms: ``vocabulary``, else those of the model's decoder. The writer: ``whisper``, else the one the recipe chose,
    else ``DEFAULT_WHISPER``; where the recipe kept an adapted writer, the original writes the
    clips and windows where the adapted one's text holds no term (unless ``whisper`` names another)."""
    saved, saved_writer, general = read_two_pass_file(model_dir)
    writer = whisper or saved_writer or DEFAULT_WHISPER
    terms = vocabulary if vocabulary is not None and len(vocabulary) else (
        decoding.beam.vocabulary if decoding.beam is not None else Vocabulary())
    if not len(terms):
        raise SpeechtlError("two-pass decoding needs terms: give --terms, or a model whose decoder has them")
    if general and writer == saved_writer and not (Path(writer) / "model.bin").is_file():
        raise SpeechtlError(f"the two-pass settings beside {model_dir} name the adapted writer {writer}, which holds "
                            f"no model.bin: copy the model folder with its writer, or name a writer "
                            f"(--two-pass {general})")
    chosen = WhisperRecognizer(writer, encoder_cache=WHISPER_ENCODER_CACHE)
    original = None
    if general and writer == saved_writer:
        original = WhisperRecognizer(general, encoder_cache=WHISPER_ENCODER_CACHE)
        original.share_encoder(chosen)  # (where the adapted writer's encoder is the original's, encoded once)
    return TwoPass(decoding, chosen, terms, saved or writer_defaults(writer), general=original)
