"""Phrase-aware term boosting for the beam search (decode/beam.py), in the shape of
pyctcdecode's hotword scorer: a word trie walked incrementally, so 500 terms cost what
5 do (pyctcdecode's own scorer matches a regular expression of every hotword against
the whole hypothesis at each step).

    booster = TermBooster({("motion", "to", "dismiss"): 1.0, ("voir", "dire"): 1.0}, weight=10.0)
    booster.score("the motion to dismiss")   # 30.0: three words of a completed term
"""

from __future__ import annotations


class TermBooster:
    """Phrase-aware term boosting with pyctcdecode's HotwordScorer interface.

    ``score(text)`` is the bonus of a hypothesis: ``weight`` x term weight for each
    word of each completed term. A phrase earns nothing until its last word: credit
    for a started phrase ("in" of "in camera") would be withdrawn when the next word
    turns out to be another one, so every beam would gain by never finishing that
    word ("in gravedinrelief" for "in grave din relief" on real speech). Scores are
    cached per text and computed from the text's prefix, so each call costs one trie
    step whatever the number of terms. ``score_partial_token`` helps the beam spell a
    one-word term, its credit growing letter by letter to the term's full credit.
    """

    def __init__(self, phrases: dict[tuple[str, ...], float], weight: float) -> None:
        self.weight = weight
        # word trie: node id -> {word: child id}; ends[node] = weight of the term ending there
        self._children: list[dict[str, int]] = [{}]
        self._ends: dict[int, float] = {}
        self._depth: list[int] = [0]
        for words, w in phrases.items():
            node = 0
            for word in words:
                nxt = self._children[node].get(word)
                if nxt is None:
                    nxt = len(self._children)
                    self._children[node][word] = nxt
                    self._children.append({})
                    self._depth.append(self._depth[node] + 1)
                node = nxt
            self._ends[node] = max(self._ends.get(node, 0.0), w)
        # prefixes of one-word terms -> length of the shortest such term. Not the first
        # words of phrases: the credit for spelling "in" of "in camera" would be lost
        # after the space, so beams would gain by not ending the word
        self._prefix_len: dict[str, int] = {}
        for word, node in self._children[0].items():
            if node not in self._ends:
                continue
            for i in range(1, len(word) + 1):
                p = word[:i]
                self._prefix_len[p] = min(self._prefix_len.get(p, len(word)), len(word))
        self._cache: dict[str, tuple[float, tuple[int, ...]]] = {"": (0.0, ())}

    def __len__(self) -> int:
        return len(self._ends)

    def reset(self) -> None:
        """Forget cached hypotheses (call between utterances to bound memory)."""
        self._cache = {"": (0.0, ())}

    def __contains__(self, partial_word: str) -> bool:
        return partial_word in self._prefix_len

    def score_partial_token(self, partial_word: str) -> float:
        n = self._prefix_len.get(partial_word)
        return 0.0 if n is None else self.weight * len(partial_word) / n

    def score(self, text: str) -> float:
        return self.weight * self._state(text)[0]

    def _state(self, text: str) -> tuple[float, tuple[int, ...]]:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        prefix, _, word = text.rpartition(" ")
        done, active = self._state(prefix)
        nodes = []
        for node in active + (0,):
            child = self._children[node].get(word)
            if child is not None:
                nodes.append(child)
                if child in self._ends:
                    done += self._depth[child] * self._ends[child]
        state = (done, tuple(nodes))
        self._cache[text] = state
        return state
