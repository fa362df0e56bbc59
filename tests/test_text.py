import pytest

from speechtl.text import ALPHABET, normalize, number_to_words, ordinal_to_words, out_of_alphabet, year_to_words

CASES = [
    # (input, expected) — the edge cases the normalizer exists for
    ("Hello, World!", "hello world"),
    ("  many   spaces\tand\nnewlines ", "many spaces and newlines"),
    ("", ""),
    ("?!...", ""),
    ("Dr. Smith", "doctor smith"),
    ("Mr. and Mrs. Jones vs. the State", "mister and missus jones versus the state"),
    ("e.g. aspirin, i.e. a drug; etc.", "for example aspirin that is a drug et cetera"),
    ("No. 7", "number seven"),
    ("Any night sweats? No. Okay.", "any night sweats no okay"),
    ("don't", "don't"),
    ("the patient's chart", "the patient's chart"),
    ("the patients' charts", "the patients charts"),
    ("‘quoted’ “text”", "quoted text"),
    ("It’s curly", "it's curly"),
    ("rock 'n' roll", "rock n roll"),
    ("well-known side—effect", "well known side effect"),
    ("Café naïve façade", "cafe naive facade"),
    ("Straße", "strasse"),
    ("0", "zero"),
    ("7", "seven"),
    ("13", "thirteen"),
    ("42", "forty two"),
    ("100", "one hundred"),
    ("121", "one hundred twenty one"),
    ("1,000", "one thousand"),
    ("1,234,567", "one million two hundred thirty four thousand five hundred sixty seven"),
    ("007", "zero zero seven"),
    ("2.5", "two point five"),
    ("0.05", "zero point zero five"),
    ("-5", "minus five"),
    ("1999", "nineteen ninety nine"),
    ("1905", "nineteen oh five"),
    ("1900", "nineteen hundred"),
    ("2000", "two thousand"),
    ("2005", "two thousand five"),
    ("2015", "twenty fifteen"),
    ("the 1990s", "the nineteen nineties"),
    ("1st 2nd 3rd 4th 11th 12th 21st 40th 100th", "first second third fourth eleventh twelfth twenty first fortieth one hundredth"),
    ("5 mg", "five milligrams"),
    ("1 mg", "one milligram"),
    ("2.5mg", "two point five milligrams"),
    ("10 ml", "ten milliliters"),
    ("500 mcg", "five hundred micrograms"),
    ("1500 mg", "fifteen hundred milligrams"),
    ("95%", "ninety five percent"),
    ("38.5°C", "thirty eight point five degrees celsius"),
    ("BP 120/80", "bp one hundred twenty over eighty"),
    ("and/or", "and or"),
    ("$5", "five dollars"),
    ("$1", "one dollar"),
    ("$5.50", "five dollars and fifty cents"),
    ("€20", "twenty euros"),
    ("3:30 p.m.", "three thirty p m"),
    ("10:00", "ten o'clock"),
    ("9:05", "nine oh five"),
    ("A & B", "a and b"),
    ("1+1=2", "one plus one equals two"),
    ("mg without a number", "mg without a number"),
    ("中文 text", "中文 text"),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_normalize_table(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize("text,_", CASES)
def test_normalize_is_idempotent(text, _):
    once = normalize(text)
    assert normalize(once) == once


def test_output_stays_in_alphabet_for_ascii_input():
    text = "Dr. O'Neil prescribed 2.5 mg (twice daily) — see note #4 @ 10:30!"
    assert out_of_alphabet(normalize(text)) == set()


def test_unknown_script_is_kept_for_validation_to_report():
    assert out_of_alphabet(normalize("中文")) == {"中", "文"}


def test_number_helpers():
    assert number_to_words(10**12 + 1) == "one trillion one"
    assert number_to_words(-21) == "minus twenty one"
    assert ordinal_to_words(2) == "second"
    assert year_to_words(1066) == "ten sixty six"
    assert set("".join(ALPHABET)) >= set("abcdefghijklmnopqrstuvwxyz'")


def test_the_longest_run_of_heard_words_a_text_leaves_out():
    """Words a recognizer heard (misspelled as a CTC model spells them) against a text that
    stops early, starts late or drops a word here and there."""
    from speechtl.text import longest_left_out

    heard = "it is ofbbically unnecessary for us to point out how luminous these criticisms are".split()
    assert longest_left_out(heard, "it is obviously unnecessary for us to point out how luminous these criticisms are".split()) == 0
    assert longest_left_out(heard, "for us to point out how luminous these criticisms are".split()) == 4  # the start
    assert longest_left_out(heard, "it is obviously unnecessary for us to point out how".split()) == 4  # the end
    assert longest_left_out(heard, "it is unnecessary for us to point out luminous these criticisms".split()) == 1
    # a run ends where the text wrote a word of its own in it
    assert longest_left_out("a b c d e f".split(), "a x f".split()) == 3
    assert longest_left_out([], "a b".split()) == 0 and longest_left_out("a b".split(), []) == 2
