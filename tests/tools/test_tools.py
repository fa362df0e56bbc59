"""Every script in tools/ imports and answers --help: a benchmark that no longer starts
is found here, not when someone needs its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = sorted((Path(__file__).resolve().parents[2] / "tools").glob("*.py"))


def test_the_tools_folder_is_found():
    assert len(TOOLS) >= 10


@pytest.mark.parametrize("script", TOOLS, ids=lambda p: p.name)
def test_a_tool_starts_and_explains_itself(script):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120,
                          cwd=script.parents[1])
    assert done.returncode == 0, done.stderr[-1500:]
    assert "usage:" in done.stdout and "Traceback" not in done.stderr
