import numpy as np
import pytest

from speechtl.decode.beam import BeamDecoder
from speechtl.decode.booster import TermBooster
from speechtl.lm.arpa import estimate_arpa
from speechtl.vocabulary import Vocabulary

LM_TEXT = ["the patient takes metformin", "the patient takes aspirin", "take metformin daily",
           "the court granted the motion to dismiss"] * 3


def peaky(alphabet, text, confusions=None):
    """Log-probs of a confident CTC output of ``text`` (one frame per character,
    then a blank); ``confusions`` {position: char} moves most of that frame's mass
    to another character, as an acoustic model unsure of a sound does."""
    rows = []
    for i, ch in enumerate(text):
        row = np.full(len(alphabet), 1e-4)
        k = alphabet.delimiter_id if ch == " " else alphabet.vocab[ch]
        row[k] = 1.0
        if confusions and i in confusions:
            row[k], row[alphabet.vocab[confusions[i]]] = 0.4, 0.6
        rows += [row / row.sum()]
        blank = np.full(len(alphabet), 1e-4)
        blank[alphabet.blank_id] = 1.0
        rows += [blank / blank.sum()]
    return np.log(np.array(rows))


@pytest.fixture(scope="module")
def lm_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "lm.arpa"
    estimate_arpa(LM_TEXT, path, 3)
    return path


def test_lm_corrects_a_misheard_word(alphabet, lm_path):
    text = "the patient takes metformin"
    lp = peaky(alphabet, text, {text.index("form") + 1: "a"})  # acoustics prefer "metfarmin"
    assert BeamDecoder(alphabet).decode(lp, 0.02).text == "the patient takes metfarmin"
    assert BeamDecoder(alphabet, lm_path).decode(lp, 0.02).text == text


def test_term_missing_from_lm_becomes_decodable_once_added(alphabet, lm_path):
    text = "the patient takes xarelto"
    lp = peaky(alphabet, text, {text.index("x"): "z"})  # acoustics prefer "zarelto"
    decoder = BeamDecoder(alphabet, lm_path)
    assert decoder.decode(lp, 0.02).text == "the patient takes zarelto"
    with_term = decoder.with_changes(vocabulary=Vocabulary(["Xarelto"]))
    assert with_term.decode(lp, 0.02).text == text
    assert "xarelto" in with_term.unigrams and decoder.lm_path == with_term.lm_path


def test_hotword_pulls_towards_the_term_and_weight_matters(alphabet, lm_path):
    text = "take metformin daily"
    lp = peaky(alphabet, text, {text.index("daily"): "b"})  # acoustics: "baily"
    plain = BeamDecoder(alphabet)
    assert plain.decode(lp, 0.02).text == "take metformin baily"
    boosted = plain.with_changes(vocabulary=Vocabulary(["daily"]))
    assert boosted.decode(lp, 0.02).text == text
    assert boosted.with_changes(hotword_weight=0.01).decode(lp, 0.02).text == "take metformin baily"


def test_word_timestamps_from_beam(alphabet, lm_path):
    hyp = BeamDecoder(alphabet, lm_path).decode(peaky(alphabet, "take metformin"), 0.02, time_offset=1.0)
    (take, metformin) = hyp.words
    assert take.start == 1.0 and take.end == pytest.approx(1.0 + 0.02 * 7)
    assert metformin.start == pytest.approx(1.0 + 0.02 * 10)


def test_booster_scores_phrases_not_their_parts():
    b = TermBooster({("motion", "to", "dismiss"): 1.0, ("xarelto",): 2.0}, weight=1.0)
    assert b.score("we filed a motion to dismiss") == 3.0
    assert b.score("we filed a motion to") == 0.0  # a started phrase earns nothing (nothing to withdraw)
    assert b.score("we filed a motion to compel") == 0.0
    assert b.score("go to the xarelto") == 2.0  # "to" alone earns nothing
    # partial words: prefixes of one-word terms only ("mot" would be lost at the space after "motion")
    assert "xar" in b and "mot" not in b and "to" not in b
    assert b.score_partial_token("xar") == pytest.approx(3 / 7)


def _soft_spaces(alphabet, text, p_space):
    """Confident letters, but each word boundary only ``p_space`` likely (the rest blank)."""
    lp = peaky(alphabet, text)
    for i, ch in enumerate(text):
        if ch == " ":
            row = np.full(len(alphabet), 1e-4)
            row[alphabet.delimiter_id], row[alphabet.blank_id] = p_space, 1 - p_space
            lp[2 * i] = np.log(row / row.sum())
    return lp


def test_terms_absent_from_the_audio_leave_word_boundaries_alone(alphabet):
    # with credit for a started phrase, "in" of "in camera" made every beam that kept
    # spelling the next word ("in graverelief") beat the one that ended it
    lp = _soft_spaces(alphabet, "they carved it in grave relief", 0.6)
    plain = BeamDecoder(alphabet)
    assert plain.decode(lp, 0.02).text == "they carved it in grave relief"
    for weight in (3.0, 15.0):
        boosted = plain.with_changes(vocabulary=Vocabulary(["in camera", "motion to dismiss"]), hotword_weight=weight)
        assert boosted.decode(lp, 0.02).text == "they carved it in grave relief"


def test_batch_decoding_in_processes_matches_serial(alphabet, lm_path):
    texts = ["the patient takes metformin", "take metformin daily", "the court granted the motion to dismiss"]
    lps = [peaky(alphabet, t) for t in texts] * 2
    decoder = BeamDecoder(alphabet, lm_path, Vocabulary(["motion to dismiss"]))
    serial = decoder.decode_batch(lps, 0.02)
    assert [h.text for h in serial] == texts * 2
    assert decoder.decode_batch(lps, 0.02, processes=2) == serial


def test_save_load_and_plain_transformers(tmp_path, alphabet, lm_path):
    from transformers import Wav2Vec2ProcessorWithLM

    from speechtl.decode.beam import BeamConfig
    from speechtl.model.loader import save_bundle
    from speechtl.model.tiny import random_wav2vec2

    model_dir = tmp_path / "model"
    save_bundle(random_wav2vec2(alphabet), model_dir)
    BeamDecoder(alphabet, lm_path, Vocabulary(["Xarelto"]), BeamConfig(alpha=0.7, beta=1.5)).save(model_dir)
    loaded = BeamDecoder.load(model_dir)
    assert loaded.config.alpha == 0.7 and loaded.config.beta == 1.5 and "xarelto" in loaded.vocabulary
    assert BeamDecoder.load(tmp_path) is None

    processor = Wav2Vec2ProcessorWithLM.from_pretrained(model_dir)
    lp = peaky(alphabet, "the patient takes metformin")
    assert processor.decode(lp).text == "the patient takes metformin"
    assert processor.decoder.model_container[processor.decoder._model_key].alpha == 0.7


def test_bad_lm_file(tmp_path, alphabet):
    from speechtl.decode.beam import BeamConfig
    from speechtl.errors import SpeechtlError

    with pytest.raises(SpeechtlError, match="beam width must be at least 1"):
        BeamConfig(beam_width=0)

    bad = tmp_path / "bad.arpa"
    bad.write_text("not an arpa file")
    with pytest.raises(SpeechtlError, match="not a KenLM-readable"):
        BeamDecoder(alphabet, bad)
    with pytest.raises(SpeechtlError, match="not found"):
        BeamDecoder(alphabet, tmp_path / "none.arpa")


def test_oov_offset_prefers_a_real_word_from_the_lexicon(alphabet, tmp_path):
    # neither spelling is in the LM text; "cat" is in the word list the LM is built with, "kat" is not
    text = "take the cat"
    lp = peaky(alphabet, text, {text.index("cat"): "k"})  # acoustics: "kat"
    from speechtl.decode.beam import BeamConfig
    from speechtl.lm.build import build_lm

    path = tmp_path / "lexicon.arpa"
    build_lm(LM_TEXT, path, order=3, lexicon=["cat", "dog"])
    lenient = BeamDecoder(alphabet, path, config=BeamConfig(unk_score_offset=0.0))
    assert "cat" in lenient.unigrams and "kat" not in lenient.unigrams
    assert lenient.decode(lp, 0.02).text == "take the kat"
    strict = lenient.with_changes(unk_score_offset=-10.0)
    assert strict.decode(lp, 0.02).text == text


def test_terms_off_keeps_the_words_the_lm_knows(alphabet, lm_path, tmp_path):
    # "patient" is both an LM word and a term word: switching the terms off must not make it unknown
    terms = Vocabulary(["the patient", "metformin"])
    with_terms = BeamDecoder(alphabet, lm_path, terms)
    without = with_terms.with_changes(vocabulary=Vocabulary())
    assert {"patient", "the", "metformin"} <= set(without.unigrams)
    model_dir = tmp_path / "model"
    alphabet.save(model_dir)  # a model folder has its vocab.json
    with_terms.save(model_dir)
    loaded = BeamDecoder.load(model_dir).with_changes(vocabulary=Vocabulary())
    assert {"patient", "the", "metformin"} <= set(loaded.unigrams)


def test_the_pyctcdecode_search_we_call_is_where_and_what_we_expect():
    # BeamDecoder.decode calls pyctcdecode 0.5's private search loop: this fails loudly
    # when another pyctcdecode version moves or changes it (pyproject pins >=0.5,<0.6)
    import inspect
    from importlib.metadata import version

    from pyctcdecode.decoder import BeamSearchDecoderCTC

    assert version("pyctcdecode").startswith("0.5.")
    params = set(inspect.signature(BeamSearchDecoderCTC._decode_logits).parameters)
    assert {"logits", "beam_width", "beam_prune_logp", "token_min_logp", "prune_history", "hotword_scorer",
            "lm_start_state"} <= params


def test_forked_workers_spot_terms_after_torch_ran_in_the_parent(tmp_path):
    """The transcriber runs the acoustic model (torch's thread pool) before the beam
    searches fork; a worker's first parallel torch call (spotting's ctc_loss) used to wait
    forever for a pool the fork did not copy. Run in a fresh interpreter: a hang is a timeout."""
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent.parent
    script = tmp_path / "fork.py"
    script.write_text(f"""
import sys, torch
sys.path.insert(0, {str(tests)!r})
torch.set_num_threads(2)
x = torch.randn(1000, 1000); (x @ x).sum()
from speechtl.alphabet import Alphabet
from speechtl.decode.beam import BeamConfig, BeamDecoder
from speechtl.vocabulary import Vocabulary
from decode.test_spotting import posteriors
alphabet = Alphabet.default()
lp = posteriors(alphabet, list("my client will play no locont and day read to the misdemeanor charge " * 3))
terms = Vocabulary(["nolo contendere", "en banc", "voir dire", "res judicata", "certiorari"])
decoder = BeamDecoder(alphabet, None, terms, BeamConfig(beam_width=8, spot_threshold=-3.0))
print(decoder.decode_batch([lp] * 4, 0.02, processes=2)[0].text)
""")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "nolo contendere" in done.stdout


def test_weight_changes_share_the_lm_trie_decode_alike_and_release_their_lm(alphabet, lm_path):
    import gc

    from pyctcdecode.decoder import BeamSearchDecoderCTC

    from speechtl.decode.beam import BeamConfig

    text = "the patient takes metformin"
    lp = peaky(alphabet, text, {text.index("form") + 1: "a"})
    decoder = BeamDecoder(alphabet, lm_path, config=BeamConfig(beam_width=8))
    gc.collect()
    held = len(BeamSearchDecoderCTC.model_container)
    for alpha in (0.0, 0.5, 2.0):
        changed = decoder.with_changes(alpha=alpha)
        trie = changed._decoder._language_model._char_trie
        assert trie is decoder._decoder._language_model._char_trie  # built once for the LM's words
        fresh = BeamDecoder(alphabet, lm_path, config=changed.config)  # its own trie
        assert changed.decode(lp, 0.02) == fresh.decode(lp, 0.02)
        assert changed._decoder._language_model.alpha == alpha  # its own weights on the shared words
        del changed, fresh
    assert decoder._decoder._language_model.alpha == decoder.config.alpha  # the original's left as it was
    gc.collect()
    assert len(BeamSearchDecoderCTC.model_container) == held  # pyctcdecode's registry does not grow
