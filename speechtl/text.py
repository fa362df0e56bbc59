"""The one text normalizer used for training labels, LM text and scoring.

Everything that compares or learns from text goes through :func:`normalize`, so a
transcript, an LM sentence and a hypothesis are always in the same form:

    >>> normalize("Dr. Smith gave 2.5 mg of Warfarin at 3:30 p.m.")
    'doctor smith gave two point five milligrams of warfarin at three thirty p m'

The output uses lowercase letters, the apostrophe and single spaces. Letters
that have no ASCII form (``"中"``) are kept on purpose, so that the alphabet
check can report them instead of the normalizer silently dropping words.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from typing import Sequence

LETTERS = "abcdefghijklmnopqrstuvwxyz"
APOSTROPHE = "'"
#: Characters a normalized text may contain besides the space between words.
ALPHABET: tuple[str, ...] = tuple(LETTERS) + (APOSTROPHE,)

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_ORDINAL_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth",
    "eight": "eighth", "nine": "ninth", "twelve": "twelfth",
}

# Abbreviations that end in a period; matched case-insensitively as whole words.
ABBREVIATIONS: dict[str, str] = {
    "dr.": "doctor", "mr.": "mister", "mrs.": "missus", "ms.": "miss", "st.": "saint",
    "prof.": "professor", "jr.": "junior", "sr.": "senior", "mt.": "mount",
    "vs.": "versus", "v.": "versus", "etc.": "et cetera", "e.g.": "for example",
    "i.e.": "that is", "approx.": "approximately", "dept.": "department",
    "a.m.": "a m", "p.m.": "p m",
}
# "No." is "number" only before a number (_NUMBER_ABBREV_RE): Whisper writes a spoken
# answer "No." (an interview's "Any night sweats? No." became "number" when it was an
# abbreviation)

# Units written after a number: (singular, plural).
UNITS: dict[str, tuple[str, str]] = {
    "mg": ("milligram", "milligrams"), "mcg": ("microgram", "micrograms"),
    "µg": ("microgram", "micrograms"), "ug": ("microgram", "micrograms"),
    "g": ("gram", "grams"), "kg": ("kilogram", "kilograms"),
    "ml": ("milliliter", "milliliters"), "cc": ("cc", "cc"),
    "mm": ("millimeter", "millimeters"), "cm": ("centimeter", "centimeters"),
    "km": ("kilometer", "kilometers"), "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"),
    "mmhg": ("millimeter of mercury", "millimeters of mercury"),
    "bpm": ("beat per minute", "beats per minute"), "iu": ("unit", "units"),
    "%": ("percent", "percent"),
}

SYMBOLS: dict[str, str] = {"&": " and ", "+": " plus ", "@": " at ", "=": " equals "}
CURRENCIES: dict[str, tuple[str, str, str, str]] = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
}
_FOLD = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}
_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "–": "-", "—": "-", "‑": "-"})


def number_to_words(n: int) -> str:
    """Cardinal in American English without 'and': 121 -> 'one hundred twenty one'."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (" " + _ONES[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + (" " + number_to_words(rest) if rest else "")
    if n >= 10**15:
        return digits_to_words(str(n))
    for scale, name in _SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            return number_to_words(head) + " " + name + (" " + number_to_words(rest) if rest else "")
    raise AssertionError("unreachable")


def digits_to_words(digits: str) -> str:
    """Read digit by digit: '007' -> 'zero zero seven'."""
    return " ".join(_ONES[int(d)] for d in digits)


def ordinal_to_words(n: int) -> str:
    words = number_to_words(n).split()
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        words[-1] = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year_to_words(n: int) -> str:
    """How years are spoken: 1999 -> 'nineteen ninety nine', 2015 -> 'twenty fifteen'."""
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return number_to_words(n)
    head, tail = divmod(n, 100)
    if tail == 0:
        return number_to_words(head) + " hundred"
    if tail < 10:
        return number_to_words(head) + " oh " + _ONES[tail]
    return number_to_words(head) + " " + number_to_words(tail)


def _integer_words(digits: str) -> str:
    if len(digits) > 1 and digits.startswith("0"):
        return digits_to_words(digits)
    n = int(digits)
    if len(digits) == 4 and 1100 <= n <= 2099:
        return year_to_words(n)
    return number_to_words(n)


def _plural(word: str) -> str:
    if word.endswith("y"):
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x")) else "s")


def _number_words(num: str) -> str:
    """A number as written (no commas): integer or decimal."""
    whole, _, frac = num.partition(".")
    words = _integer_words(whole) if whole else "zero"
    if frac:
        words += " point " + digits_to_words(frac)
    return words


_NUM = r"\d+(?:\.\d+)?"


def _currency(match: re.Match[str]) -> str:
    one, many, sub_one, sub_many = CURRENCIES[match.group(1)]
    whole, _, frac = match.group(2).partition(".")
    amount = int(whole)
    words = f"{number_to_words(amount)} {one if amount == 1 else many}"
    if frac:
        cents = int((frac + "0")[:2])
        if cents:
            words += f" and {number_to_words(cents)} {sub_one if cents == 1 else sub_many}"
    return f" {words} "


def _unit(match: re.Match[str]) -> str:
    num, unit = match.group(1), match.group(2).lower()
    one, many = UNITS[unit]
    return f" {_number_words(num)} {one if num == '1' else many} "


def _time(match: re.Match[str]) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    if minute == 0:
        return f" {number_to_words(hour)} o'clock "
    if minute < 10:
        return f" {number_to_words(hour)} oh {_ONES[minute]} "
    return f" {number_to_words(hour)} {number_to_words(minute)} "


def _decade(match: re.Match[str]) -> str:
    words = _integer_words(match.group(1)).split()
    words[-1] = _plural(words[-1])
    return " " + " ".join(words) + " "


_ABBREV_RE = re.compile(
    r"(?<![\w.])(" + "|".join(re.escape(a) for a in sorted(ABBREVIATIONS, key=len, reverse=True)) + r")(?=\s|$)"
)
_NUMBER_ABBREV_RE = re.compile(r"(?<![\w.])no\.\s*(?=\d)")
_CURRENCY_RE = re.compile(r"([$£€])\s?(\d+(?:\.\d+)?)")
_UNIT_RE = re.compile(
    r"(" + _NUM + r")\s*(" + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True)) + r")(?![\w])"
)
_DEGREE_RE = re.compile(r"(" + _NUM + r")\s*°\s*([cf])?(?![a-z])")
_TIME_RE = re.compile(r"\b(\d{1,2}):([0-5]\d)\b")
_ORDINAL_RE = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_DECADE_RE = re.compile(r"\b(\d{4})s\b")
_RATIO_RE = re.compile(r"(?<=\d)\s*/\s*(?=\d)")
_MINUS_RE = re.compile(r"(?:(?<=\s)|^)-(?=\d)")
_DIGIT_GROUP_RE = re.compile(r"(?<=\d),(?=\d{3}\b)")
_NUMBER_RE = re.compile(_NUM)
_APOSTROPHE_EDGE_RE = re.compile(r"(?<![^\W\d_])'|'(?![^\W\d_])")
_SPACES_RE = re.compile(r"\s+")


def _fold_unicode(text: str) -> str:
    text = text.translate(_QUOTES)
    if text.isascii():  # most text: nothing to fold
        return text
    text = "".join(_FOLD.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    # µ is a unit prefix, not a letter to fold; NFKD would turn it into Greek mu.
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("μ", "µ")


def _is_punctuation(ch: str) -> bool:
    return ch != APOSTROPHE and not ch.isspace() and unicodedata.category(ch)[0] in "PSZC"


# the same rule for ASCII text as one table lookup per character
_ASCII_PUNCTUATION = str.maketrans({chr(c): " " for c in range(128) if _is_punctuation(chr(c))})


def _drop_punctuation(text: str) -> str:
    if text.isascii():
        return text.translate(_ASCII_PUNCTUATION)
    return "".join(" " if _is_punctuation(ch) else ch for ch in text)


def normalize(text: str) -> str:
    """Normalize ``text`` to lowercase words over :data:`ALPHABET` (see module doc)."""
    text = _fold_unicode(text).lower()
    text = _NUMBER_ABBREV_RE.sub(" number ", text)
    text = _ABBREV_RE.sub(lambda m: f" {ABBREVIATIONS[m.group(1)]} ", text)
    text = _DIGIT_GROUP_RE.sub("", text)
    text = _CURRENCY_RE.sub(_currency, text)
    text = _DEGREE_RE.sub(
        lambda m: f" {_number_words(m.group(1))} degrees"
        + {"c": " celsius", "f": " fahrenheit", None: ""}[m.group(2)] + " ",
        text,
    )
    text = _UNIT_RE.sub(_unit, text)
    text = _TIME_RE.sub(_time, text)
    text = _ORDINAL_RE.sub(lambda m: f" {ordinal_to_words(int(m.group(1)))} ", text)
    text = _DECADE_RE.sub(_decade, text)
    text = _RATIO_RE.sub(" over ", text)
    text = _MINUS_RE.sub(" minus ", text)
    text = _NUMBER_RE.sub(lambda m: f" {_number_words(m.group(0))} ", text)
    for symbol, word in SYMBOLS.items():
        text = text.replace(symbol, word)
    text = _drop_punctuation(text)
    # Keep apostrophes inside words (don't, patient's); drop quote marks around them.
    text = _APOSTROPHE_EDGE_RE.sub(" ", text)
    return _SPACES_RE.sub(" ", text).strip()


def out_of_alphabet(text: str, alphabet: tuple[str, ...] | frozenset[str] = ALPHABET) -> set[str]:
    """Characters of ``text`` (other than spaces) that ``alphabet`` lacks."""
    allowed = set(alphabet)
    return {ch for ch in text if ch != " " and ch not in allowed}


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“(]?[A-Z0-9])")


def split_sentences(line: str) -> list[str]:
    """Split a line of running text into sentences, keeping "Dr. Smith" together."""
    parts = _SENTENCE_END.split(line.strip())
    sentences: list[str] = []
    for part in parts:
        if sentences and (sentences[-1].lower().endswith(tuple(ABBREVIATIONS))
                          or _NUMBER_ABBREV_RE.search(sentences[-1][-4:].lower() + " " + part[:1])):
            sentences[-1] += " " + part
        else:
            sentences.append(part)
    return [s for s in sentences if s]


# Whisper's own bound: a text that compresses better is a repetition loop (it retries the window)
MAX_COMPRESSION_RATIO = 2.4


def compression_ratio(text: str) -> float:
    """Bytes of the text over bytes zlib needs: repetition loops compress far better than speech."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def longest_left_out(heard: Sequence[str], written: Sequence[str]) -> int:
    """The most words in a row of ``heard`` that ``written`` leaves out, by the word-level
    edit alignment of the two (ties go to leaving words out, so that a text which stops
    early leaves its tail out in one run rather than in pieces between substitutions).
    The heard words may be misspelled ("ofbbically"): a misspelling is a substitution,
    one step, like any other word written differently."""
    rows, cols = len(heard), len(written)
    cost = [[i + j if not (i and j) else 0 for j in range(cols + 1)] for i in range(rows + 1)]
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            cost[i][j] = min(cost[i - 1][j - 1] + (heard[i - 1] != written[j - 1]),
                             cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    i, j, run, longest = rows, cols, 0, 0
    while i > 0:  # back from the end; words written but not heard end a run as words matched do
        if cost[i][j] == cost[i - 1][j] + 1:
            i, run = i - 1, run + 1
            longest = max(longest, run)
        elif j and cost[i][j] == cost[i - 1][j - 1] + (heard[i - 1] != written[j - 1]):
            i, j, run = i - 1, j - 1, 0
        else:
            j, run = j - 1, 0
    return longest
