import pytest

from speechtl.domains import DOMAINS, domain_terms, generate
from speechtl.errors import SpeechtlError
from speechtl.synth.corpus import term_coverage
from speechtl.text import normalize


@pytest.mark.parametrize("domain", ["medical", "legal"])
def test_term_lists_are_large_and_clean(domain, alphabet):
    terms = domain_terms(domain)
    assert len(terms) >= 300
    assert len({t.category for t in terms}) >= 4
    assert sum(1 for t in terms if t.pronunciation) >= 50  # hints for what engines get wrong
    for t in terms:
        assert not alphabet.unknown_characters(" ".join(t.words)), t.text


@pytest.mark.parametrize("domain", DOMAINS)
def test_generators_are_seeded_varied_and_normalizable(domain, alphabet):
    a, b = generate(domain, 400, seed=1), generate(domain, 400, seed=1)
    assert a == b and a != generate(domain, 400, seed=2)
    assert generate(domain, 600, seed=1)[:400] == a  # a longer run extends a shorter one
    assert len(set(a)) > 300
    for sentence in a:
        text = normalize(sentence)
        assert text and not alphabet.unknown_characters(text), sentence
        assert not any(ch.isdigit() for ch in text)


@pytest.mark.parametrize("domain", ["medical", "legal"])
def test_generated_text_uses_most_terms(domain):
    texts = [normalize(s) for s in generate(domain, 3000, seed=0)]
    coverage = term_coverage(texts, domain_terms(domain))
    assert sum(1 for c in coverage.values() if c) / len(coverage) > 0.9


def test_general_share_and_unknown_domain():
    mixed = generate("medical", 500, seed=0, general_share=0.5)
    pure = generate("medical", 500, seed=0, general_share=0.0)
    assert mixed != pure
    with pytest.raises(SpeechtlError, match="unknown domain"):
        generate("astrology", 1)


def test_heldout_sentences_are_disjoint_from_each_other_and_the_generator():
    from speechtl.domains import generate
    from speechtl.domains.heldout import heldout_sentences

    for domain in ("legal", "medical"):
        dev, test = heldout_sentences(domain, "dev"), heldout_sentences(domain, "test")
        assert dev and test and not set(dev) & set(test)
        generated = set(generate(domain, 5000, seed=0))
        assert not (set(dev) | set(test)) & generated
    assert heldout_sentences("general", "test") == []


def test_heldout_sentences_from_transcripts_need_a_term_and_split_by_file(tmp_path):
    from speechtl.domains.heldout import MAX_PER_TERM, heldout_sentences

    for i in range(12):
        (tmp_path / f"CASE{i:02d}.txt").write_text(
            "D: How long have you had asthma in your family?\n\nP: Just my brother, he takes metformin for sugar.\n"
            "D: OK, and how are you feeling today?\n", encoding="utf-8")
    dev, test = heldout_sentences("medical", "dev", tmp_path), heldout_sentences("medical", "test", tmp_path)
    assert dev and test  # 12 files: both splits get some
    for split in (dev, test):
        assert "OK, and how are you feeling today?" not in split  # no term
        assert split.count("How long have you had asthma in your family?") == MAX_PER_TERM
        assert all(not s.startswith(("D:", "P:")) for s in split)
