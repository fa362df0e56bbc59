import pytest

from speechtl.errors import SpeechtlError
from speechtl.vocabulary import Term, Vocabulary


def test_terms_are_normalized_and_unique():
    v = Vocabulary(["Xarelto", Term("COPD", spoken="c o p d"), "res judicata", "xarelto"])
    assert len(v) == 3
    assert v.phrases() == {("xarelto",): 1.0, ("c", "o", "p", "d"): 1.0, ("res", "judicata"): 1.0}
    assert v.unigrams() == {"xarelto", "c", "o", "p", "d", "res", "judicata"}
    assert "Res Judicata" in v and "judicata" not in v
    assert v.lm_sentences() == ["xarelto", "c o p d", "res judicata"]


def test_add_is_immutable_and_later_wins():
    v = Vocabulary(["warfarin"])
    w = v.add("Warfarin", weight=2.0, pronunciation="WAR-far-in")
    assert v.phrases()[("warfarin",)] == 1.0 and w.phrases()[("warfarin",)] == 2.0
    assert w.hints() == {"warfarin": "WAR-far-in"}
    assert w.with_weight(5.0).phrases()[("warfarin",)] == 5.0


def test_load_txt_and_csv_roundtrip(tmp_path):
    txt = tmp_path / "terms.txt"
    txt.write_text("# drugs\nXarelto\t2.5\n\nmetformin  # common\n")
    v = Vocabulary.load(txt)
    assert v.phrases() == {("xarelto",): 2.5, ("metformin",): 1.0}
    csv_path = tmp_path / "terms.csv"
    Vocabulary([Term("COPD", 1.5, "c o p d", "see oh pee dee", "condition"), Term("habeas corpus")]).save(csv_path)
    again = Vocabulary.load(csv_path)
    assert [t.text for t in again] == ["COPD", "habeas corpus"]
    assert list(again)[0] == Term("COPD", 1.5, "c o p d", "see oh pee dee", "condition")


@pytest.mark.parametrize("content,name,message", [
    ("term\tmany\n", "t.txt", "not a number"),
    ("word,weight\nx,1\n", "t.csv", "'term' column"),
    ("?!\n", "t.txt", "empty after normalization"),
    ("x\t-1\n", "t.txt", "must be a positive"),
])
def test_bad_files(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SpeechtlError, match=message):
        Vocabulary.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(SpeechtlError, match="not found"):
        Vocabulary.load(tmp_path / "nope.csv")


def test_a_text_holds_a_term_only_as_whole_words():
    v = Vocabulary(["en banc", "Xarelto", Term("COPD", spoken="c o p d")])
    assert v.written_in("rehearing en banc was granted") and v.written_in("xarelto")
    assert v.written_in("history of c o p d")
    assert not v.written_in("rehearing in bank") and not v.written_in("a broken banc")
    assert not v.written_in("pen banc") and not v.written_in("xareltos") and not v.written_in("")
