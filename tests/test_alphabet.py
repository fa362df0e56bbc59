import json

import pytest

from speechtl.alphabet import BLANK, WORD_DELIMITER, Alphabet, match_symbol
from speechtl.errors import AlphabetError


def test_default_layout(alphabet):
    assert alphabet.symbols[alphabet.blank_id] == BLANK == "<pad>"
    assert alphabet.symbols[alphabet.delimiter_id] == WORD_DELIMITER
    assert "'" in alphabet.characters and "a" in alphabet.characters


def test_encode_decode_roundtrip(alphabet):
    ids = alphabet.encode("don't stop")
    assert ids[5] == alphabet.delimiter_id
    assert alphabet.decode(ids) == "don't stop"


def test_encode_rejects_unknown_characters(alphabet):
    with pytest.raises(AlphabetError, match="'é'"):
        alphabet.encode("café")


def test_invalid_alphabets():
    with pytest.raises(AlphabetError, match="special tokens"):
        Alphabet(("a", "b"))
    with pytest.raises(AlphabetError, match="duplicate"):
        Alphabet(("<pad>", "<unk>", "|", "a", "a"))
    with pytest.raises(AlphabetError, match="without gaps"):
        Alphabet.from_vocab({"<pad>": 0, "<unk>": 2, "|": 3})


def test_save_is_hugging_face_layout(tmp_path, alphabet):
    from transformers import Wav2Vec2CTCTokenizer

    alphabet.save(tmp_path)
    assert json.loads((tmp_path / "vocab.json").read_text()) == alphabet.vocab
    tok = Wav2Vec2CTCTokenizer.from_pretrained(str(tmp_path))
    assert tok.pad_token_id == alphabet.blank_id
    assert tok.decode(alphabet.encode("hello world"), group_tokens=False) == "hello world"
    assert Alphabet.load(tmp_path) == alphabet


def test_symbols_match_case_blind():
    old = {"<pad>": 0, "|": 4, "E": 5}
    assert match_symbol("e", old) == 5 and match_symbol("<pad>", old) == 0 and match_symbol("'", old) is None
