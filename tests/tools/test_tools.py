"""Every script in tools/ imports and answers --help: a benchmark that no longer starts
is found here, not when someone needs its figures. The scripts run in this process
(``runpy``, as ``__main__``): their imports are the suite's, so each costs milliseconds,
not a fresh interpreter's seconds."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

TOOLS = sorted((Path(__file__).resolve().parents[2] / "tools").glob("*.py"))


def test_the_tools_folder_is_found():
    assert len(TOOLS) >= 10


@pytest.mark.parametrize("script", TOOLS, ids=lambda p: p.name)
def test_a_tool_starts_and_explains_itself(script, monkeypatch, capsys):
    monkeypatch.chdir(script.parents[1])
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    monkeypatch.syspath_prepend(str(script.parent))
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(script), run_name="__main__")
    assert exit_.value.code in (0, None)
    assert "usage:" in capsys.readouterr().out
