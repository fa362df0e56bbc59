"""What each ``speechtl`` command does, once its arguments are parsed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from ..errors import SpeechtlError
from .exits import EXIT_OK, EXIT_PARTIAL
from .inference import check_inference_args, decoding_for, on_gpu, terms, with_two_pass
from .outputs import OutputIndex, Source, audio_sources, output_paths


def cmd_transcribe(args: argparse.Namespace) -> int:
    from ..data.audio import audio_info
    from ..fileio import write_text
    from ..model.loader import load_pretrained
    from ..transcribe import Transcriber, to_json, to_srt

    _check_output_dir(args.output_dir)
    check_inference_args(args)
    sources, problems = _audio_sources(args.paths, "transcribe")
    inputs = [s.path for s in sources]
    failures = len(problems)
    if args.format == "srt" and not args.output_dir and len(inputs) > 1:
        raise SpeechtlError("srt output for several files needs --output-dir")

    # Each input gets its own output, tied to it by a record: a rerun keeps the outputs of
    # unchanged inputs, redoes the rest, and never overwrites a file it did not write.
    outputs, existing, foreign, index = {}, set(), [], None
    if args.output_dir:
        outputs = output_paths(sources, Path(args.output_dir), args.format)
        index = OutputIndex(Path(args.output_dir))
        states = {s.path: "new" if args.overwrite else index.state(outputs[s.path], s) for s in sources}
        existing = {f for f, state in states.items() if state == "done"}
        foreign = [f for f, state in states.items() if state == "foreign"]
        for f in foreign:
            print(f"speechtl: skipped {f}: {outputs[f]} exists and speechtl has no record of writing it from "
                  f"this input (--overwrite replaces it)", file=sys.stderr)
    by_path = {s.path: s for s in sources}
    inputs = [f for f in inputs if f not in existing and f not in foreign]
    for f in inputs:
        try:
            if audio_info(f).truncated:
                print(f"speechtl: warning: {f} is cut off (its header promises more audio than the file "
                      f"holds): transcribing what is there", file=sys.stderr)
        except SpeechtlError:
            pass  # reported as skipped below, when it fails to load
    done = 0
    if inputs:
        kwargs = {k: v for k, v in (("chunk_length_s", args.chunk_length), ("stride_length_s", args.stride_length)) if v is not None}
        bundle = load_pretrained(args.model, inference=True)
        decoding = decoding_for(args, bundle)
        transcriber = Transcriber(bundle, device=args.device, batch_size=args.batch_size,
                                  decoding=with_two_pass(args, decoding), int8=args.int8,
                                  half=on_gpu(args.device), **kwargs)
        for result in transcriber.transcribe_files(inputs, progress=not args.no_progress):
            if result.error:
                print(f"speechtl: skipped {result.path}: {result.error}", file=sys.stderr)
                failures += 1
                continue
            body = {"txt": lambda r: r.text + "\n", "json": lambda r: json.dumps(to_json(r)) + "\n",
                    "srt": to_srt}[args.format](result)
            if args.output_dir:
                write_text(outputs[Path(result.path)], body)
                index.add(outputs[Path(result.path)], by_path[Path(result.path)])
            elif args.format == "txt" and len(inputs) > 1:
                print(f"{result.path}\t{result.text}")
            else:
                sys.stdout.write(body)
            sys.stdout.flush()
            done += 1
    why = " (done before from the same input; --overwrite redoes them)" if existing else ""
    print(f"speechtl: {done} transcribed, {len(existing)} kept{why}, "
          + (f"{len(foreign)} not overwritten, " if foreign else "") + f"{failures} failed", file=sys.stderr)
    return EXIT_PARTIAL if failures or foreign else EXIT_OK


def _audio_sources(paths: Sequence[str], what: str) -> tuple[list[Source], list[str]]:
    """Audio files named or found under folders (each once), and the problems with the rest,
    each already reported on stderr as skipped; none at all is an error."""
    sources, problems = audio_sources(paths)
    if not sources:
        raise SpeechtlError(f"no audio to {what}" + (f" ({'; '.join(problems)})" if problems else ""))
    for problem in problems:
        print(f"speechtl: skipped {problem}", file=sys.stderr)
    return sources, problems


def _audio_inputs(paths: Sequence[str], what: str) -> tuple[list[Path], list[str]]:
    sources, problems = _audio_sources(paths, what)
    return [s.path for s in sources], problems


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..data.manifest import report_rejected
    from ..decode.policy import terms_to_score
    from ..evaluate import evaluate_manifest
    from ..model.loader import load_pretrained

    _check_output_dir(args.output_dir)
    check_inference_args(args)
    bundle = load_pretrained(args.model, inference=True)
    if args.device:
        bundle.model.to(args.device)
    decoding = decoding_for(args, bundle)
    vocabulary = terms_to_score(decoding, terms(args))
    decoding = with_two_pass(args, decoding, vocabulary)
    ev, validation = evaluate_manifest(bundle, args.manifest, args.output_dir, args.set_name, decoding=decoding,
                                       vocabulary=vocabulary, batch_size=args.batch_size,
                                       progress=not args.no_progress, int8=args.int8, strict=args.strict)
    skipped = report_rejected(list(validation.rejected) + list(ev.skipped))
    line = f"WER {100 * ev.score.wer:.2f}%  CER {100 * ev.score.cer:.2f}%"
    if ev.terms is not None and ev.terms.recall is not None:
        line += f"  term recall {100 * ev.terms.recall:.2f}%"
    print(f"{line}  ({len(ev.score.utterances)} utterances, {skipped} skipped)")
    print(f"results: {ev.files['errs'].parent}")
    return EXIT_PARTIAL if skipped else EXIT_OK


# a temporary file untouched this long was left by a run that died (a live one writes on)
STALE_TEMP_S = 600.0


def _check_output_dir(path: str | None) -> None:
    """Fail before any work when an output folder cannot be one; clear what killed runs
    left half-written there."""
    from ..fileio import clean_stale_temps

    if path and Path(path).exists() and not Path(path).is_dir():
        raise SpeechtlError(f"--output-dir {path}: exists and is not a folder")
    if path:
        clean_stale_temps(path, recursive=True, older_than_s=STALE_TEMP_S)


def cmd_build_lm(args: argparse.Namespace) -> int:
    from ..decode.beam import BeamDecoder
    from ..lm.build import build_lm, read_lines
    from ..lm.general import general_sentences, system_lexicon
    from ..fileio import clean_stale_temps
    from ..model.loader import load_pretrained
    from ..vocabulary import Vocabulary

    # everything checked before the LM is built
    clean_stale_temps(Path(args.output).parent, Path(args.output).name, older_than_s=STALE_TEMP_S)
    if args.attach_to:
        clean_stale_temps(args.attach_to, older_than_s=STALE_TEMP_S)
    if args.tune_manifest and not args.attach_to:
        raise SpeechtlError("--tune-manifest needs --attach-to MODEL_DIR")
    if len(args.prune) > args.order:
        raise SpeechtlError(f"--prune gives {len(args.prune)} minimum counts for an order-{args.order} LM "
                            f"(at most one per order)")
    vocabulary = Vocabulary.load(args.terms) if args.terms else None
    bundle = load_pretrained(args.attach_to) if args.attach_to else None
    lines = list(read_lines(args.text)) + (general_sentences() if args.general_english else [])
    lexicon = system_lexicon(None if args.lexicon in (None, "auto") else args.lexicon) if args.lexicon else ()
    stats = build_lm(lines, args.output, args.order, args.prune, vocabulary, lexicon=lexicon)
    print(f"wrote {args.output}: order {stats.order}, n-grams {list(stats.ngrams)}, {stats.vocabulary} words")
    if bundle is None:
        return EXIT_OK
    decoder = BeamDecoder(bundle.alphabet, args.output, vocabulary)
    extra = {}
    if args.tune_manifest:
        from ..decode.tune import tune_beam
        from ..data.manifest import load_valid
        from ..evaluate import entry_logprobs

        dev = load_valid(args.tune_manifest, bundle.alphabet).kept
        result = tune_beam(decoder, entry_logprobs(bundle, dev), [e.text for e in dev], bundle.frame_shift)
        decoder = decoder.with_changes(alpha=result.config.alpha, beta=result.config.beta,
                                       hotword_weight=result.config.hotword_weight)
        extra = {"tuned_on": str(args.tune_manifest), "tuned_wer": result.wer, "grid": list(result.grid)}
        print(f"tuned: alpha {result.config.alpha}, beta {result.config.beta}, "
              f"term weight {result.config.hotword_weight}: dev WER {100 * result.wer:.2f}%")
    decoder.save(args.attach_to, extra)
    print(f"saved the LM decoder in {args.attach_to}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from ..alphabet import Alphabet
    from ..config import apply_overrides
    from ..data.manifest import load_valid, report_rejected
    from ..model.loader import load_pretrained
    from ..training import TrainConfig, train

    _check_output_dir(args.output_dir)
    if args.writer:
        return _train_writer(args)
    config = apply_overrides(TrainConfig(output_dir=args.output_dir, strict=args.strict), args.set)
    config.check()  # before the manifests and the model are read
    alphabet = Alphabet.default()
    train_set = load_valid(args.train_manifest, alphabet, args.strict)
    dev_set = load_valid(args.dev_manifest, alphabet, args.strict) if args.dev_manifest else None
    skipped = report_rejected(list(train_set.rejected) + list(dev_set.rejected if dev_set else ()))
    bundle = load_pretrained(args.base, alphabet)
    result = train(bundle, train_set.kept, dev_set.kept if dev_set else [], config)
    quality = (f"best dev WER {100 * result.best_wer:.2f}%" if dev_set else
               f"no dev set: the model with the lowest training loss ({result.best_wer:.3f})")
    for utterance in result.skipped:
        print(f"speechtl: skipped {utterance} in training (too long, or its audio failed to load)", file=sys.stderr)
    skipped += len(result.skipped)
    print(f"{quality} after {result.steps} steps; model: {result.best_dir}"
          + (f"; {skipped} utterances skipped" if skipped else ""))
    return EXIT_PARTIAL if skipped else EXIT_OK


def _train_writer(args: argparse.Namespace) -> int:
    """``speechtl train --writer``: Whisper's decoder on the manifest, exported as CTranslate2."""
    from ..alphabet import Alphabet
    from ..config import apply_overrides
    from ..data.manifest import load_valid, report_rejected
    from ..training.writer import WriterConfig, train_writer

    config = apply_overrides(WriterConfig(output_dir=args.output_dir), args.set)
    config.check()
    train_set = load_valid(args.train_manifest, Alphabet.default(), args.strict)
    skipped = report_rejected(list(train_set.rejected))
    result = train_writer(args.base, train_set.kept, config)
    print(f"writer: loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f} over {len(result.losses)} steps, "
          f"{result.windows} windows; use it with --two-pass {result.output_dir}")
    return EXIT_PARTIAL if skipped else EXIT_OK


def cmd_synth(args: argparse.Namespace) -> int:
    from ..synth.corpus import SynthConfig, synthesize_corpus
    from ..synth.domain import build_domain_corpus
    from ..vocabulary import Vocabulary

    _check_output_dir(args.output_dir)
    given = {"seed": args.seed, "dev_voices": args.dev_voices, "workers": args.workers,
             "noise_prob": args.noise_prob, "reverb_prob": args.reverb_prob}
    config = SynthConfig(**{k: v for k, v in given.items() if v is not None})
    voices = args.voices.split(",") if args.voices else None
    vocabulary = Vocabulary.load(args.terms) if args.terms else None
    if args.domain:
        report = build_domain_corpus(args.domain, args.output_dir, hours=args.hours, sentences=args.sentences,
                                     general_share=args.general_share, vocabulary=vocabulary, voices=voices,
                                     config=config, progress=not args.no_progress)
    else:
        from ..lm.build import read_lines

        lines = [line for line in read_lines(args.text) if line.strip()]
        report = synthesize_corpus(lines, args.output_dir, vocabulary, voices, config, progress=not args.no_progress)
    print(report.summary())
    print(f"manifests: {report.train_manifest} {report.dev_manifest}")
    return EXIT_PARTIAL if report.failed else EXIT_OK


def cmd_segment(args: argparse.Namespace) -> int:
    from ..fileio import read_text_file
    from ..model.loader import load_pretrained
    from ..segment import DEFAULT_MIN_CONFIDENCE, segment_recording

    _check_output_dir(args.output_dir)
    transcript = Path(args.transcript)
    if not transcript.is_file():
        raise SpeechtlError(f"{transcript}: transcript not found")
    report = segment_recording(load_pretrained(args.model, inference=True), args.audio, read_text_file(transcript, "transcript"),
                               args.output_dir, args.min_confidence if args.min_confidence is not None
                               else DEFAULT_MIN_CONFIDENCE)
    print(f"kept {len(report.kept)} segments, dropped {len(report.dropped)} below the confidence threshold")
    for s in report.dropped:
        print(f"  dropped ({s.confidence:.2f}): {s.text}", file=sys.stderr)
    print(f"manifest: {report.manifest}")
    return EXIT_OK


def cmd_prepare(args: argparse.Namespace) -> int:
    from ..data.prepare import prepare_corpus

    prepared = prepare_corpus(args.corpus, args.source, args.output_dir, download=args.download)
    for why in prepared.skipped:
        print(f"speechtl: skipped {why}", file=sys.stderr)
    print(prepared.summary())
    for split, path in prepared.manifests.items():
        print(f"  {split}: {path}")
    return EXIT_PARTIAL if prepared.skipped else EXIT_OK


def cmd_pseudo_label(args: argparse.Namespace) -> int:
    from ..decode.policy import choose_decoding
    from ..pseudo import pseudo_label
    from ..pseudo.teacher import CTCTeacher, WhisperTeacher

    _check_output_dir(args.output_dir)
    inputs, problems = _audio_inputs(args.paths, "label")
    given = terms(args)
    hotwords = " ".join(t.text for t in given) if given else None
    teacher = WhisperTeacher(args.teacher, hotwords=hotwords)
    second = None
    if args.second_teacher:
        from ..model.loader import load_pretrained
        from ..model.offline import model_folder

        bundle = load_pretrained(args.second_teacher)
        second = CTCTeacher(bundle, choose_decoding(bundle.alphabet, model_folder(args.second_teacher)),
                            args.second_teacher)
    report = pseudo_label(inputs, args.output_dir, teacher, second=second, progress=not args.no_progress)
    for failure in report.failed:
        print(f"speechtl: skipped {failure}", file=sys.stderr)
    print(report.summary())
    print(f"manifest: {report.manifest}  rejections: {report.rejected_path}")
    return EXIT_PARTIAL if report.failed or problems else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    run_demo(args.output_dir, steps=args.steps)
    return EXIT_OK
