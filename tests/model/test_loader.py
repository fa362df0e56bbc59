import json

import numpy as np
import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2ForCTC, Wav2Vec2Model

from speechtl.alphabet import Alphabet
from speechtl.errors import ModelLoadError
from speechtl.model.loader import load_pretrained, save_bundle
from speechtl.model.tiny import TINY, random_wav2vec2

# Layout of facebook/wav2vec2-base-960h's vocabulary: upper-case letters, no apostrophe here.
HUB_STYLE_VOCAB = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4,
                   **{ch: 5 + i for i, ch in enumerate("ETAONIHSRDLUMWCFGYPBVKXJQZ")}}


def _hub_style_checkpoint(path):
    config = Wav2Vec2Config(vocab_size=len(HUB_STYLE_VOCAB), **TINY)
    torch.manual_seed(1)
    model = Wav2Vec2ForCTC(config)
    model.save_pretrained(path)
    (path / "vocab.json").write_text(json.dumps(HUB_STYLE_VOCAB))
    return model


def test_head_resize_keeps_known_rows(tmp_path, alphabet):
    old = _hub_style_checkpoint(tmp_path)
    bundle = load_pretrained(tmp_path, alphabet)
    new_w, new_b = bundle.model.lm_head.weight, bundle.model.lm_head.bias
    assert new_w.shape == (len(alphabet), old.config.hidden_size)
    for new_id, symbol in enumerate(alphabet.symbols):
        old_id = HUB_STYLE_VOCAB.get(symbol, HUB_STYLE_VOCAB.get(symbol.upper()))
        if old_id is None:
            continue
        assert torch.equal(new_w[new_id], old.lm_head.weight[old_id]), symbol
        assert torch.equal(new_b[new_id], old.lm_head.bias[old_id]), symbol
    # every symbol but the apostrophe was known: 26 letters + <pad>, <unk>, |
    assert bundle.kept_rows == 29 and bundle.new_rows == 1
    apostrophe = alphabet.vocab["'"]
    assert not any(torch.equal(new_w[apostrophe], row) for row in old.lm_head.weight)
    assert bundle.model.config.vocab_size == len(alphabet)
    assert bundle.model.config.pad_token_id == alphabet.blank_id


def test_encoder_weights_survive_loading(tmp_path, alphabet):
    old = _hub_style_checkpoint(tmp_path)
    bundle = load_pretrained(tmp_path, alphabet)
    for (name, a), (_, b) in zip(old.wav2vec2.named_parameters(), bundle.model.wav2vec2.named_parameters()):
        assert torch.equal(a, b), name


def test_encoder_only_checkpoint_gets_a_fresh_head(tmp_path, alphabet):
    encoder = Wav2Vec2Model(Wav2Vec2Config(**TINY))
    encoder.save_pretrained(tmp_path)
    bundle = load_pretrained(tmp_path, alphabet)
    assert bundle.kept_rows == 0 and bundle.new_rows == len(alphabet)
    assert torch.equal(bundle.model.wav2vec2.encoder.layers[0].attention.q_proj.weight,
                       encoder.encoder.layers[0].attention.q_proj.weight)


@pytest.mark.parametrize("family", ["hubert", "wavlm", "data2vec-audio"])
def test_other_wav2vec2_families(tmp_path, alphabet, family):
    import transformers

    cfg_cls = {"hubert": transformers.HubertConfig, "wavlm": transformers.WavLMConfig,
               "data2vec-audio": transformers.Data2VecAudioConfig}[family]
    kwargs = dict(TINY, vocab_size=len(HUB_STYLE_VOCAB))
    if family == "data2vec-audio":
        kwargs.pop("num_conv_pos_embedding_groups")
        kwargs["num_conv_pos_embeddings"] = 5
        kwargs["conv_pos_kernel_size"] = 5
    model_cls = {"hubert": transformers.HubertForCTC, "wavlm": transformers.WavLMForCTC,
                 "data2vec-audio": transformers.Data2VecAudioForCTC}[family]
    model_cls(cfg_cls(**kwargs)).save_pretrained(tmp_path)
    (tmp_path / "vocab.json").write_text(json.dumps(HUB_STYLE_VOCAB))
    bundle = load_pretrained(tmp_path, alphabet)
    assert bundle.model.config.model_type == family and bundle.kept_rows == 29
    out = bundle.model(torch.randn(1, 16000)).logits
    assert out.shape[-1] == len(alphabet)


def test_offline_hub_id_says_how_to_use_a_folder(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="--local-dir DIR"):
        load_pretrained("facebook/wav2vec2-does-not-exist-speechtl-test")


def test_folder_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ModelLoadError, match="not a supported CTC family"):
        load_pretrained(tmp_path)


def test_speechtl_folder_reloads_identically(tmp_path, alphabet):
    bundle = random_wav2vec2(Alphabet(alphabet.symbols + ("-",)))  # a custom alphabet travels with the model
    save_bundle(bundle, tmp_path / "m")
    again = load_pretrained(tmp_path / "m")
    assert again.alphabet == bundle.alphabet and again.new_rows == 0
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 16000)).astype(np.float32))
    bundle.model.eval()
    again.model.eval()
    with torch.no_grad():
        assert torch.allclose(bundle.model(x).logits, again.model(x).logits)
