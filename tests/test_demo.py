import pytest

from speechtl.cli import main


@pytest.mark.slow
def test_demo_learns_the_shipped_sample(tmp_path, capsys):
    """The one-minute smoke run: opt-in with `pytest -m slow`."""
    assert main(["demo", "--output-dir", str(tmp_path), "--steps", "300"]) == 0
    out = capsys.readouterr().out
    assert "[4/4] scoring" in out
    wer = float(out.split("WER ")[1].split("%")[0])
    assert wer < 10.0
    for name in ("recogs-sample-greedy.txt", "errs-sample-greedy.txt", "results-sample-greedy.json"):
        assert (tmp_path / "results" / name).is_file()
