"""The long-form guard: on long recordings the two-pass may not lose to Whisper alone."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from speechtl.data.manifest import ManifestEntry, read_manifest
from speechtl.decode.beam import BeamConfig, BeamDecoder
from speechtl.decode.policy import Decoding
from speechtl.model.seq2seq import WhisperResult, WhisperSegment
from speechtl.recipe.longform import longform_guard
from speechtl.decode.twopass import TwoPass
from speechtl.decode.twopass_config import TwoPassConfig
from speechtl.vocabulary import Vocabulary
from tests.decode.test_spotting import posteriors
from tests.conftest import SHARED
from tests.decode.scripted import OneByOne

# every window written by Whisper (long_form "windows"): what these tests script
TUNED = TwoPassConfig(top_terms=2, spot_threshold=None, whisper_margin=None, long_form="windows")
ALONE = TwoPassConfig(top_terms=0, spot_threshold=None, whisper_margin=None, long_form="windows")


class ScriptedLongWhisper(OneByOne):
    """Each window: ``prompted`` when its prompt holds "en banc", else ``unprompted``;
    its own long-form decoding: ``own`` once per window, in segments of equal length."""

    name = "scripted"
    loaded = True  # (its threads run: no forking after it)

    def __init__(self, prompted: str, own: str, windows: int, unprompted: str = "the court") -> None:
        self.prompted, self.own, self.windows, self.unprompted = prompted, own, windows, unprompted

    def transcribe(self, wave, hotwords=None, timestamps=False, fallback=False):
        return WhisperResult(self.prompted if hotwords and "en banc" in hotwords else self.unprompted, -0.3, 0.01)

    def long_segments(self, wave):
        step = len(wave) / 16_000 / self.windows
        return [WhisperSegment(i * step, (i + 1) * step, self.own) for i in range(self.windows)]


def recording(alphabet, sample_waves):
    pytest.importorskip("faster_whisper")
    from speechtl.data.vad import covering_windows

    gap = np.zeros(16_000, np.float32)
    wave = np.concatenate([x for _ in range(3) for w in sample_waves for x in (w, gap)])  # about 40 s
    frames = len(wave) // 320
    # the CTC model hears "en banc" at the start and silence after: the first window's prompt holds it
    spelled = posteriors(alphabet, list("en banc"))
    logprobs = np.concatenate([spelled, np.repeat(spelled[1:2], frames - len(spelled), axis=0)])
    windows = len(covering_windows(wave, 28.0))
    entry = ManifestEntry("rec", "/x/rec.wav", len(wave) / 16_000, " ".join(["the court"] * windows))
    return {"long-test": ([entry], [wave], [logprobs], 0.0)}, windows


def two_pass(alphabet, whisper) -> TwoPass:
    vocab = Vocabulary(["en banc", "voir dire"])
    beam = BeamDecoder(alphabet, None, vocab, BeamConfig(beam_width=8, spot_threshold=None))
    return TwoPass(Decoding(alphabet, beam), whisper, vocab, TUNED)


def test_the_guard_falls_back_to_whisper_alone_when_the_two_pass_loses_on_long_recordings(alphabet, sample_waves):
    sets, windows = recording(alphabet, sample_waves)
    # prompted with the heard term, this Whisper writes it where it was not said
    tp = two_pass(alphabet, ScriptedLongWhisper("the court en banc", "the court", windows))
    chosen, rows, said = longform_guard(tp, [TUNED, ALONE], sets, tp.vocabulary, 0.02)
    assert chosen == ALONE
    assert said == "whisper-terms lost on long recordings; fell back to whisper-windows"
    assert rows["long-test"]["whisper"]["wer"] == 0.0
    assert rows["long-test"]["whisper-terms"]["wer"] == pytest.approx(2 / (2 * windows))  # "en banc" inserted once
    assert rows["long-test"]["whisper-windows"]["wer"] == 0.0
    assert rows["long-test"]["whisper-terms"]["recordings"] == 1 and rows["long-test"]["whisper-terms"]["rtf"] is not None


def test_the_guard_keeps_the_tuned_setting_when_it_holds(alphabet, sample_waves):
    sets, windows = recording(alphabet, sample_waves)
    # Whisper alone mishears a word per window; the prompted windows do not
    tp = two_pass(alphabet, ScriptedLongWhisper("the court", "the quart", windows))
    chosen, rows, said = longform_guard(tp, [TUNED, ALONE], sets, tp.vocabulary, 0.02)
    assert chosen == TUNED and said is None
    assert rows["long-test"]["whisper-terms"]["wer"] == 0.0 < rows["long-test"]["whisper"]["wer"]
    assert "whisper-windows" not in rows["long-test"]  # the safe setting is not run when not needed


def test_the_last_fallback_is_whisper_s_own_long_form_decoding(alphabet, sample_waves):
    sets, windows = recording(alphabet, sample_waves)
    # over windows this Whisper mishears a word whatever the prompt; its own long-form decoding does not
    tp = two_pass(alphabet, ScriptedLongWhisper("the quart en banc", "the court", windows, unprompted="the quart"))
    chosen, rows, said = longform_guard(tp, [TUNED, ALONE], sets, tp.vocabulary, 0.02)
    assert chosen == replace(TUNED, long_form="whisper")  # short clips keep the tuned prompt
    assert said.startswith("every windowed setting lost") and said.endswith("Whisper's own long-form decoding")
    assert rows["long-test"]["whisper-windows"]["wer"] == pytest.approx(0.5)
    # what the fallback decodes: Whisper's own text, each word timed inside its segment
    entries, waves, logprobs, _ = sets["long-test"]
    hyp = tp.with_config(chosen).decode([logprobs[0]], 0.02, [waves[0]])[0]
    assert hyp.text == entries[0].text
    step = len(waves[0]) / 16_000 / windows
    for i, w in enumerate(hyp.words):  # two words per segment, within a frame of its span
        segment = i // 2
        assert segment * step - 0.02 <= w.start < w.end <= (segment + 1) * step + 0.02


def test_a_kept_writer_better_alone_on_long_recordings_decodes_them_on_its_own(alphabet, sample_waves):
    from speechtl.recipe.longform import adapted_longform

    sets, windows = recording(alphabet, sample_waves)
    # the adapted writer mishears a word per window where the tuned setting's windows go, and
    # nowhere in its own long-form decoding: long recordings fall back to it, short clips keep TUNED
    tp = two_pass(alphabet, ScriptedLongWhisper("the quart en banc", "the court", windows, unprompted="the quart"))
    chosen, rows, said = adapted_longform(tp, TUNED, sets, tp.vocabulary, 0.02)
    assert chosen == replace(TUNED, long_form="whisper")  # only what long recordings use changed
    assert said.endswith("fell back to Whisper's own long-form decoding")
    assert rows["long-test"]["adapted writer/whisper"]["wer"] == 0.0
    assert rows["long-test"]["adapted writer/whisper-terms"]["wer"] > 0.5
    # a writer whose windows hold keeps the tuned setting
    tp = two_pass(alphabet, ScriptedLongWhisper("the court", "the quart", windows))
    assert adapted_longform(tp, TUNED, sets, tp.vocabulary, 0.02)[:3:2] == (TUNED, None)


def test_near_spellings_are_dropped_on_long_recordings_before_spotting_is():
    from speechtl.recipe.evaluate import longform_name
    from speechtl.recipe.longform import label_of
    from speechtl.recipe.twopass import longform_candidates

    tuned = TwoPassConfig(top_terms=8, spot_threshold=0.0, whisper_margin=-4.0, near_spelling=0.85, context_words=12)
    tried = longform_candidates(tuned, ALONE)
    assert [(c.context_words, c.near_spelling, c.spot_threshold) for c in tried[:4]] == [
        (12, 0.85, 0.0), (0, 0.85, 0.0), (12, None, 0.0), (12, None, None)] and tried[-1] == ALONE
    # each has its own row in the guard and a name in the report
    assert len({label_of(c) for c in tried}) == len(tried)
    assert longform_name("whisper-tiny.en/" + label_of(tried[0])) == (
        "two-pass (term windows), near spellings 0.85, each window after 12 words of the text before [whisper-tiny.en]")
    windows = replace(tuned, long_form="windows", context_words=0)
    assert longform_name(label_of(windows)) == "two-pass (windows), near spellings 0.85"
    assert label_of(windows) != label_of(tried[1])


def test_the_writer_is_the_most_accurate_on_dev_within_the_time_budget():
    from speechtl.recipe.twopass import choose_writer

    tiny = {"whisper": "whisper-tiny.en", "dev_wer": {"two_pass": 0.12}, "dev_rtf": 0.08}
    base = {"whisper": "whisper-base", "dev_wer": {"two_pass": 0.09}, "dev_rtf": 0.21}
    assert choose_writer([tiny, base], None) is base  # no bound: the more accurate
    assert choose_writer([tiny, base], 0.25) is base
    assert choose_writer([tiny, base], 0.1) is tiny  # base is over the budget
    assert choose_writer([tiny, base], 0.05) is tiny  # none within: the fastest


def test_a_missing_long_form_manifest_is_named_before_any_work(tmp_path):
    from speechtl.errors import SpeechtlError
    from speechtl.recipe.config import RecipeConfig
    from speechtl.recipe.data import longform_sets

    config = RecipeConfig().changed(data__longform=f"{tmp_path / 'nope.jsonl'}")
    with pytest.raises(SpeechtlError, match="nope.jsonl"):
        longform_sets(config)


@pytest.mark.skipif(not (SHARED / "data/real-en-dev/manifest.jsonl").is_file(), reason="../shared not here")
def test_with_the_writer_stage_on_real_english_joined_is_always_a_long_form_set(tmp_path):
    from speechtl.recipe.config import RecipeConfig
    from speechtl.recipe.data import longform_sets
    from speechtl.training.writer import WriterConfig

    off = RecipeConfig(writer=None).changed(data__longform=None, data_dir=str(tmp_path))
    assert longform_sets(off) == ()
    (manifest,) = longform_sets(off.changed(writer=WriterConfig()))
    (recording,) = read_manifest(manifest)
    assert manifest.startswith(str(tmp_path)) and 280 < recording.duration < 340  # 44 utterances, about 5 minutes
    no_writer = off.changed(writer=WriterConfig(), two_pass__writers=None)  # nothing to adapt: no writer stage
    assert longform_sets(no_writer) == ()


def test_a_kept_writer_tries_its_windows_where_the_original_fell_back_to_its_own_long_form(alphabet, sample_waves):
    from speechtl.recipe.evaluate import longform_name
    from speechtl.recipe.longform import adapted_longform

    sets, windows = recording(alphabet, sample_waves)
    # the original writer lost over windows (long_form "whisper"); the adapted one's windows hold
    tp = two_pass(alphabet, ScriptedLongWhisper("the court", "the quart", windows))
    chosen, rows, said = adapted_longform(tp, replace(TUNED, long_form="whisper"), sets, tp.vocabulary, 0.02)
    assert chosen == replace(TUNED, long_form="term-windows") and said is None  # the default long form first
    # its time includes Whisper's long-form pass, memoized from Whisper alone's row
    class Slow(ScriptedLongWhisper):
        def long_segments(self, wave):
            time.sleep(0.3)
            return super().long_segments(wave)

    slow = two_pass(alphabet, Slow("the court", "the quart", windows))
    long = adapted_longform(slow, replace(TUNED, long_form="whisper"), sets, slow.vocabulary, 0.02)[1]["long-test"]
    assert long["adapted writer/whisper-terms+term-windows"]["seconds"] >= long["adapted writer/whisper"]["seconds"] >= 0.3
    # every row has a name in the report
    assert [longform_name(k) for k in rows["long-test"]] == [
        "Whisper alone (its long-form decoding) [adapted writer]", "Whisper+heard terms (term windows) [adapted writer]"]
    # where the original's setting wrote every window, the adapted writer's does too
    assert adapted_longform(tp, TUNED, sets, tp.vocabulary, 0.02)[0] == TUNED


def test_without_shared_real_english_the_long_form_set_is_said_to_be_missing(tmp_path, monkeypatch, capsys):
    from speechtl.recipe import data as recipe_data
    from speechtl.recipe.config import RecipeConfig
    from speechtl.training.writer import WriterConfig

    monkeypatch.setattr(recipe_data, "find_shared", lambda relative: None)  # a clone with no ../shared beside it
    config = RecipeConfig(writer=WriterConfig()).changed(data__longform="auto", data_dir=str(tmp_path))
    assert recipe_data.longform_sets(config) == ()
    assert "no shared/data/real-en-dev/manifest.jsonl" in capsys.readouterr().out
    assert recipe_data.general_test_manifest(config) == ""


def test_near_spellings_are_kept_where_dev_loses_nothing_and_real_english_stays_within_the_bound():
    from speechtl.recipe.twopass import near_choice

    plain = {"config": "plain", "wer": 0.16, "guard_wer": 0.049}
    tie = {"config": "near", "wer": 0.16, "guard_wer": 0.050}
    assert near_choice(plain, [tie], max_guard=0.051)["config"] == "near"  # a tie keeps them on
    assert near_choice(plain, [{**tie, "wer": 0.161}], max_guard=0.051)["config"] == "plain"  # dev lost
    assert near_choice(plain, [{**tie, "guard_wer": 0.052}], max_guard=0.051)["config"] == "plain"  # real English lost
    assert near_choice(plain, [{**tie, "guard_wer": None}], max_guard=None)["config"] == "near"  # no real set to guard
    assert near_choice(plain, [], max_guard=0.051) is plain
    # of several, the best on dev; of equals the strictest (rows come strictest first)
    loose = {**tie, "config": "looser"}
    assert near_choice(plain, [tie, loose], max_guard=0.051)["config"] == "near"
    assert near_choice(plain, [tie, {**loose, "wer": 0.15}], max_guard=0.051)["config"] == "looser"
    assert near_choice(plain, [{**tie, "guard_wer": 0.06}, loose], max_guard=0.051)["config"] == "looser"


def test_spotting_is_tuned_strict_first_within_the_real_english_bound():
    """recipe.twopass.tune_spotting (the adapted writer's spotting is tuned again with it):
    Whisper's margins strict to loose, then the CTC model alone, each over the thresholds high
    to low; the first within TERMS_TUNE_TOLERANCE of the best dev WER whose real-English WER
    stays within the bound wins, then near spellings where dev loses nothing."""
    from speechtl.recipe.config import RecipeConfig
    from speechtl.recipe.twopass import tune_spotting

    c = RecipeConfig().changed(two_pass__thresholds=(0.5, -1.0), two_pass__whisper_margins=(None, -2.0, -4.0),
                               two_pass__near_spellings=(0.85,))
    prompt = TwoPassConfig(top_terms=8, spot_threshold=None, whisper_margin=None)
    dev = {(0.5, -2.0): 0.18, (-1.0, -2.0): 0.17, (0.5, -4.0): 0.152, (-1.0, -4.0): 0.15, (0.5, None): 0.16,
           (-1.0, None): 0.14}
    real = {(-1.0, None): 0.09}  # the CTC model alone writes terms into real English
    measured = []

    def measure(configs):
        measured.extend(configs)
        return [{"config": k, "wer": 0.15 if k.near_spelling else dev[k.spot_threshold, k.whisper_margin],
                 "guard_wer": real.get((k.spot_threshold, k.whisper_margin), 0.05)} for k in configs]

    best, rows = tune_spotting(c, measure, {"config": prompt, "wer": 0.2, "guard_wer": 0.05}, max_guard=0.055)
    assert [(k.whisper_margin, k.spot_threshold) for k in measured[:6]] == [
        (-2.0, 0.5), (-2.0, -1.0), (-4.0, 0.5), (-4.0, -1.0), (None, 0.5), (None, -1.0)]
    # -1 / None is the best on dev but costs real English; 0.5 / -4 is within 0.5 points of 0.15
    spotted = replace(prompt, spot_threshold=0.5, whisper_margin=-4.0)
    assert measured[6:] == [replace(spotted, near_spelling=0.85)]  # judged by Whisper: near spellings tried, dev no worse
    assert best["config"] == replace(spotted, near_spelling=0.85) and len(rows) == 7


def test_a_routed_writer_s_long_form_pass_is_the_original_s_measured_once(alphabet, sample_waves):
    from speechtl.recipe.longform import adapted_longform

    sets, windows = recording(alphabet, sample_waves)
    original = ScriptedLongWhisper("the court", "the court", windows)
    tp = two_pass(alphabet, ScriptedLongWhisper("the court en banc", "the quart", windows)).with_whisper(
        ScriptedLongWhisper("the court en banc", "the quart", windows), general=original)
    term_windows = replace(TUNED, long_form="term-windows")
    # the original's own long-form pass, as its tuning measured it (12 s): the adapted writer's
    # rows compare with it and the term windows' time counts it, with no row of their own
    alone = {"long-test": {"wer": 0.0, "cer": 0.0, "term_recall": None, "recordings": 1, "seconds": 12.0, "rtf": 0.3}}
    chosen, rows, said = adapted_longform(tp, term_windows, sets, tp.vocabulary, 0.02, alone)
    assert "adapted writer/whisper" not in rows["long-test"]
    row = rows["long-test"]["adapted writer/whisper-terms+term-windows"]
    assert row["seconds"] >= 12.0
    # the original's "the court" where no term was heard (not the adapted writer's "the quart"),
    # the adapted writer's "en banc" (not said) in the window that heard it: lost to the original alone
    assert row["wer"] == pytest.approx(2 / (2 * windows))
    assert said.startswith("every windowed setting lost") and chosen == replace(term_windows, long_form="whisper")
