"""Long recordings joined from utterances, and the windows long-form decoding cuts them into."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from speechtl.data.longform import chapter_groups, join_utterances, plan_conversation, turns_of
from speechtl.data.manifest import ManifestEntry, read_manifest, write_manifest
from speechtl.decode.greedy import Hypothesis
from speechtl.errors import SpeechtlError
from tests.decode.scripted import OneByOne

SR = 16_000


def short_turns(sample_entries, count: int) -> list[ManifestEntry]:
    """0.35-second slices of the samples' speech: turns as short as "yes"."""
    answers = ("yes", "okay", "no", "right", "sure")
    return [ManifestEntry(f"short-{i}", e.audio_filepath, 0.35, answers[i % 5], speaker=e.speaker, offset=0.3)
            for i, e in zip(range(count), sample_entries * count)]


def conversation(sample_entries, tmp_path, repeats: int = 4) -> ManifestEntry:
    entries = [ManifestEntry(f"{e.id}-{k}", e.audio_filepath, e.duration, e.text, speaker=e.speaker)
               for k in range(repeats) for e in sample_entries]
    shorts = short_turns(sample_entries, len(entries) // 2)
    plan = [x for pair in zip(entries, shorts + [None] * len(entries)) for x in pair if x is not None]
    return join_utterances(plan, tmp_path / "conv.wav", (0.2, 2.0), seed=3)


def test_joined_audio_holds_each_turn_where_its_entry_says(sample_entries, sample_waves, tmp_path):
    shorts = short_turns(sample_entries, 2)
    plan = [sample_entries[0], shorts[0], sample_entries[1], shorts[1]]
    rec = join_utterances(plan, tmp_path / "rec.wav", (0.2, 2.0), seed=1)
    audio, rate = sf.read(rec.audio_filepath, dtype="float32")
    assert rate == SR and rec.duration == pytest.approx(len(audio) / SR, abs=1e-3)
    turns = turns_of(rec)
    assert [t.id for t in turns] == [e.id for e in plan] and rec.text == " ".join(e.text for e in plan)
    for t, wave in zip(turns[::2], sample_waves[:2]):  # each clip's samples, at its turn's start
        start = round(t.start * SR)
        np.testing.assert_allclose(audio[start:start + len(wave)], wave, atol=1e-3)
        assert t.end - t.start == pytest.approx(len(wave) / SR, abs=1e-3)
    for a, b in zip(turns, turns[1:]):
        assert 0.2 - 1e-3 <= b.start - a.end <= 2.0 + 1e-3
        assert not np.any(audio[round(a.end * SR) + 20: round(b.start * SR) - 20])  # silence between (times in ms)
    assert turns[1].end - turns[1].start == pytest.approx(0.35, abs=1e-3)
    # the entry round-trips through a manifest with its turns
    write_manifest(tmp_path / "r.jsonl", [rec])
    assert turns_of(read_manifest(tmp_path / "r.jsonl")[0]) == turns
    with pytest.raises(SpeechtlError):
        join_utterances([], tmp_path / "none.wav")


def test_long_form_windows_keep_every_short_turn_whole(sample_entries, tmp_path):
    """Cut for Whisper, a conversation loses no turn: every one lies inside one window,
    the windows cover the recording, and a decoder that writes each turn it hears whole
    gives back the whole transcript."""
    pytest.importorskip("faster_whisper")
    from speechtl.data.vad import covering_windows
    from speechtl.decode.policy import Decoding
    from speechtl.alphabet import Alphabet
    from speechtl.decode.twopass import TwoPass
    from speechtl.decode.twopass_config import TwoPassConfig
    from speechtl.vocabulary import Vocabulary

    rec = conversation(sample_entries, tmp_path)
    audio, _ = sf.read(rec.audio_filepath, dtype="float32")
    turns = turns_of(rec)
    assert rec.duration > 60 and sum(t.end - t.start < 0.5 for t in turns) >= 10
    windows = covering_windows(audio, 28.0)
    assert windows[0].start_s == 0 and windows[-1].end_s == len(audio) / SR
    assert all(a.end_s == b.start_s and b.end_s - b.start_s <= 28.0 for a, b in zip(windows, windows[1:]))
    for t in turns:
        assert any(w.start_s <= t.start and t.end <= w.end_s for w in windows), t.id

    class TurnHearingWhisper(OneByOne):  # writes the turns wholly inside the audio it is given
        name = "scripted"
        loaded = True  # (its threads run: no forking after it)

        def transcribe(self, wave, hotwords=None, timestamps=False, fallback=False):
            from speechtl.model.seq2seq import WhisperResult

            start = _offset(audio, wave) / SR
            end = start + len(wave) / SR
            said = [t.text for t in turns if start - 1e-3 <= t.start and t.end <= end + 1e-3]
            return WhisperResult(" ".join(said), -0.2, 0.0)

    alphabet = Alphabet.default()
    frames = len(audio) // 320
    logprobs = np.full((frames, len(alphabet)), np.log(1 / len(alphabet)), np.float32)
    tp = TwoPass(Decoding(alphabet), TurnHearingWhisper(), Vocabulary(["en banc"]),
                 TwoPassConfig(top_terms=0, spot_threshold=None, whisper_margin=None, long_form="windows"))
    hyp: Hypothesis = tp.decode([logprobs], 0.02, [audio])[0]
    assert hyp.text == rec.text


def _offset(full: np.ndarray, piece: np.ndarray) -> int:
    """Where ``piece`` starts in ``full`` (it is a slice of it)."""
    k = int(np.flatnonzero(piece)[0])
    for i in np.flatnonzero(full == piece[k]):
        o = int(i) - k
        if 0 <= o <= len(full) - len(piece) and np.array_equal(full[o:o + len(piece)], piece):
            return o
    raise AssertionError("not a slice of the recording")


def entry(utt: str, seconds: float) -> ManifestEntry:
    return ManifestEntry(utt, f"/x/{utt}.wav", seconds, "w", speaker=utt.split("-")[0])


def test_chapters_become_five_to_fifteen_minute_recordings_in_reading_order():
    entries = [entry(f"7-100-{i:04d}", 60.0) for i in range(12)]  # a 12-minute chapter
    entries += [entry(f"7-200-{i:04d}", 60.0) for i in range(3)]  # 3 minutes: joins the next one
    entries += [entry(f"7-300-{i:04d}", 60.0) for i in range(4)]
    entries += [entry(f"9-100-{i:04d}", 60.0) for i in range(20)]  # 20 minutes: cut at 15
    entries += [entry(f"11-5-{i:04d}", 60.0) for i in range(2)]  # too short, nothing to join: left out
    groups = chapter_groups(list(reversed(entries)))
    assert [[e.id for e in g][0] for g in groups] == ["7-100-0000", "7-200-0000", "9-100-0000", "9-100-0015"]
    assert [len(g) for g in groups] == [12, 7, 15, 5]
    assert all(300 <= sum(e.duration for e in g) <= 900 for g in groups)
    assert [e.id for e in groups[2]] == sorted(e.id for e in groups[2])


def test_a_conversation_takes_turns_with_the_listener_answering_briefly():
    a = [entry(f"1-1-{i}", 5.0) for i in range(6)]
    b = [entry(f"2-1-{i}", 5.0) for i in range(6)]
    shorts = [ManifestEntry(f"{s}-yes-{i}", "/x/y.wav", 0.3, "yes", speaker=s) for s in ("1", "2") for i in range(4)]
    plan = plan_conversation([a, b], shorts, short_every=3, seed=0)
    long_turns = [e for e in plan if e.duration > 1]
    assert sorted(e.id for e in long_turns) == sorted(e.id for e in a + b)  # each once
    assert [e.id for e in long_turns if e.speaker == "1"] == [e.id for e in a]  # in order
    assert sum(x.speaker != y.speaker for x, y in zip(long_turns, long_turns[1:])) >= 4  # the floor passes
    answers = [(plan[i - 1], e) for i, e in enumerate(plan) if e.duration < 1]
    assert len(answers) >= 3 and all(before.speaker != e.speaker for before, e in answers)
    with pytest.raises(SpeechtlError):
        plan_conversation([a], shorts)
