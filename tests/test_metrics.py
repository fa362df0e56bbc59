import json

import pytest

from speechtl.metrics import score, score_utterance, write_results


def test_wer_and_cer_counts():
    u = score_utterance("u1", "the cat sat", "the bat sat down")
    assert (u.words.substitutions, u.words.deletions, u.words.insertions, u.words.ref_len) == (1, 0, 1, 3)
    assert u.words.rate == pytest.approx(2 / 3)
    assert u.chars.ref_len == len("the cat sat")
    assert u.alignment == (("the", "the"), ("cat", "bat"), ("sat", "sat"), ("*", "down"))


def test_texts_are_normalized_before_scoring():
    u = score_utterance("u", "Dr. Smith, 2 mg!", "doctor smith two milligrams")
    assert u.words.errors == 0 and u.chars.errors == 0


def test_empty_reference():
    assert score_utterance("u", "", "").words.rate == 0.0
    u = score_utterance("u", "", "two words")
    assert u.words.insertions == 2 and u.words.rate == 1.0
    assert u.alignment == (("*", "two"), ("*", "words"))


def test_empty_hypothesis_is_all_deletions():
    u = score_utterance("u", "a b c", "")
    assert u.words.deletions == 3 and u.words.rate == 1.0


def test_corpus_wer_weights_by_reference_length():
    result = score(["a", "b"], ["one two three four", "five"], ["one two three four", "six"])
    assert result.wer == pytest.approx(1 / 5)
    with pytest.raises(ValueError):
        score(["a"], ["x", "y"], ["x"])


def test_results_files(tmp_path):
    result = score(["u2", "u1"], ["the cat sat", "hello"], ["the bat sat", "hello there"])
    paths = write_results(tmp_path, "dev", "greedy", result)
    assert {p.name for p in paths.values()} == {
        "recogs-dev-greedy.txt", "errs-dev-greedy.txt", "wer-summary-dev-greedy.txt", "results-dev-greedy.json"}
    recogs = paths["recogs"].read_text().splitlines()
    assert recogs[0] == "u1:\tref=['hello']" and recogs[3] == "u2:\thyp=['the', 'bat', 'sat']"
    errs = paths["errs"].read_text()
    assert errs.startswith("%WER = 50.00\n")
    assert "u2:\tthe (cat->bat) sat" in errs and "1   cat -> bat" in errs and "1   there" in errs
    assert paths["summary"].read_text() == "settings\tWER\tCER\ngreedy\t50.00\t" + f"{100 * result.cer:.2f}\n"
    data = json.loads(paths["json"].read_text())
    assert data["wer"] == 0.5 and len(data["utterances"]) == 2


def test_term_recall_precision_and_misses(tmp_path):
    from speechtl.metrics import term_accuracy, write_term_report

    result = score(["a", "b"], ["the court granted the motion to dismiss today", "take xarelto and metformin"],
                   ["the court granted the motion to dismissed today", "take zarelto and metformin metformin"])
    report = term_accuracy(result, [("motion", "to", "dismiss"), ("xarelto",), ("metformin",), ("court",)])
    assert (report.in_reference, report.recognized, report.in_hypothesis) == (4, 2, 3)
    assert report.recall == 0.5 and report.precision == pytest.approx(2 / 3)  # one false "metformin"
    misses = {(m.utterance_id, m.term, m.decoded) for m in report.misses}
    assert misses == {("a", "motion to dismiss", "motion to dismissed"), ("b", "xarelto", "zarelto")}
    paths = write_term_report(tmp_path, "dev", "greedy", report)
    text = paths["terms"].read_text()
    assert text.startswith("term recall = 50.00  (2/4)") and "xarelto -> zarelto" in text


def test_a_word_inserted_beside_a_term_is_not_its_miss_one_inside_is():
    from speechtl.metrics import term_accuracy

    phrases = [("rheumatoid", "arthritis"), ("colitis",)]
    beside = score(["a"], ["like rheumatoid arthritis ulcerative colitis"],
                   ["like rheumatoid arthritis also taved colitis"])
    assert term_accuracy(beside, phrases).recall == 1.0
    before = score(["b"], ["rheumatoid arthritis"], ["uh rheumatoid arthritis"])
    assert term_accuracy(before, phrases).recall == 1.0
    inside = term_accuracy(score(["c"], ["rheumatoid arthritis"], ["rheumatoid uh arthritis"]), phrases)
    assert inside.recall == 0.0 and inside.misses[0].decoded == "rheumatoid uh arthritis"


def test_term_deleted_and_no_terms():
    from speechtl.metrics import term_accuracy

    report = term_accuracy(score(["a"], ["give warfarin now"], ["give now"]), [("warfarin",)])
    assert report.misses[0].decoded == "" and report.recall == 0.0
    empty = term_accuracy(score(["a"], ["hello"], ["hello"]), [("warfarin",)])
    assert empty.recall is None and empty.precision is None


def test_spellings_of_one_word_are_scored_as_one():
    from speechtl.metrics import score_utterance

    assert score_utterance("u", "OK, the knee hurts", "Okay the knee hurts").words.errors == 0
    assert score_utterance("u", "ok the knee hurts", "oak the knee hurts").words.errors == 1
    # a spelling of one word as two: scored as the two words on both sides
    same = score_utterance("u", "alright, the knee hurts", "All right the knee hurts")
    assert same.words.errors == 0 and same.words.ref_len == 5
