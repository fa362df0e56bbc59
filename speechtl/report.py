"""A run's report: comparison table, training curve, worst utterances; JSON, Markdown, HTML.

The HTML page is self-contained (plots embedded as PNG data), so it can be mailed
or attached to a ticket as one file.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .fileio import write_json, write_text
from .metrics import EPS, CorpusScore


@dataclass(frozen=True)
class Row:
    """One line of the comparison table: a model and decoding on one test set."""

    test_set: str
    model: str  # base | adapted
    method: str  # greedy | +LM | +LM+terms
    wer: float
    cer: float
    term_recall: float | None
    term_precision: float | None
    utterances: int


@dataclass
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    worst: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # test set -> utterances
    term_misses: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)  # config, base checkpoint, hardware, timings

    def add_worst(self, test_set: str, result: CorpusScore, count: int = 10) -> None:
        self.worst[test_set] = worst_utterances(result, count)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "facts": self.facts, "rows": [r.__dict__ for r in self.rows],
                "history": self.history, "worst": self.worst, "term_misses": self.term_misses}

    def write(self, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
        out = Path(out_dir)
        plots = {"curve": self._curve_png(), "comparison": self._comparison_png()}
        paths = {"json": out / "report.json", "markdown": out / "report.md", "html": out / "report.html"}
        for name, png in plots.items():
            if png:
                (out / f"{name}.png").parent.mkdir(parents=True, exist_ok=True)
                (out / f"{name}.png").write_bytes(png)
                paths[name] = out / f"{name}.png"
        write_json(paths["json"], self.to_json())
        write_text(paths["markdown"], self.markdown(plots))
        write_text(paths["html"], self.html(plots))
        return paths

    def table_rows(self) -> list[list[str]]:
        return [[r.test_set, r.model, r.method, f"{100 * r.wer:.2f}", f"{100 * r.cer:.2f}", _pct(r.term_recall),
                 _pct(r.term_precision), str(r.utterances)] for r in self.rows]

    HEADER = ["test set", "model", "decoding", "WER %", "CER %", "term recall %", "term precision %", "utts"]

    def markdown(self, plots: dict[str, bytes | None]) -> str:
        lines = [f"# {self.title}", ""]
        lines += [f"- **{k}**: {v}" for k, v in self.facts.items() if not isinstance(v, dict)]
        lines += ["", "| " + " | ".join(self.HEADER) + " |", "|" + "---|" * len(self.HEADER)]
        lines += ["| " + " | ".join(r) + " |" for r in self.table_rows()]
        if plots.get("curve"):
            lines += ["", "![training curve](curve.png)"]
        if plots.get("comparison"):
            lines += ["", "![comparison](comparison.png)"]
        for test_set, utts in self.worst.items():
            lines += ["", f"## Worst utterances: {test_set}", ""]
            for u in utts:
                lines += [f"- `{u['id']}` WER {100 * u['wer']:.0f}%", "  ```", f"  REF: {u['alignment'][0]}",
                          f"  HYP: {u['alignment'][1]}", "  ```"]
        for key, misses in self.term_misses.items():
            lines += ["", f"## Missed terms: {key}", "", "| term | decoded as |", "|---|---|"]
            lines += [f"| {m['term']} | {m['decoded'] or '(deleted)'} |" for m in misses[:40]]
        return "\n".join(lines) + "\n"

    def html(self, plots: dict[str, bytes | None]) -> str:
        esc = html.escape
        facts = "".join(f"<li><b>{esc(str(k))}</b>: {esc(str(v))}</li>" for k, v in self.facts.items()
                        if not isinstance(v, dict))
        head = "".join(f"<th>{esc(h)}</th>" for h in self.HEADER)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in self.table_rows())
        images = "".join(f'<img alt="{name}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                         for name, png in plots.items() if png)
        worst = ""
        for test_set, utts in self.worst.items():
            worst += f"<h2>Worst utterances: {esc(test_set)}</h2>"
            for u in utts:
                worst += (f"<p><code>{esc(u['id'])}</code> WER {100 * u['wer']:.0f}%</p>"
                          f"<pre>REF: {esc(u['alignment'][0])}\nHYP: {esc(u['alignment'][1])}</pre>")
        misses = ""
        for key, items in self.term_misses.items():
            misses += f"<h2>Missed terms: {esc(key)}</h2><table><tr><th>term</th><th>decoded as</th></tr>"
            misses += "".join(f"<tr><td>{esc(m['term'])}</td><td>{esc(m['decoded'] or '(deleted)')}</td></tr>"
                              for m in items[:40]) + "</table>"
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(self.title)}</title><style>"
                "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
                "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}img{max-width:100%}"
                "pre{background:#f6f6f6;padding:6px}</style></head><body>"
                f"<h1>{esc(self.title)}</h1><ul>{facts}</ul><table><tr>{head}</tr>{body}</table>"
                f"{images}{worst}{misses}</body></html>\n")

    def _curve_png(self) -> bytes | None:
        if not self.history:
            return None
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(7, 3.5))
        steps = [h["step"] for h in self.history]
        ax.plot(steps, [h["train_loss"] for h in self.history], "o-", label="train loss")
        ax.set_xlabel("step")
        ax.set_ylabel("CTC loss")
        ax2 = ax.twinx()
        ax2.plot(steps, [100 * h["dev_wer"] for h in self.history], "s--", color="tab:red", label="dev WER %")
        ax2.set_ylabel("dev WER %")
        fig.legend(loc="upper center", ncol=2)
        return _png(fig)

    def _comparison_png(self) -> bytes | None:
        if not self.rows:
            return None
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(self.rows) + 1))
        labels = [f"{r.test_set} / {r.model} / {r.method}" for r in self.rows]
        ax.barh(labels, [100 * r.wer for r in self.rows], label="WER %")
        ax.barh(labels, [100 * (r.term_recall or 0) for r in self.rows], height=0.3, label="term recall %")
        ax.invert_yaxis()
        ax.legend()
        ax.set_xlabel("%")
        return _png(fig)


def worst_utterances(result: CorpusScore, count: int = 10) -> list[dict[str, Any]]:
    """The ``count`` utterances with the most word errors, with their aligned ref/hyp."""
    worst = sorted(result.utterances, key=lambda u: (u.words.errors, u.id), reverse=True)[:count]
    return [{"id": u.id, "wer": u.words.rate, "alignment": _aligned(u.alignment)} for u in worst]


def _aligned(pairs: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """REF and HYP lines with words padded to line up; errors in upper case."""
    ref, hyp = [], []
    for r, h in pairs:
        width = max(len(r), len(h))
        wrong = r != h
        ref.append((r.upper() if wrong else r).ljust(width))
        hyp.append((h.upper() if wrong else h).ljust(width))
    return " ".join(ref).replace(EPS.upper(), EPS), " ".join(hyp).replace(EPS.upper(), EPS)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    _pyplot().close(fig)
    return buf.getvalue()
