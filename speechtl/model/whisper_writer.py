"""Whisper whole (encoder and decoder) in transformers, loaded from CTranslate2 and
written back: the two-pass's writer, fine-tuned on a domain (training/writer.py).

    model, tokens = load_whisper_seq2seq("whisper-tiny.en")     # offline name or CTranslate2 folder
    features = whisper_features([wave], model.config.num_mel_bins)   # (1, mels, 3000): 30 s windows
    ... fine-tune the decoder ...
    export_ctranslate2(model, "whisper-tiny.en", "runs/legal/writer")   # faster-whisper runs it

The export writes the source's ``model.bin`` again with the weights replaced (each in
the dtype it had) and copies its other files (config, tokenizer), so the adapted writer
is the same kind of folder as the original: ``speechtl transcribe --two-pass
runs/legal/writer`` and faster-whisper load it as they load the original.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..constants import SAMPLE_RATE
from ..errors import ModelLoadError
from ..fileio import atomic_dir
from .ct2_format import ctranslate2_state, read_ctranslate2, whisper_sizes, with_state, write_ctranslate2
from .offline import resolve_offline
from .whisper_net import HOP_LENGTH, log_mel

WINDOW_SAMPLES = 30 * SAMPLE_RATE  # Whisper's encoder sees 30 s, the rest padded with silence
MULTILINGUAL_VOCAB = 51865  # Whisper's rule: a vocabulary this large has language tokens
# faster-whisper keeps the last 223 tokens of a prompt (448 positions, half for the prompt)
MAX_PROMPT_TOKENS = 223
WINDOW_FRAMES = WINDOW_SAMPLES // HOP_LENGTH


@dataclass(frozen=True)
class WhisperTokens:
    """Whisper's tokenizer and the special tokens a decoder input is built from, as
    faster-whisper builds it: ``<|startofprev|> prompt <|startoftranscript|> [<|en|>
    <|transcribe|>] <|notimestamps|> text <|endoftext|>``."""

    tokenizer: object  # tokenizers.Tokenizer
    multilingual: bool

    @classmethod
    def from_folder(cls, folder: str | Path, vocab_size: int) -> "WhisperTokens":
        from tokenizers import Tokenizer

        path = Path(folder) / "tokenizer.json"
        if not path.is_file():
            raise ModelLoadError(f"{folder}: no tokenizer.json beside model.bin")
        return cls(Tokenizer.from_file(str(path)), vocab_size >= MULTILINGUAL_VOCAB)

    def id(self, token: str) -> int:
        found = self.tokenizer.token_to_id(token)
        if found is None:
            raise ModelLoadError(f"Whisper's tokenizer has no {token}")
        return found

    @property
    def eot(self) -> int:
        return self.id("<|endoftext|>")

    @property
    def sot(self) -> int:
        return self.id("<|startoftranscript|>")

    def text(self, text: str) -> list[int]:
        """``text``'s tokens, with the leading space Whisper writes before a transcript."""
        return self.tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids

    def marked(self, text: str, spans: Sequence[tuple[int, int]]) -> list[bool]:
        """For each of ``self.text(text)``'s tokens, whether it overlaps one of the character
        ``spans`` of ``text.strip()``."""
        offsets = self.tokenizer.encode(" " + text.strip(), add_special_tokens=False).offsets
        return [any(start < b + 1 and end > a + 1 for a, b in spans) for start, end in offsets]

    def prefix(self, prompt: str | None = None) -> list[int]:
        """The tokens before a transcript: the prompt, if any, and the task tokens."""
        head = []
        if prompt:
            head = [self.id("<|startofprev|>")] + self.text(prompt)[-MAX_PROMPT_TOKENS:]
        head.append(self.sot)
        if self.multilingual:
            head += [self.id("<|en|>"), self.id("<|transcribe|>")]
        return head + [self.id("<|notimestamps|>")]

    def decoder_input(self, text: str, prompt: str | None = None) -> tuple[list[int], int]:
        """Token ids of a whole decoder input for ``text`` (ending in <|endoftext|>) and
        the index of the first token to learn (the text's first)."""
        head = self.prefix(prompt)
        return head + self.text(text) + [self.eot], len(head)

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode([i for i in ids if i < self.eot]).strip()


def ctranslate2_folder(model: str | Path) -> Path:
    """The CTranslate2 folder of an offline Whisper name (whisper-tiny.en, whisper-base)
    or of a path."""
    folder = Path(resolve_offline(str(model)) or model)
    if not (folder / "model.bin").is_file():
        raise ModelLoadError(f"{model}: not a CTranslate2 Whisper folder (no model.bin in {folder})")
    return folder


def load_whisper_seq2seq(model: str | Path):
    """transformers' WhisperForConditionalGeneration holding a CTranslate2 Whisper's
    weights (encoder and decoder, float32), and its :class:`WhisperTokens`."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    folder = ctranslate2_folder(model)
    ct2 = read_ctranslate2(folder / "model.bin")
    sizes = whisper_sizes(ct2)
    if "vocab_size" not in sizes:
        raise ModelLoadError(f"{model}: a CTranslate2 Whisper without its decoder")
    tokens = WhisperTokens.from_folder(folder, sizes["vocab_size"])
    config = WhisperConfig(**sizes, decoder_start_token_id=tokens.sot, eos_token_id=tokens.eot,
                           pad_token_id=tokens.eot, bos_token_id=tokens.eot, scale_embedding=False,
                           tie_word_embeddings=True)
    net = WhisperForConditionalGeneration(config)
    missing, unexpected = net.load_state_dict(ctranslate2_state(ct2, prefix="model."), strict=False)
    missing = [k for k in missing if k != "proj_out.weight" and not k.endswith("k_proj.bias")]
    if missing or unexpected:
        raise ModelLoadError(f"{model}: CTranslate2 weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
    net.tie_weights()
    return net.eval(), tokens


def export_ctranslate2(model: torch.nn.Module, source: str | Path, output_dir: str | Path,
                       extra_files: dict[str, str] | None = None) -> Path:
    """Write ``model``'s weights as a CTranslate2 folder at ``output_dir`` (replaced whole):
    ``source``'s ``model.bin`` with every weight taken from ``model``, in the dtype it had
    there, and ``source``'s other files copied; ``extra_files``: name -> text to add."""
    folder = ctranslate2_folder(source)
    ct2 = with_state(read_ctranslate2(folder / "model.bin"), model.state_dict(), prefix="model.")
    with atomic_dir(output_dir) as tmp:
        write_ctranslate2(tmp / "model.bin", ct2)
        for path in folder.iterdir():
            if path.is_file() and path.name != "model.bin":
                shutil.copy2(path, tmp / path.name)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
    return Path(output_dir)


def encoder_below(model, features: torch.Tensor, top_layers: int = 0) -> torch.Tensor:
    """The encoder's hidden states below its top ``top_layers`` blocks (0: its output,
    final norm included): what the writer's training computes once per window and keeps."""
    encoder = model.model.encoder
    if top_layers == 0:
        return encoder(features).last_hidden_state
    # transformers keeps each block's input: the first trained block's is the one kept
    return encoder(features, output_hidden_states=True).hidden_states[len(encoder.layers) - top_layers]


def encoder_top(model, hidden: torch.Tensor, top_layers: int) -> torch.Tensor:
    """The encoder's output from :func:`encoder_below`'s states: its top ``top_layers``
    blocks and final norm (0: ``hidden`` as it is)."""
    encoder = model.model.encoder
    if top_layers == 0:
        return hidden
    for layer in encoder.layers[len(encoder.layers) - top_layers:]:
        hidden = layer(hidden, None)
    return encoder.layer_norm(hidden)


def whisper_features(waves: Sequence[np.ndarray], num_mel_bins: int) -> torch.Tensor:
    """Log-mel features (batch, mels, 3000) of up to 30 s of 16 kHz audio each, as
    speechtl's Whisper (model/seq2seq.py, through faster-whisper) computes a window's:
    160 samples of silence appended, floored below the clip's own peak, the frames past
    its end zeros."""
    out = torch.zeros(len(waves), num_mel_bins, WINDOW_FRAMES)
    for i, wave in enumerate(waves):
        if len(wave) > WINDOW_SAMPLES:
            raise ValueError(f"{len(wave) / SAMPLE_RATE:.1f} s of audio: Whisper's window holds 30 s")
        padded = np.pad(np.asarray(wave, np.float32), (0, HOP_LENGTH))
        features = log_mel(torch.from_numpy(padded)[None], num_mel_bins)[0]
        frames = min(WINDOW_FRAMES, features.shape[-1] - 1)
        out[i, :, :frames] = features[:, :frames]
    return out
