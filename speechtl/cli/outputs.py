"""Where ``speechtl transcribe --output-dir`` writes each input's output, and which
outputs a rerun may keep.

An input's output mirrors its path below the argument it was found under
(``transcribe in/`` writes ``in/x/a.wav`` to ``out/x/a.txt``; a file named on the
command line goes to ``out/a.txt``), so adding files never moves an output. Each
output written is recorded in ``out/.speechtl-sources.jsonl`` with its input (that
relative path, the size, the modification time): a rerun keeps an output only when its
record matches the same input unchanged, redoes it when the input changed or the output
belongs to another input, and never overwrites a file it has no record of (one a person
wrote, say) unless told to.

    sources = audio_sources(["in/"])
    outputs = output_paths(sources, Path("out"), "txt")
    index = OutputIndex(Path("out"))
    index.state(outputs[s.path], s)   # "new" | "done" | "stale" | "foreign"
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import SpeechtlError

SOURCES_FILE = ".speechtl-sources.jsonl"


@dataclass(frozen=True)
class Source:
    path: Path  # the input file as found
    rel: Path  # its path below the argument it was found under (a file argument: its name)


def audio_sources(paths: Sequence[str]) -> tuple[list[Source], list[str]]:
    """Audio files named or found under folders (each once), with the problems of the
    arguments that gave none."""
    from ..data.audio import find_audio_files

    sources: dict[Path, Source] = {}
    problems = []
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            problems.append(f"{raw}: no such file or folder")
            continue
        found = find_audio_files(root)
        if root.is_dir() and not found:
            problems.append(f"{raw}: no audio files in folder")
        for f in found:  # a file named twice is handled once, under the first argument that gave it
            sources.setdefault(f, Source(f, f.relative_to(root) if root.is_dir() else Path(f.name)))
    return list(sources.values()), problems


def output_paths(sources: Sequence[Source], output_dir: Path, fmt: str) -> dict[Path, Path]:
    """One output per input: its relative path with the format's suffix; inputs that would
    share one (x.wav and x.flac) keep their extension (x.wav.txt). Two inputs that still
    would (a.wav under two arguments) are an error, before any work."""
    plain = {s.path: s.rel.with_suffix("." + fmt) for s in sources}
    counts: dict[Path, int] = {}
    for p in plain.values():
        counts[p] = counts.get(p, 0) + 1
    outputs: dict[Path, Path] = {}
    writer: dict[Path, Path] = {}
    for s in sources:
        out = output_dir / (plain[s.path] if counts[plain[s.path]] == 1 else s.rel.with_name(s.rel.name + "." + fmt))
        if out in writer:
            raise SpeechtlError(f"{writer[out]} and {s.path} would both be written to {out}: "
                                f"transcribe them into different --output-dir folders")
        writer[out] = s.path
        outputs[s.path] = out
    return outputs


class OutputIndex:
    """The record of which input each output in ``output_dir`` was written from."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self.file = output_dir / SOURCES_FILE
        self.records: dict[str, dict] = {}
        if self.file.is_file():
            for line in self.file.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    row = json.loads(line)
                    self.records[row["output"]] = row
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash: that output is redone

    def state(self, output: Path, source: Source) -> str:
        """"new" (no output), "done" (written from this input, unchanged), "stale" (written
        from another input, or this one since changed) or "foreign" (no record of it)."""
        if not output.exists():
            return "new"
        record = self.records.get(self._key(output))
        if record is None:
            return "foreign"
        return "done" if record == self._record(output, source) else "stale"

    def add(self, output: Path, source: Source) -> None:
        """Note that ``output`` now holds ``source``'s result (appended and synced: a crash
        loses at most this line, and then this output is redone)."""
        row = self._record(output, source)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with open(self.file, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records[row["output"]] = row

    def _key(self, output: Path) -> str:
        return output.relative_to(self.output_dir).as_posix()

    def _record(self, output: Path, source: Source) -> dict:
        st = source.path.stat()
        return {"output": self._key(output), "input": source.rel.as_posix(), "size": st.st_size,
                "mtime_ns": st.st_mtime_ns}
