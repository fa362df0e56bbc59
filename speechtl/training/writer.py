"""Fine-tune Whisper's decoder on a domain: the two-pass's writer learns the terms.

    from speechtl.training.writer import WriterConfig, train_writer
    result = train_writer("whisper-tiny.en", train_entries, WriterConfig(output_dir="runs/legal/writer"),
                          terms=["res judicata", "voir dire"])
    # runs/legal/writer: a CTranslate2 folder, as the original: --two-pass runs/legal/writer

Whisper hears new voices well; what it lacks is the domain's words ("rehearing on bunk"
for "rehearing en banc"). That is the decoder's knowledge, so only the decoder's blocks
train: the encoder stays frozen and each training window's encoder output is computed
once and kept (float16), so a step costs the decoder alone, cheap enough for a CPU.
With ``encoder_layers`` the encoder's top blocks train too (the states below them kept).
The token embedding (tied to the output layer, 20M of tiny.en's 39M weights) stays
frozen too: the terms are made of tokens Whisper has, and a frozen embedding keeps the
rest of English where it was. An L2-SP anchor (``anchor_weight``) pulls the blocks toward
their starting values for the same reason.

Clips are packed into windows of up to ``window_s`` seconds (:mod:`.writer_windows`).
A share of the windows (``prompt_share``, off by default) can
carry a prompt as the two-pass writes one: the terms in the window and a few others;
another (``context_share``) the text of the window before it, as Whisper's own long-form
decoding prompts each window with what it wrote before.

What a window is trained to write (``targets``): its transcript as the recipe holds it
(normalized: lowercase, numbers as words, no punctuation), or what the original writer
wrote for it, cased and punctuated, with its wrong words replaced ("own") or only its
wrong terms ("terms"; :mod:`speechtl.training.writer_targets`), so that the rest of each
target is what Whisper already writes and only the corrections are learned.

What is exported (``merge``): the trained weights, or each weight part of the way from the
original to them (:func:`interpolate_writer` does it for a writer already trained).
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.manifest import ManifestEntry
from ..errors import SpeechtlError
from ..model.whisper_writer import (WhisperTokens, encoder_below, encoder_top, export_ctranslate2, load_whisper_seq2seq,
                                    whisper_features)
from .writer_targets import term_characters
from .writer_lora import add_lora, merge_lora
from .writer_windows import Window, pack_windows, window_prompt

WRITER_INFO = "writer.json"  # beside the exported model: base, settings, losses
TARGETS = ("reference", "own", "terms")  # WriterConfig.targets


@dataclass
class WriterConfig:
    output_dir: str = "runs/writer"
    # Measured on the legal recipe (README): 40 steps at 1e-4 without prompts took the
    # two-pass from 15.07% to 11.42% WER on held-out voices, real English within 0.44 points;
    # trained with prompts (half the windows, 2e-5 or 5e-5) the writer learned to write what
    # the prompt says, and on real English wrote falsely heard terms ("made amicus brief"
    # for "made amiable himself"): +0.7 and +1.3 points. 30 steps keep the main command short.
    steps: int = 30  # optimizer steps
    batch_size: int = 8  # windows per step
    # 1e-3: the rate of the low-rank adapters below (the weights themselves took 1e-4)
    lr: float = 1e-3
    warmup_steps: int = 5
    anchor_weight: float = 0.1  # L2-SP toward the original decoder (0: off)
    window_s: float = 28.0  # clips packed per window, up to this long
    prompt_share: float = 0.0  # windows trained with a prompt of terms (see above)
    # windows trained with the window before's text as prompt: on the legal run of 2026-12-05,
    # 0.5 kept Whisper alone nearer the original on a long real recording, not the two-pass
    context_share: float = 0.0
    prompt_others: int = 4  # terms in a prompt that the window does not hold
    # what each window is trained to write: "reference", its normalized transcript; "own", the
    # original writer's text for it with the words it got wrong replaced; "terms": the same with
    # only the terms' words replaced (training.writer_targets). Trained on the lowercase
    # transcripts the writer lost names on real speech ("rocca fella" for Rockefeller: the
    # capitalized name tokens unlearned); in its own words it keeps them (README)
    targets: str = "own"
    # share of the trained change kept (1: all; 0.5: each weight halfway between the original
    # and the trained one): weight-space interpolation, as WiSE-FT (Wortsman et al. 2022)
    # keeps most of a fine-tune's in-domain gain and the original's robustness elsewhere.
    # Legal run of 2026-12-06 (README): "own" at 0.5 was the one writer within 0.5 points of the
    # original on every real set (a prepared real dev speaker, real-en-dev, held-out speakers).
    # Since the original writes wherever the adapted writer's text holds no term (real English
    # above all: decode/twopass.TwoPass.general), all of it is kept: rank-16 adapters all the way
    # gave the most term recall in both domains with real English level (README, 2026-12-07)
    merge: float = 1.0
    # the loss weight of a target token that writes a term (1: as any other): the writer learns
    # the domain's English far more than its terms (README), each term a few tokens among hundreds
    term_weight: float = 1.0
    # the encoder's top blocks (and final norm) trained too, at ``encoder_lr`` (None: ``lr``);
    # the states below them are computed once per window, as the encoder's output is with 0
    encoder_layers: int = 0
    encoder_lr: float | None = None
    # low-rank adapters (training/writer_lora.py, needs peft) instead of the blocks' weights:
    # 0 trains the weights themselves; with adapters the anchor pulls the adapters toward
    # their start and ``merge`` scales the change they make
    lora_rank: int = 16
    lora_alpha: float = 32.0
    max_grad_norm: float = 1.0
    seed: int = 0
    progress: bool = True

    def check(self) -> None:
        bad = [f"{k}={getattr(self, k)} (at least 1)" for k in ("steps", "batch_size") if getattr(self, k) < 1]
        bad += [f"{k}={getattr(self, k)} (at least 0)"
                for k in ("warmup_steps", "anchor_weight", "prompt_others", "encoder_layers", "lora_rank")
                if getattr(self, k) < 0]
        if not 0 < self.window_s <= 30:
            bad.append(f"window_s={self.window_s} (above 0, at most 30)")
        bad += [f"{k}={getattr(self, k)} (a probability, 0 to 1)" for k in ("prompt_share", "context_share")
                if not 0 <= getattr(self, k) <= 1]
        if not 0 < self.merge <= 1:
            bad.append(f"merge={self.merge} (above 0, at most 1)")
        if self.targets not in TARGETS:
            bad.append(f"targets={self.targets!r} (one of {', '.join(TARGETS)})")
        if not self.term_weight > 0:
            bad.append(f"term_weight={self.term_weight} (above 0)")
        bad += [f"{k}={getattr(self, k)} (above 0)" for k in ("lr", "encoder_lr", "lora_alpha")
                if getattr(self, k) is not None and not getattr(self, k) > 0]
        if bad:
            raise SpeechtlError("bad writer settings: " + "; ".join(bad))


@dataclass(frozen=True)
class WriterResult:
    output_dir: Path
    losses: tuple[float, ...]  # per step
    windows: int
    seconds: float


def batch_tensors(tokens: WhisperTokens, windows: Sequence[Window], prompts: Sequence[str | None],
                  terms: Sequence[str] = (), term_weight: float = 1.0):
    """Decoder inputs (batch, length) padded with <|endoftext|>, the targets (each next
    token where it is the text's or its end, -100 elsewhere) and each target's weight in
    the loss: ``term_weight`` for a token that writes one of ``terms``, 1 for the others."""
    rows = [tokens.decoder_input(w.text, p) for w, p in zip(windows, prompts)]
    length = max(len(ids) for ids, _ in rows)
    inputs = torch.full((len(rows), length), tokens.eot, dtype=torch.long)
    targets = torch.full((len(rows), length), -100, dtype=torch.long)
    weights = torch.zeros((len(rows), length))
    for i, ((ids, first), window) in enumerate(zip(rows, windows)):
        inputs[i, :len(ids)] = torch.tensor(ids)
        targets[i, first - 1:len(ids) - 1] = torch.tensor(ids[first:])
        weights[i, first - 1:len(ids) - 1] = 1.0
        if term_weight != 1.0 and terms:
            marks = tokens.marked(window.text, term_characters(window.text.strip(), terms))
            weights[i, first - 1:first - 1 + len(marks)] += (term_weight - 1.0) * torch.tensor(marks, dtype=torch.float)
    return inputs, targets, weights


def decoder_loss(model, encoded: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor,
                 weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of the targets, weighted (``weights``; None: the mean); logits are
    computed only where there is a target (the output layer over 51,864 tokens is most of
    a step's cost)."""
    hidden = model.model.decoder(input_ids=inputs, encoder_hidden_states=encoded).last_hidden_state
    keep = targets != -100
    logits = model.proj_out(hidden[keep])
    if weights is None:
        return torch.nn.functional.cross_entropy(logits.float(), targets[keep])
    losses = torch.nn.functional.cross_entropy(logits.float(), targets[keep], reduction="none")
    return (losses * weights[keep]).sum() / weights[keep].sum()


def encode_windows(model, windows: Sequence[Window], progress: bool, top_layers: int = 0) -> torch.Tensor:
    """The frozen encoder's output of every window (below its ``top_layers`` trained
    blocks), (windows, 1500, d_model) float16."""
    out = []
    with torch.inference_mode():
        for window in tqdm(windows, desc="writer: encoder", unit="window", disable=not progress or None):
            features = whisper_features([window.wave], model.config.num_mel_bins)
            out.append(encoder_below(model, features, top_layers).half())
    return torch.cat(out)


def own_words(base: str, windows: Sequence[Window], terms: Sequence[str] | None, progress: bool) -> list[Window]:
    """The windows with their texts in the original writer's words, corrected toward the
    reference everywhere or (``terms``) in the terms only (training.writer_targets). Each
    window is written greedily with timestamps, as Whisper goes through a long recording:
    without them it writes a sentence or two of a packed window and stops."""
    from ..model.seq2seq import WhisperRecognizer
    from .writer_targets import corrected_text

    recognizer = WhisperRecognizer(base, beam_size=1)
    bar = tqdm(windows, desc="writer: own words", unit="window", disable=not progress or None)
    return [dataclasses.replace(w, text=corrected_text(recognizer.transcribe(w.wave, timestamps=True).text, w.text, terms))
            for w in bar]


def train_writer(base: str, entries: Sequence[ManifestEntry], config: WriterConfig,
                 terms: Sequence[str] = ()) -> WriterResult:
    """Fine-tune ``base``'s decoder blocks on ``entries`` and export the result as a
    CTranslate2 folder at ``config.output_dir`` (with ``writer.json``)."""
    config.check()
    if not entries:
        raise SpeechtlError("no training utterances for the writer")
    started = time.time()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    model, tokens = load_whisper_seq2seq(base)
    windows = pack_windows(entries, config.window_s, config.seed)
    if config.targets != "reference":
        windows = own_words(base, windows, terms if config.targets == "terms" else None, config.progress)
    top = config.encoder_layers
    encoded = encode_windows(model, windows, config.progress, top)

    # the decoder's blocks and final norm train (and the encoder's top blocks); embeddings,
    # positions and the rest of the encoder do not
    params = {n: p for n, p in model.named_parameters()
              if n.startswith("model.decoder.") and "embed_" not in n}
    below = len(model.model.encoder.layers) - top
    trained_encoder = {n: p for n, p in model.named_parameters() if top and (
        n.startswith("model.encoder.layer_norm.")
        or any(n.startswith(f"model.encoder.layers.{i}.") for i in range(below, below + top)))}
    for p in model.parameters():
        p.requires_grad_(False)
    params.update(trained_encoder)
    start = {n: p.detach().clone() for n, p in params.items()}  # what ``merge`` interpolates from
    wrapped = None
    if config.lora_rank:  # the adapters train, the weights stay frozen
        wrapped, trained = add_lora(model, config.lora_rank, config.lora_alpha, range(below, below + top))
        anchor = {n: p.detach().clone() for n, p in trained.items()}
    else:
        trained, anchor = params, start
        for p in trained.values():
            p.requires_grad_(True)
    on_encoder = {n for n in trained if n.startswith("model.encoder.") or ".model.encoder." in n}  # (peft prefixes names)
    groups = [{"params": [p for n, p in trained.items() if n not in on_encoder], "lr": config.lr}]
    if on_encoder:
        groups.append({"params": [trained[n] for n in on_encoder], "lr": config.encoder_lr or config.lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.0)
    warmup = max(1, config.warmup_steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then linear decay to 0
        optimizer, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (config.steps - s) / max(1, config.steps - warmup)))
    model.train()
    order: list[int] = []
    losses = []
    bar = tqdm(total=config.steps, desc="writer: train", unit="step", disable=not config.progress or None)
    for _ in range(config.steps):
        if len(order) < config.batch_size:
            order += rng.sample(range(len(windows)), len(windows))
        batch, order = order[:config.batch_size], order[config.batch_size:]
        prompts = [window_prompt(windows, i, terms, config, rng) for i in batch]
        inputs, targets, weights = batch_tensors(tokens, [windows[i] for i in batch], prompts, terms, config.term_weight)
        loss = decoder_loss(model, encoder_top(model, encoded[batch].float(), top), inputs, targets, weights)
        total = loss
        if config.anchor_weight:
            total = loss + config.anchor_weight * sum(((p - anchor[n]) ** 2).sum() for n, p in trained.items())
        optimizer.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(trained.values(), config.max_grad_norm)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-10:]):.3f}")
    bar.close()
    if wrapped is not None:
        model = merge_lora(wrapped)  # the weights in ``params`` now hold the adapters' change
    model.eval()
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(interpolated(start[n], p, config.merge))
    info = {"base": str(base), "config": asdict(config), "windows": len(windows), "utterances": len(entries),
            "first_loss": losses[0], "last_loss": float(np.mean(losses[-10:]))}
    out = export_ctranslate2(model, base, config.output_dir, {WRITER_INFO: json.dumps(info, indent=2) + "\n"})
    return WriterResult(out, tuple(losses), len(windows), time.time() - started)


def interpolated(original: torch.Tensor, trained: torch.Tensor, share: float) -> torch.Tensor:
    """``share`` of the way from ``original`` to ``trained`` (0: the original)."""
    return original + share * (trained - original)


def interpolate_writer(base: str | Path, adapted: str | Path, share: float, output_dir: str | Path) -> Path:
    """A writer ``share`` of the way from ``base`` to ``adapted`` (a writer trained from it),
    weight by weight, written as a CTranslate2 folder: ``writer.merge`` after training, without
    training again."""
    if not 0 <= share <= 1:
        raise SpeechtlError(f"share={share} (0 to 1)")
    original, _ = load_whisper_seq2seq(base)
    trained, _ = load_whisper_seq2seq(adapted)
    start = original.state_dict()
    with torch.no_grad():
        for name, p in trained.named_parameters():
            p.copy_(interpolated(start[name], p, share))
    info = {"base": str(base), "adapted": str(adapted), "merge": share}
    return export_ctranslate2(trained, base, output_dir, {WRITER_INFO: json.dumps(info, indent=2) + "\n"})
