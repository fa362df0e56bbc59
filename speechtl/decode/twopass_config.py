"""The two-pass decoder's settings (decode/twopass.py), as one object saved beside the model.

    config = TwoPassConfig(top_terms=12, spot_threshold=0.25)
    write_json(model_dir / TWO_PASS_FILE, {"whisper": "whisper-base", "config": config.to_json()})
    config, writer, general = read_two_pass_file(model_dir)  # config None: no settings saved
    config = config or writer_defaults("whisper-base")  # the defaults for a writer
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ..constants import LONG_FORM_TERM_WINDOWS, LONG_FORM_WHISPER, LONG_FORM_WINDOWS, LONG_FORMS
from ..errors import SettingError, SpeechtlError
from ..fileio import read_json
from .rescore import RescoreConfig

WHISPER_WINDOW_S = 28.0  # longer audio is cut in pauses into windows of at most this (TwoPass.decode)
DEFAULT_TOP_TERMS = 8  # prompt size (the recipes tune it on dev; a few dozen terms fill Whisper's prompt)
# without a recipe's tuned settings: spotting proposes terms whose letters come near
# (per character within 1 of Whisper's words), Whisper accepts a changed sentence up to
# 2 nats less likely than its own (the medical recipe's choice; legal's was floor 0.25,
# margin -10; in both the judge kept general real speech at Whisper's own WER)
DEFAULT_TWO_PASS_SPOT_THRESHOLD = -1.0
DEFAULT_WHISPER_MARGIN = -2.0
TWO_PASS_FILE = "two-pass.json"  # the tuned settings, beside the model
# how a recording longer than one window is decoded: window by window as above
# (``LONG_FORM_WINDOWS``); by Whisper's own long-form decoding (conditioned on the text
# before), each window's words spotted and judged as above, except the windows where the
# CTC model's search heard a term, written window by window (``LONG_FORM_TERM_WINDOWS``:
# general talk keeps Whisper's own words, where a prompt of falsely heard terms only costs);
# or by Whisper's own long-form decoding alone (the long-form guard's last fallback; it reads
# no terms). tools/bench_longform.py, medical CPU preset with tiny.en, 2026-12-07, WER / term
# recall, time against faster-whisper alone: 3 synthetic interviews (26.5 min) windows 6.35 /
# 100 (1.43x), term windows 6.33 / 100 (2.17x), Whisper alone 6.44 / 71.4; real-en-dev joined
# 3.47 (1.69x), 3.18 (1.89x), 3.18; Piper's medical test read as one 12.9-minute dictation
# 12.47 / 89.8 both (1.47x, 1.57x; decode/twopass_long.TERM_DENSE_SHARE), 15.5 / 73.
# (the names live in constants.py, where the CLI's parser reads them)
DEFAULT_LONG_FORM = LONG_FORM_TERM_WINDOWS
# words of the text before each window that prompt it (TwoPassConfig.context_words), by
# offline writer where no recipe tuned them. tools/bench_longform.py sets, 2026-12-05, WER
# with 0 / 12 / 40 words (Whisper alone): Whisper base on 3 synthetic interviews 5.26 /
# 4.82 / 4.44 (4.63; without the text before it wrote a short answer "No." as "I know" or
# "Number."), on real-en-dev joined 4.05 / 4.34 / 4.77 (4.62), on 4 conversations 5.71 /
# 5.97 / 6.19 (6.58); tiny.en with 40 lost on real-en-dev joined (4.48 vs 3.76 with 0).
WRITER_CONTEXT_WORDS = {"whisper-base": 12}



@dataclass(frozen=True)
class TwoPassConfig:
    top_terms: int = DEFAULT_TOP_TERMS
    spot_threshold: float | None = DEFAULT_TWO_PASS_SPOT_THRESHOLD
    prompt_min_gain: float | None = None  # a candidate term needs this acoustic gain to be prompted (None: any)
    # spotted sentences need Whisper's log-probability within this of its own (None: the CTC gain decides)
    whisper_margin: float | None = DEFAULT_WHISPER_MARGIN
    long_form: str = DEFAULT_LONG_FORM
    # a recording's windows prompted with this many words of the text before each (0: none,
    # the windows written in batches; see TwoPass._decode_long)
    context_words: int = 0
    # Whisper's N best rescored with the CTC decoder's LM and the terms (decode/rescore.py;
    # None: Whisper's own best). Windows redone with timestamps keep Whisper's own best.
    rescore: RescoreConfig | None = None
    # short clips packed into shared Whisper windows (decode/packing.py; False: each clip its own)
    pack_clips: bool = False
    # with Whisper judging, a term spelled at least this alike the words it would replace
    # (decode/spotting.spelling_similarity) is proposed whatever its acoustic gain (None: off)
    near_spelling: float | None = None

    @property
    def judged_near_spelling(self) -> float | None:
        """``near_spelling`` where Whisper judges the proposals, else None: a spelling alike
        alone is no evidence that a term was said."""
        return self.near_spelling if self.whisper_margin is not None else None

    def without_spotting(self) -> "TwoPassConfig":
        """These settings with no term spotting: no threshold, no judge, no near spellings."""
        return replace(self, spot_threshold=None, whisper_margin=None, near_spelling=None)

    def for_clips(self) -> "TwoPassConfig":
        """These settings as short clips read them: what only long recordings use at its defaults."""
        return replace(self, long_form=DEFAULT_LONG_FORM, context_words=0)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "TwoPassConfig":
        """Settings as :meth:`to_json` wrote them (other keys, such as a grid row's WER, are ignored)."""
        if not isinstance(data, dict):
            raise SpeechtlError(f"two-pass settings must be an object of settings, not {data!r}")
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        if isinstance(values.get("rescore"), dict):
            values["rescore"] = RescoreConfig(**values["rescore"])
        return cls(**values)

    def __post_init__(self) -> None:
        if self.top_terms < 0:
            raise SettingError(f"top_terms must be >= 0, not {self.top_terms}")
        if self.near_spelling is not None and not 0 < self.near_spelling <= 1:
            raise SettingError(f"near_spelling must be above 0 and at most 1, not {self.near_spelling}")
        if self.context_words < 0:
            raise SettingError(f"context_words must be >= 0, not {self.context_words}")
        if self.long_form not in LONG_FORMS:
            raise SettingError(f"two-pass long_form must be one of {', '.join(map(repr, LONG_FORMS))}, "
                               f"not {self.long_form!r}")


def writer_defaults(writer: str) -> TwoPassConfig:
    """The settings where no recipe tuned any, for this writer (``WRITER_CONTEXT_WORDS``)."""
    return TwoPassConfig(context_words=WRITER_CONTEXT_WORDS.get(writer, 0))


def read_two_pass_file(model_dir: str | os.PathLike[str] | None) -> tuple[TwoPassConfig | None, str | None, str | None]:
    """The settings a recipe's two-pass stage saved beside the model (None where there is
    no such file: :func:`writer_defaults`), the writer it chose (None: not named; a
    folder named relative to the model folder, as the adapted writer is, as its path), and
    with an adapted writer kept, the original that writes where its text holds no term
    (``general_whisper``; None: the chosen writer writes everything)."""
    path = Path(model_dir) / TWO_PASS_FILE if model_dir else None
    if path is None or not path.is_file():
        return None, None, None
    saved = read_json(path, "two-pass settings")
    if not isinstance(saved, dict):
        raise SpeechtlError(f"{path}: the two-pass settings file holds no settings; run the recipe's "
                            f"two-pass stage again, or delete it for the defaults")
    if not saved:
        return None, None, None
    if "config" in saved:  # the settings as one object (TwoPassConfig.to_json)
        config = TwoPassConfig.from_json(saved["config"])
    else:  # files written before that: the settings side by side, the judge's margin only when tuned with it
        config = TwoPassConfig(top_terms=saved.get("top_terms", DEFAULT_TOP_TERMS),
                               spot_threshold=saved.get("spot_threshold", DEFAULT_TWO_PASS_SPOT_THRESHOLD),
                               prompt_min_gain=saved.get("prompt_min_gain"),
                               whisper_margin=saved.get("whisper_margin"),
                               long_form=saved.get("long_form", LONG_FORM_WINDOWS))
    writer, general = saved.get("whisper") or None, saved.get("general_whisper") or None
    # an adapted writer kept in the model folder (always there where an original writes beside it)
    if writer and (general or (Path(model_dir) / writer / "model.bin").is_file()):
        writer = str(Path(model_dir) / writer)
    return config, writer, general
