"""Whisper's decoder in plain torch, for one job: scoring given sentences (forced decoding).

The two-pass decoder's judge asks how likely Whisper finds a sentence changed by term
spotting against its own (decode/twopass.py). CTranslate2 scores a sentence only through
``align``, which also projects the encoder output for the cross-attention once per
sentence and computes word alignments nobody reads: 0.18 s for one sentence of a legal
clip with tiny.en on 2 CPU cores, 0.53 s for four. Here the cross-attention keys and
values are computed once per clip and every sentence is scored in one batch, from the
encoder output faster-whisper already holds (so the encoder never runs twice).

    decoder = load_decoder("…/whisper-tiny.en-ct2")          # a CTranslate2 Whisper folder
    decoder.logprobs(encoded, prompt_tokens, [tokens_a, tokens_b])   # one sum per sentence

Weights are read from ``model.bin`` (model/ct2_format.py) and run in float32, so the
numbers differ from CTranslate2's int8 ones (by up to about 1.5 nats for a sentence of an
LJ Speech clip): a judge compares sentences scored the same way, and the recipes tune its
margin with these scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .ct2_format import ctranslate2_state, read_ctranslate2, whisper_sizes


class _Attention(nn.Module):
    """Multi-head attention whose keys and values may be computed once and reused
    (the cross-attention over one clip's encoder output)."""

    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, d_model // heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], self.heads, -1).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split(self.k_proj(x)), self.split(self.v_proj(x))

    def forward(self, x: torch.Tensor, keys_values: tuple[torch.Tensor, torch.Tensor] | None = None,
                causal: bool = False) -> torch.Tensor:
        keys, values = keys_values if keys_values is not None else self.keys_values(x)
        batch, length, d_model = x.shape
        query = self.split(self.q_proj(x)) * self.head_dim ** -0.5
        shared = keys.shape[0] == 1 < batch
        if shared:  # one clip's keys for every sentence: the sentences' queries as one sequence, no copies
            query = query.transpose(0, 1).reshape(1, self.heads, batch * length, -1)
        scores = query @ keys.transpose(-1, -2)
        if causal:
            scores = scores.masked_fill(torch.ones(length, length, dtype=torch.bool).triu(1), float("-inf"))
        out = torch.softmax(scores, dim=-1) @ values
        if shared:
            out = out.reshape(self.heads, batch, length, -1).transpose(0, 1)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, d_model))


class _Block(nn.Module):
    """A pre-norm decoder block: causal self-attention, cross-attention, GELU MLP."""

    def __init__(self, d_model: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.self_attn, self.self_attn_layer_norm = _Attention(d_model, heads), nn.LayerNorm(d_model)
        self.encoder_attn, self.encoder_attn_layer_norm = _Attention(d_model, heads), nn.LayerNorm(d_model)
        self.fc1, self.fc2, self.final_layer_norm = nn.Linear(d_model, ffn), nn.Linear(ffn, d_model), nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, cross: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x = x + self.self_attn(self.self_attn_layer_norm(x), causal=True)
        x = x + self.encoder_attn(self.encoder_attn_layer_norm(x), cross)
        return x + self.fc2(nn.functional.gelu(self.fc1(self.final_layer_norm(x))))


class WhisperDecoder(nn.Module):
    """Whisper's decoder (transformers' parameter names under ``decoder.``), eval mode."""

    def __init__(self, d_model: int, layers: int, heads: int, ffn: int, vocab_size: int, positions: int) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab_size, d_model)
        self.embed_positions = nn.Embedding(positions, d_model)
        self.layers = nn.ModuleList(_Block(d_model, heads, ffn) for _ in range(layers))
        self.layer_norm = nn.LayerNorm(d_model)
        self.eval()

    @torch.inference_mode()
    def logprobs(self, encoded: np.ndarray, prompt: Sequence[int], sentences: Sequence[Sequence[int]]) -> list[float]:
        """Each sentence's summed log-probability of its tokens after ``prompt``, given one
        clip's encoder output ``encoded`` (1, frames, d_model)."""
        if not sentences:
            return []
        memory = torch.from_numpy(np.asarray(encoded, dtype=np.float32).reshape(1, -1, self.layer_norm.normalized_shape[0]))
        cross = [layer.encoder_attn.keys_values(memory) for layer in self.layers]
        # right-padded with the first sentence's tokens: a causal decoder's padding never
        # changes the positions before it, and those after a sentence's end are not read
        longest = max(len(s) for s in sentences)
        rows = [list(prompt) + list(s) + [s[0]] * (longest - len(s)) for s in sentences]
        if len(rows[0]) > self.embed_positions.num_embeddings:
            raise ValueError(f"{len(rows[0])} tokens exceed Whisper's {self.embed_positions.num_embeddings} positions")
        tokens = torch.tensor(rows)
        x = self.embed_tokens(tokens) + self.embed_positions.weight[:tokens.shape[1]]
        for layer, kv in zip(self.layers, cross):
            x = layer(x, kv)
        # a position's state depends only on the tokens up to it (causal), and the changed
        # sentences a judge scores share most of their tokens with Whisper's own: each
        # distinct state goes through the output projection (most of the work) once
        start, states, picks = len(prompt) - 1, {}, []
        for i, s in enumerate(sentences):
            for j in range(len(s)):
                key = tuple(rows[i][:start + j + 1])
                picks.append((i, states.setdefault(key, (len(states), i, start + j))[0], s[j]))
        where = torch.tensor([[i, p] for _, i, p in states.values()])
        logprobs = torch.log_softmax(self.layer_norm(x[where[:, 0], where[:, 1]]) @ self.embed_tokens.weight.T, dim=-1)
        sums = [0.0] * len(sentences)
        for i, state, token in picks:
            sums[i] += float(logprobs[state, token])
        return sums


def load_decoder(folder: str | Path) -> WhisperDecoder:
    """The decoder of a CTranslate2 Whisper folder (``model.bin``), in float32."""
    ct2 = read_ctranslate2(Path(folder) / "model.bin")
    sizes = whisper_sizes(ct2)
    decoder = WhisperDecoder(sizes["d_model"], sizes["decoder_layers"], sizes["decoder_attention_heads"],
                             sizes["decoder_ffn_dim"], sizes["vocab_size"], sizes["max_target_positions"])
    state = {k.removeprefix("decoder."): v for k, v in ctranslate2_state(ct2, only="decoder.").items()}
    missing, unexpected = decoder.load_state_dict(state, strict=False)
    if [k for k in missing if not k.endswith("k_proj.bias")] or unexpected:
        raise ValueError(f"{folder}: decoder weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return decoder
