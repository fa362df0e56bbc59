"""The ``speechtl`` command's arguments: one subparser per command."""

from __future__ import annotations

import argparse

from ..constants import DEFAULT_BATCH_SIZE, DEFAULT_WHISPER, LONG_FORMS
from ..domains import available_domains
from ..lm.arpa import DEFAULT_ORDER
from .exits import EXIT_USAGE

FORMATS = ("txt", "json", "srt")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        self.exit(EXIT_USAGE, f"speechtl: error: {message} (see `{self.prog} --help`)\n")


def _number(kind, low, name: str, above: bool = False, high=None):
    """An argparse type: ``kind`` at least ``low`` (above it with ``above``), at most ``high``."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value != value or (value <= low if above else value < low) or (high is not None and value > high):
            bounds = f"above {low}" if above else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{text} is out of range ({bounds}"
                                             + (f", at most {high})" if high is not None else ")"))
        return value
    parse.__name__ = name
    return parse


COUNT = _number(int, 1, "count")  # 1, 2, ...
NON_NEGATIVE = _number(int, 0, "non-negative integer")
SECONDS = _number(float, 0.0, "seconds", above=True)
NON_NEGATIVE_SECONDS = _number(float, 0.0, "seconds")
PROBABILITY = _number(float, 0.0, "probability", high=1.0)
LM_ORDER = _number(int, 2, "order", high=6)  # pyctcdecode loads bigram LMs and up; KenLM's build reads up to 6-grams


def FINITE(text: str) -> float:  # noqa: N802 (an argparse type, named like the others)
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="speechtl", description="Adapt pretrained speech recognizers to a domain.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("transcribe", help="transcribe audio files and folders")
    t.add_argument("paths", nargs="+", help="audio files or folders (searched recursively)")
    t.add_argument("--model", required=True, help="model folder or Hugging Face hub id")
    t.add_argument("--format", choices=FORMATS, default="txt")
    t.add_argument("--output-dir", help="write one file per input here, mirroring the inputs' folders "
                                        "(default: print to stdout); existing outputs are kept")
    t.add_argument("--overwrite", action="store_true", help="transcribe again inputs whose output exists")
    _add_inference_args(t)
    _add_decoding_args(t)
    _add_two_pass_arg(t)
    t.add_argument("--chunk-length", type=SECONDS, default=None, help="seconds per chunk for long audio")
    t.add_argument("--stride-length", type=NON_NEGATIVE_SECONDS, default=None, help="seconds of context each side of a chunk")

    e = sub.add_parser("evaluate", help="WER/CER of a model on a manifest, with results files")
    e.add_argument("--model", required=True)
    e.add_argument("--manifest", required=True)
    e.add_argument("--output-dir", default="results")
    e.add_argument("--set-name", help="name used in results file names (default: manifest file name)")
    e.add_argument("--strict", action="store_true", help="fail on the first bad entry instead of skipping it")
    _add_two_pass_arg(e)
    _add_inference_args(e)
    _add_decoding_args(e)

    lm = sub.add_parser("build-lm", help="build a KenLM n-gram LM (ARPA) from domain text")
    lm.add_argument("--text", action="append", default=[], required=True,
                    help="text file or folder of .txt files (repeatable)")
    lm.add_argument("--terms", help="vocabulary file (.txt or .csv): its terms join the LM text")
    lm.add_argument("--output", required=True, help="ARPA file to write")
    lm.add_argument("--order", type=LM_ORDER, default=DEFAULT_ORDER, help="n-gram order, 2 to 6")
    lm.add_argument("--prune", type=NON_NEGATIVE, nargs="*", default=[],
                    help="minimum count per order, e.g. 0 0 2 2 drops 3- and 4-grams seen once")
    lm.add_argument("--general-english", action="store_true",
                    help="mix speechtl's real-English sentences (LJ Speech, LibriSpeech, VCTK transcripts) into the text")
    lm.add_argument("--lexicon", metavar="auto|FILE",
                    help="real-word list made known to the LM (auto: the system's, e.g. wamerican-large), "
                         "so only letter soup pays the OOV offset")
    lm.add_argument("--attach-to", metavar="MODEL_DIR", help="save the LM decoder next to this model")
    lm.add_argument("--tune-manifest", help="with --attach-to: tune alpha/beta/term weight on this dev manifest")

    tr = sub.add_parser("train", help="fine-tune a checkpoint on manifests")
    tr.add_argument("--base", required=True, help="checkpoint to start from: hub id or folder (with --writer: a "
                                                  "Whisper, offline name or CTranslate2 folder)")
    tr.add_argument("--writer", action="store_true",
                    help="fine-tune Whisper's decoder (the two-pass's writer) instead; --set takes WriterConfig fields")
    tr.add_argument("--train-manifest", required=True)
    tr.add_argument("--dev-manifest")
    tr.add_argument("--output-dir", required=True)
    tr.add_argument("--strict", action="store_true", help="fail on the first bad manifest entry instead of skipping it")
    tr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a TrainConfig field, e.g. max_steps=500 or freeze.trainable_layers=all")

    sy = sub.add_parser("synth", help="synthesize a multi-voice training corpus from text")
    src = sy.add_mutually_exclusive_group(required=True)
    src.add_argument("--domain", choices=available_domains(),
                     help="a domain's sentences (recipes/*, or a folder under $SPEECHTL_DOMAINS)")
    src.add_argument("--text", action="append", help="text file(s) or folders: one sentence per line")
    sy.add_argument("--terms", help="vocabulary file: pronunciation hints and term coverage (default: the domain's)")
    sy.add_argument("--hours", type=_number(float, 0.0, "hours", above=True), default=None, help="target hours of audio (built-in domains)")
    sy.add_argument("--sentences", type=COUNT, default=None, help="how many sentences (built-in domains)")
    sy.add_argument("--general-share", type=PROBABILITY, default=0.2, help="share of everyday English mixed in")
    sy.add_argument("--voices", help="comma-separated voice names (default: every installed voice)")
    # defaults: SynthConfig's (synth/corpus.py), applied where a flag is left out
    sy.add_argument("--dev-voices", type=NON_NEGATIVE, help="voices held out for dev.jsonl")
    sy.add_argument("--seed", type=int)
    sy.add_argument("--workers", type=COUNT)
    sy.add_argument("--noise-prob", type=PROBABILITY)
    sy.add_argument("--reverb-prob", type=PROBABILITY)
    sy.add_argument("--output-dir", required=True)
    sy.add_argument("--no-progress", action="store_true")

    sg = sub.add_parser("segment", help="cut a long recording into utterances by aligning its transcript")
    sg.add_argument("--model", required=True)
    sg.add_argument("--audio", required=True)
    sg.add_argument("--transcript", required=True, help="text file: the whole recording's transcript")
    sg.add_argument("--output-dir", required=True)
    sg.add_argument("--min-confidence", type=FINITE, default=None, help="drop segments below this log-probability")

    pr = sub.add_parser("prepare", help="turn a real corpus in its published layout into speaker-split manifests")
    pr.add_argument("corpus", choices=("mini-librispeech", "speechocean762", "vctk", "ljspeech"))
    pr.add_argument("--source", required=True, help="the corpus folder (downloaded there first with --download)")
    pr.add_argument("--output-dir", required=True, help="manifests go to OUTPUT_DIR/CORPUS/{train,dev,test}.jsonl")
    pr.add_argument("--download", action="store_true", help="fetch the corpus from its official source first")

    pl = sub.add_parser("pseudo-label", help="label untranscribed recordings with a teacher, filtered, as a manifest")
    pl.add_argument("paths", nargs="+", help="audio files or folders (searched recursively)")
    pl.add_argument("--output-dir", required=True, help="manifest.jsonl, rejected.jsonl and labels/ go here; "
                                                        "a rerun labels only new recordings")
    pl.add_argument("--teacher", default=DEFAULT_WHISPER,
                    help="whisper-tiny.en, whisper-base or a CTranslate2 Whisper folder (needs speechtl[teacher])")
    pl.add_argument("--second-teacher", metavar="MODEL", help="a speechtl model (folder or 'general'): its "
                    "agreement with the teacher becomes a filter")
    pl.add_argument("--terms", help="vocabulary file: its terms are given to Whisper as hotwords")
    pl.add_argument("--no-progress", action="store_true")

    d = sub.add_parser("demo", help="built-in default: build a tiny model on the shipped sample, then transcribe and evaluate it")
    d.add_argument("--output-dir", default="runs/demo")
    d.add_argument("--steps", type=COUNT, default=300)
    return parser


def _add_two_pass_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--two-pass", nargs="?", const="", default=None, metavar="WHISPER",
                   help="Whisper (default: the model's two-pass.json, else whisper-tiny.en) prompted with the terms "
                        "the model hears, then term spotting over its words (needs speechtl[teacher])")
    p.add_argument("--long-form", choices=LONG_FORMS, default=None,
                   help="with --two-pass, how recordings over one Whisper window are written (default: the model's "
                        "two-pass.json, else term-windows: Whisper's own long-form words, the windows where the "
                        "model hears a term written prompted; windows: every window prompted; whisper: Whisper's own)")


def _add_decoding_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--decoder", choices=("auto", "greedy", "beam"), default="auto",
                   help="auto: beam search with the model's LM if it has one, else greedy")
    p.add_argument("--lm", help="ARPA/KenLM file to decode with (overrides the model's own)")
    p.add_argument("--terms", help="vocabulary file (.txt or .csv) of terms to boost, added at decode time")
    p.add_argument("--beam-width", type=COUNT, default=None)
    p.add_argument("--spot-threshold", type=FINITE, default=None,
                   help="term spotting after the search with this threshold (overrides the model's tuned one)")
    p.add_argument("--no-spotting", action="store_true", help="switch off term spotting the model was tuned with")
    p.add_argument("--processes", type=COUNT, default=None, help="beam-search worker processes")


def _add_inference_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch-size", type=COUNT, default=DEFAULT_BATCH_SIZE)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--int8", action=argparse.BooleanOptionalAction, default=False,
                   help="CPU: int8 encoder layers (faster, small WER cost)")
