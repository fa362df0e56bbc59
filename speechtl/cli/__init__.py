"""The ``speechtl`` command.

    speechtl transcribe hearing.wav dictations/ --model runs/legal/best --format srt --output-dir out/
    speechtl evaluate --model runs/legal/best --manifest data/test.jsonl --output-dir runs/legal/eval
    speechtl train --base facebook/wav2vec2-base-960h --train-manifest train.jsonl \\
        --dev-manifest dev.jsonl --output-dir runs/mine --set max_steps=500 --set freeze.trainable_layers=4
    speechtl prepare mini-librispeech --source data/raw/LibriSpeech --output-dir data/real
    speechtl demo

Exit status: 0 all done; 1 done, but something was skipped (each skip listed on stderr,
a count at the end; ``--strict`` fails on the first one instead); 2 bad arguments, input
or setup, one line on stderr, before any work starts where it can be checked; 3 an
unexpected error (a bug: rerun with -v for the traceback).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Sequence

from ..errors import SpeechtlError
from .commands import (cmd_build_lm, cmd_demo, cmd_evaluate, cmd_prepare, cmd_pseudo_label, cmd_segment, cmd_synth,
                       cmd_train, cmd_transcribe, output_paths)
from .exits import EXIT_BUG, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from .parser import build_parser

__all__ = ["EXIT_BUG", "EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "build_parser", "main", "output_paths"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="speechtl: %(message)s")
    _quiet_transformers(args.verbose)
    try:
        commands = {"transcribe": cmd_transcribe, "evaluate": cmd_evaluate, "train": cmd_train,
                    "build-lm": cmd_build_lm, "synth": cmd_synth, "segment": cmd_segment, "prepare": cmd_prepare, "pseudo-label": cmd_pseudo_label, "demo": cmd_demo}
        return commands[args.command](args)
    except SpeechtlError as exc:
        print(f"speechtl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("speechtl: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: say so, with the way to the details
        if args.verbose:
            raise
        print(f"speechtl: unexpected error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
              f" (rerun with -v for the traceback, and please report it)", file=sys.stderr)
        return EXIT_BUG


def _quiet_transformers(verbose: bool) -> None:
    """transformers' warnings and progress bars off (unless -v), without importing it
    (seconds; inference does not need it): it reads these variables when imported."""
    if verbose:
        return
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:  # already imported (the CLI called in-process)
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
