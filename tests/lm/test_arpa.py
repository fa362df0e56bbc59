import kenlm
import pytest

from speechtl.lm.arpa import estimate_arpa
from speechtl.lm.build import build_lm, lm_sentences
from speechtl.text import split_sentences
from speechtl.vocabulary import Vocabulary

SENTENCES = ["the patient takes metformin", "the patient takes aspirin daily", "take metformin twice daily",
             "the court granted the motion", "the motion to dismiss was granted"] * 3 + ["a rare word appears once"]
# A hand-written bigram model (pyctcdecode's tests keep one too): the loader must take it.
HAND_ARPA = """\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-99.0\t<s>\t-0.30103
-0.60206\t</s>
-1.0\t<unk>
-0.30103\tyes\t-0.30103
-0.60206\tno\t-0.30103

\\2-grams:
-0.1\t<s> yes
-0.4\tyes </s>
-0.3\tno </s>

\\end\\
"""


def _sum_over_vocab(model, context, vocab):
    state = kenlm.State()
    if context and context[0] == "<s>":
        model.BeginSentenceWrite(state)
        context = context[1:]
    else:
        model.NullContextWrite(state)
    for w in context:
        nxt = kenlm.State()
        model.BaseScore(state, w, nxt)
        state = nxt
    return sum(10 ** model.BaseScore(state, w, kenlm.State()) for w in vocab)


@pytest.mark.parametrize("order,prune", [(2, ()), (3, ()), (4, ()), (4, (0, 0, 2, 2))])
def test_every_context_is_a_distribution(tmp_path, order, prune):
    path = tmp_path / "lm.arpa"
    stats = estimate_arpa(SENTENCES, path, order, prune)
    model = kenlm.Model(str(path))
    assert model.order == order
    vocab = sorted({w for s in SENTENCES for w in s.split()}) + ["</s>", "<unk>"]
    for context in ([], ["<s>"], ["the"], ["<s>", "the", "patient"], ["the", "motion", "to"], ["unseen", "words"]):
        assert _sum_over_vocab(model, context, vocab) == pytest.approx(1.0, abs=1e-4), context
    assert stats.vocabulary == len(vocab) + 1  # + <s>


def test_pruning_drops_rare_ngrams(tmp_path):
    full = estimate_arpa(SENTENCES, tmp_path / "full.arpa", 3)
    pruned = estimate_arpa(SENTENCES, tmp_path / "pruned.arpa", 3, prune=(0, 2, 2))
    assert pruned.ngrams[0] == full.ngrams[0]  # unigrams are never pruned
    assert pruned.ngrams[2] < full.ngrams[2] and pruned.ngrams[1] < full.ngrams[1]


def test_lm_prefers_the_corpus_word_order(tmp_path):
    estimate_arpa(SENTENCES, tmp_path / "lm.arpa", 3)
    model = kenlm.Model(str(tmp_path / "lm.arpa"))
    assert model.score("the patient takes metformin") > model.score("metformin takes patient the")
    assert model.score("the patient takes zzz") < model.score("the patient takes aspirin")


def test_hand_written_fixture_loads(tmp_path):
    path = tmp_path / "hand.arpa"
    path.write_text(HAND_ARPA)
    model = kenlm.Model(str(path))
    assert model.score("yes") == pytest.approx(-0.1 + -0.4)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="at least 2"):
        estimate_arpa(SENTENCES, tmp_path / "x.arpa", 1)
    with pytest.raises(ValueError, match="no words"):
        estimate_arpa(["", "  "], tmp_path / "x.arpa", 3)


def test_build_normalizes_and_adds_terms(tmp_path):
    assert split_sentences("Dr. Smith saw her. She takes 5 mg! OK?") == ["Dr. Smith saw her.", "She takes 5 mg!", "OK?"]
    # "No." ends an answer, except before a number
    assert split_sentences("Any fever? No. See No. 7 today.") == ["Any fever?", "No.", "See No. 7 today."]
    assert lm_sentences(["Dr. Smith gave 2 mg. Done."], Vocabulary(["Xarelto"])) == [
        "doctor smith gave two milligrams", "done", "xarelto"]
    build_lm(["The patient takes Metformin."], tmp_path / "lm.arpa", 3, vocabulary=Vocabulary(["Xarelto"]))
    model = kenlm.Model(str(tmp_path / "lm.arpa"))
    assert "xarelto" in model and "metformin" in model and "Metformin" not in model


def test_shipped_general_text_and_lexicon_words_are_normalized():
    from speechtl.lm.general import general_sentences, system_lexicon
    from speechtl.text import normalize

    sentences = general_sentences()
    assert len(sentences) > 10_000 and sum(len(s.split()) for s in sentences) > 200_000
    assert all(normalize(s) == s for s in sentences[:2000])
    words = system_lexicon()
    if words:  # wamerican-large installed (install.sh does it on Debian)
        assert len(words) > 100_000 and "certiorari" in words and all(" " not in w for w in list(words)[:1000])


def test_lexicon_words_join_the_lm_vocabulary_with_the_unseen_word_probability(tmp_path):
    from speechtl.lm.build import build_lm

    build_lm(["the court is in session", "the court is adjourned"], tmp_path / "lm.arpa", order=2,
             lexicon=["gavel", "court"])
    unigrams = {}
    for line in (tmp_path / "lm.arpa").read_text().split("\\1-grams:")[1].split("\\2-grams:")[0].strip().splitlines():
        logp, word = line.split("\t")[:2]
        unigrams[word] = float(logp)
    assert unigrams["gavel"] == unigrams["<unk>"] < unigrams["court"]
