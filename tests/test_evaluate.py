"""evaluate: one acoustic pass, every decoding scored, results files written."""

import soundfile as sf

from speechtl.data.manifest import ManifestEntry
from speechtl.decode.policy import Decoding
from speechtl.evaluate import evaluate_methods
from speechtl.vocabulary import Vocabulary

from .decode.test_beam import peaky


def test_every_method_is_scored_on_the_same_logprobs_and_written(tmp_path, tiny_bundle, alphabet):
    entries = [ManifestEntry("u1", "unused.wav", 1.0, "take metformin"), ManifestEntry("u2", "unused.wav", 1.0, "hello")]
    logprobs = [peaky(alphabet, "take metformin"), peaky(alphabet, "helo")]
    vocabulary = Vocabulary(["metformin"])
    results = evaluate_methods(tiny_bundle, entries, tmp_path, "dev", {"greedy": Decoding(alphabet)}, vocabulary,
                               logprobs=logprobs)
    ev = results["greedy"]
    assert ev.score.wer == 1 / 3 and ev.terms.recall == 1.0
    assert (tmp_path / "recogs-dev-greedy.txt").is_file() and (tmp_path / "wer-summary-dev-greedy.txt").is_file()
    assert "helo" in (tmp_path / "errs-dev-greedy.txt").read_text()
    assert ev.files["terms_json"].is_file()


def test_an_undecodable_file_is_skipped_and_listed_not_fatal(tmp_path, tiny_bundle, sample_waves, alphabet):
    good = tmp_path / "good.wav"
    sf.write(good, sample_waves[0], 16_000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF, but no audio")  # e.g. replaced after the manifest was validated
    entries = [ManifestEntry("good", str(good), len(sample_waves[0]) / 16_000, "a b"),
               ManifestEntry("bad", str(bad), 1.0, "c d")]
    ev = evaluate_methods(tiny_bundle, entries, tmp_path / "out", "dev", {"greedy": Decoding(alphabet)})["greedy"]
    assert [u.id for u in ev.score.utterances] == ["good"]
    assert [r.id for r in ev.skipped] == ["bad"] and "bad.wav" in ev.skipped[0].reason
