"""Short clips packed into one Whisper window: grouped to fit, joined with silence and
blank frames, and the window's words given back to their clips."""

import numpy as np

from speechtl.decode.greedy import Word, greedy_decode
from speechtl.decode.packing import join, pack, split
from speechtl.decode.twopass_config import TwoPassConfig

from .test_spotting import posteriors
from .scripted import ENGLISH
from .test_twopass import ScriptedWhisper, two_pass


def test_consecutive_clips_are_grouped_to_fit_a_window():
    assert pack([3.0, 4.0, 12.0, 27.0, 5.0], window_s=28.0, gap_s=1.0) == [[0, 1, 2], [3], [4]]
    assert pack([30.0, 2.0], window_s=28.0) == [[0], [1]]  # too long for any window: alone
    assert pack([], window_s=28.0) == []


def test_joined_clips_read_as_each_clip_with_silence_between(alphabet):
    a, b = posteriors(alphabet, list("the panel")), posteriors(alphabet, list("en banc"))
    waves = [np.ones(16000, np.float32), np.full(8000, 2.0, np.float32)]
    packed = join(waves, [a, b], 0.02, alphabet.blank_id, alphabet.delimiter_id, gap_s=0.5)
    assert packed.starts == (0, len(a) + 25) and len(packed.logprobs) == len(a) + 25 + len(b)
    assert len(packed.wave) == 16000 + 8000 + 8000 and not packed.wave[16000:24000].any()
    assert greedy_decode(packed.logprobs, alphabet, 0.02).text == "the panel en banc"  # the gap is blank


def test_the_window_s_words_go_back_to_their_clips_with_their_own_times():
    packed = join([np.zeros(320 * 10), np.zeros(320 * 10)], [np.zeros((10, 3)), np.zeros((10, 3))], 0.02, 0, 1, 0.2)
    # the second clip starts at frame 20 (0.4 s)
    words = [Word("yes", 0.02, 0.1), Word("no", 0.18, 0.24), Word("maybe", 0.42, 0.6)]
    first, second = split(words, packed, 0.02)
    assert first.text == "yes no" and second.text == "maybe"
    assert second.words[0] == Word("maybe", 0.02, 0.2)


def test_packed_clips_are_written_in_one_window_and_split_by_their_frames(alphabet):
    clips = ["the panel granted", "rehearing en banc", "voir dire"]
    logprobs = [posteriors(alphabet, list(c)) for c in clips]
    waves = [np.full(16000 * 3, i, np.float32) for i in range(3)]
    whisper = ScriptedWhisper("the panel granted rehearing en banc voir dire", "the panel granted rehearing en banc voir dire")
    packed = two_pass(alphabet, whisper, top_terms=2, spot_threshold=None).with_config(pack_clips=True)
    assert packed.texts(logprobs, 0.02, waves) == clips
    assert len(whisper.prompts) == 1  # one window for the three clips
    # a text that cannot be aligned to the window (more letters than frames): clip by clip
    long_text = " ".join(ENGLISH.split()[:60])
    whisper = ScriptedWhisper(long_text, long_text)
    packed = two_pass(alphabet, whisper, top_terms=0, spot_threshold=None).with_config(pack_clips=True)
    assert packed.texts(logprobs, 0.02, waves) == [long_text] * 3 and len(whisper.prompts) == 4
    assert TwoPassConfig.from_json(TwoPassConfig(pack_clips=True).to_json()).pack_clips
