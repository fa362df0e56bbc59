import re

import pytest

from speechtl.domains import available_domains, domain_terms, generate
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


@pytest.mark.parametrize("domain", available_domains())
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
def test_generated_text_speaks_every_term_early(domain):
    # each term is written once before any is written twice: 600 sentences (the CPU preset's
    # corpus is about 500) hold every term 3000 do; drawn at random they held about 80%
    texts = [normalize(s) for s in generate(domain, 3000, seed=0)]
    terms = domain_terms(domain)
    writable = {words for words, n in term_coverage(texts, terms).items() if n}
    early = {words for words, n in term_coverage(texts[:600], terms).items() if n}
    assert len(writable) / len(terms) > 0.95
    assert early == writable


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


def test_a_train_third_of_the_transcripts_is_in_neither_held_out_split(tmp_path):
    """data.text="heldout": the user's past transcripts train, the other files stay dev and test."""
    from speechtl.domains.heldout import split_of, heldout_sentences, transcript_text

    for i in range(24):
        (tmp_path / f"CASE{i:02d}.txt").write_text(
            f"D: Do you take metformin for case number {i} now?\nP: Yes, I feel fine most days, thank you.\n",
            encoding="utf-8")
    (tmp_path / "SOURCE.md").write_text("not a transcript", encoding="utf-8")
    case = {f"CASE{i:02d}.txt": str(i) for i in range(24)}
    splits = {name: split_of(name, train=True) for name in case}
    assert {"dev", "test", "train"} <= set(splits.values())
    assert all(split_of(name) == "dev" for name, split in splits.items() if split == "dev")  # dev unchanged

    def cases(sentences):
        return {s.split("number ")[1].split()[0] for s in sentences if "number" in s}

    dev = heldout_sentences("medical", "dev", tmp_path, train=True)
    test = heldout_sentences("medical", "test", tmp_path, train=True)
    text = transcript_text(tmp_path)
    assert cases(dev) and cases(dev) <= {case[n] for n, s in splits.items() if s == "dev"}  # at most 3 per term
    assert cases(test) and cases(test) <= {case[n] for n, s in splits.items() if s == "test"}
    assert cases(text) == {case[n] for n, s in splits.items() if s == "train"}
    assert "Yes, I feel fine most days, thank you." in text  # training text needs no term
    both = heldout_sentences("medical", "test", tmp_path)  # without it: the train third is test
    assert cases(both) & cases(text) and not cases(test) & cases(text)


def test_heldout_sentences_do_not_change_with_the_process_s_string_hashing(tmp_path):
    """A sentence with two terms of one length counts for the same one in every process
    (the medical test set once differed from run to run with PYTHONHASHSEED)."""
    import os
    import subprocess
    import sys

    drugs = ["metformin", "valsartan", "diltiazem", "verapamil", "glipizide", "albuterol"]
    for i in range(12):
        (tmp_path / f"CASE{i:02d}.txt").write_text("".join(
            f"P: I take {a} in the morning and {b} at night, doctor number {n}.\n"
            for n, (a, b) in enumerate(zip(drugs, drugs[1:] + drugs[:1]))), encoding="utf-8")
    code = ("import sys; from speechtl.domains.heldout import heldout_sentences; "
            "print(heldout_sentences('medical', 'test', sys.argv[1]))")
    runs = {subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in range(6)}
    assert len(runs) == 1 and "metformin" in runs.pop()


def test_a_domain_is_one_folder(tmp_path, monkeypatch):
    """Adding a domain: copy a recipe folder, change its terms and sentences; the library,
    the CLI's choices and the recipe runner find it by name."""
    import shutil

    from speechtl.cli.parser import build_parser
    from speechtl.domains import BUILT_IN, DOMAINS_ENV, available_domains, domain_folder

    folder = tmp_path / "aviation"
    shutil.copytree(BUILT_IN / "legal", folder)
    (folder / "terms.csv").write_text("term,category\nsquawk,radio\nvee one,speed\nrotate,speed\n", encoding="utf-8")
    (folder / "sentences.py").write_text(
        "def sentence(rng, terms):\n"
        "    return f\"Tower, we will {rng.choice([t.text for t in terms])} at runway {rng.randint(1, 36)}.\"\n",
        encoding="utf-8")
    (folder / "heldout.txt").write_text("Cleared to land, squawk seven thousand.\n"
                                        "Passing vee one, rotate now please.\n", encoding="utf-8")
    monkeypatch.setenv(DOMAINS_ENV, str(tmp_path))
    assert "aviation" in available_domains() and domain_folder("aviation") == folder
    assert {t.text for t in domain_terms("aviation")} == {"squawk", "vee one", "rotate"}
    sentences = generate("aviation", 50, seed=0, general_share=0.2)
    assert sentences == generate("aviation", 50, seed=0, general_share=0.2)
    assert any(s.startswith("Tower") for s in sentences) and not all(s.startswith("Tower") for s in sentences)
    args = build_parser().parse_args(["synth", "--domain", "aviation", "--sentences", "3", "--output-dir", "x"])
    assert args.domain == "aviation"
    from speechtl.domains.heldout import heldout_sentences

    assert heldout_sentences("aviation", "dev") + heldout_sentences("aviation", "test")


def _syllables(word: str) -> int:
    """A rough count: vowel groups, a silent final "e" not counted."""
    word = word.lower()
    n = len(re.findall(r"[aeiouy]+", word))
    if n > 1 and word.endswith("e") and not word.endswith(("le", "ee")):
        n -= 1
    return max(1, n)


@pytest.mark.parametrize("domain", ["medical", "legal"])
def test_a_hint_respells_the_whole_term(domain):
    # a hint stands for every word of its term in the synthesized audio: "negligence per se"
    # hinted "per SAY" was spoken without "negligence" though its transcript holds it
    short = []
    for t in domain_terms(domain):
        if t.pronunciation and len(t.text.split()) > 1 and not t.pronunciation.startswith("[["):
            said = sum(_syllables(w) for w in t.pronunciation.replace("-", " ").split())
            if said < 0.85 * sum(_syllables(w) for w in t.text.split()):
                short.append(f"{t.text!r}: {t.pronunciation!r}")
    assert not short, short
