"""The LM stage: n-gram LMs from domain text mixed with real English at each tried
weight, then the decoding settings tuned on the held-out-engine dev set, one step
after another (each keeps the best so far): the mix with alpha and beta, the OOV
offset, the term weight, term spotting. The term settings must also pass a guard:
on real general dev speech (when prepared) they may not raise WER by more than
``MAX_TERMS_WER_COST`` over the same decoder with terms off. The tuned decoder is
saved with the model.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..constants import MAX_TERMS_WER_COST, TERMS_TUNE_TOLERANCE
from ..data.manifest import ManifestEntry, read_manifest
from ..model.loader import Bundle
from ..text import normalize
from ..vocabulary import Vocabulary
from .config import RecipeConfig
from .outputs import DataOut, LMOut, Posteriors, TrainOut

if TYPE_CHECKING:
    from ..decode.beam import BeamDecoder
    from ..decode.tune import Guard


def stage_lm(c: RecipeConfig, data: DataOut, trained: TrainOut, adapted: Bundle, vocabulary: Vocabulary,
             evaluation_sets: dict[str, list[ManifestEntry]], posteriors: Posteriors) -> LMOut:
    """``evaluation_sets``: every dev/test set's validated entries (none of their
    sentences may enter the LM text; ``dev`` tunes it, ``real_dev`` guards the term
    settings); ``posteriors``: the adapted model's log-probabilities of entries.
    The beam searches run in one forked process per core."""
    from ..decode.beam import BeamConfig, BeamDecoder, decode_processes
    from ..decode.tune import Guard, tune_grid
    from ..domains import generate
    from ..lm.build import build_lm, read_lines
    from ..lm.general import general_sentences, system_lexicon
    from .data import training_text

    held_out = {e.text for entries in evaluation_sets.values() for e in entries}
    domain = [s for s in generate(c.domain, c.lm.sentences, c.seed + 2000) if normalize(s) not in held_out]
    if c.lm.text:
        domain += list(read_lines([c.lm.text]))
    domain += [s for s in training_text(c) if normalize(s) not in held_out]  # the text the training audio speaks
    real = real_transcripts(c, data.train, held_out)
    if c.lm.general:
        real += [s for s in general_sentences() if s not in held_out]
    lexicon = system_lexicon() if c.lm.lexicon else frozenset()
    dev = evaluation_sets["dev"][: c.data.dev_utterances]
    logprobs, refs = posteriors(dev), [e.text for e in dev]
    processes = decode_processes()

    def tune(decoder: BeamDecoder, guard: Guard | None = None, tolerance: float = 0.0, **grid):
        return tune_grid(decoder, logprobs, refs, adapted.frame_shift, processes=processes, guard=guard,
                         tolerance=tolerance, **grid)

    # 1. the mix: domain text repeated `weight` times next to the real English once (0: domain text only)
    candidates = {}
    for weight in c.lm.mix_weights:
        lines = domain * max(weight, 1) + (real if weight else [])
        path = c.work_path / "lm" / f"{c.domain}-{c.lm.order}gram-mix{weight}.arpa"
        # weight 0 is the LM as it was before real text: domain text only, no word list
        stats = build_lm(lines, path, order=c.lm.order, vocabulary=vocabulary, lexicon=lexicon if weight else ())
        decoder = BeamDecoder(adapted.alphabet, path, Vocabulary(), BeamConfig(beam_width=c.decoding.beam_width))
        result = tune(decoder, alpha=c.decoding.alphas, beta=c.decoding.betas)
        candidates[weight] = (result, path, stats, decoder)
        print(f"LM mix {weight}: {stats.ngrams} n-grams, dev WER {100 * result.wer:.2f}% "
              f"(alpha {result.config.alpha}, beta {result.config.beta})", flush=True)
    weight = min(candidates, key=lambda w: candidates[w][0].wer)
    mix, lm_path, stats, decoder = candidates[weight]
    decoder = decoder.with_changes(alpha=mix.config.alpha, beta=mix.config.beta)
    # 2-4. OOV offset, then the terms' weight, then term spotting, each on top of the last
    oov = tune(decoder, unk_score_offset=c.decoding.unk_offsets)
    decoder = decoder.with_changes(unk_score_offset=oov.config.unk_score_offset)
    # the term settings may not cost real general speech more than MAX_TERMS_WER_COST
    guard, terms_off = general_guard(adapted, decoder, evaluation_sets.get("real_dev", []), posteriors, processes)
    with_terms = decoder.with_changes(vocabulary=vocabulary)
    # each from mild to strong: the mildest within TERMS_TUNE_TOLERANCE of the best
    terms = tune(with_terms, guard, TERMS_TUNE_TOLERANCE, hotword_weight=tuple(sorted(c.decoding.term_weights)))
    tuned = with_terms.with_changes(hotword_weight=terms.config.hotword_weight)
    spot = tune(tuned, guard, TERMS_TUNE_TOLERANCE,
                spot_threshold=(None,) + tuple(sorted(c.decoding.spot_thresholds, reverse=True)))
    tuned = tuned.with_changes(spot_threshold=spot.config.spot_threshold)
    general = None if guard is None else {"lm": terms_off, "lm_terms": terms.guard_wer, "lm_terms_spot": spot.guard_wer}
    if general:
        print("real dev speech WER: " + ", ".join(f"{k} {100 * v:.2f}%" for k, v in general.items()), flush=True)
    steps = {"lm": mix.wer, "lm_oov": oov.wer, "lm_terms": terms.wer, "lm_terms_spot": spot.wer}
    grid = [dict(g, step="mix", mix=w) for w, (r, *_) in candidates.items() for g in r.grid]
    grid += [dict(g, step=name) for name, r in (("oov", oov), ("terms", terms), ("spot", spot)) for g in r.grid]
    tuned.save(trained.model, {"tuned_on": data.dev, "dev_wer": steps, "lm_mix_weight": weight, "grid": grid})
    # the domain-only LM with its own best alpha/beta, kept to show what the real text adds
    domain_only = candidates.get(0)
    return LMOut(lm=str(lm_path), ngrams=tuple(stats.ngrams), lm_mix_weight=weight, alpha=tuned.config.alpha,
                 beta=tuned.config.beta, unk_score_offset=tuned.config.unk_score_offset,
                 hotword_weight=tuned.config.hotword_weight, spot_threshold=tuned.config.spot_threshold,
                 lexicon_words=len(lexicon), real_lm_sentences=len(real), dev_wer=steps, general_dev_wer=general,
                 domain_only_lm=({"lm": str(domain_only[1]), "alpha": domain_only[0].config.alpha,
                                  "beta": domain_only[0].config.beta} if domain_only and weight != 0 else None))


def general_guard(adapted: Bundle, decoder: BeamDecoder, entries: list[ManifestEntry], posteriors: Posteriors,
                  processes: int | None = None) -> tuple[Guard | None, float | None]:
    """A :class:`Guard` of real general dev speech against ``decoder``'s WER on it with
    terms off (None without prepared real dev speech), and that WER."""
    from ..decode.tune import Guard

    if not entries:
        print("no real dev speech prepared (`speechtl prepare`): term settings tuned without the "
              "general-speech guard", flush=True)
        return None, None
    guard = Guard(posteriors(entries), [e.text for e in entries], adapted.frame_shift, max_wer=0.0)
    terms_off = guard.wer(decoder, processes)
    return dataclasses.replace(guard, max_wer=terms_off + MAX_TERMS_WER_COST), terms_off


def real_transcripts(c: RecipeConfig, train_manifest: str, exclude: set[str]) -> list[str]:
    """Transcripts of the real speech in training: real sentences for the LM."""
    synth_root = str(c.data_path.resolve())
    return [e.text for e in read_manifest(train_manifest)
            if not e.audio_filepath.startswith(synth_root) and normalize(e.text) not in exclude]
