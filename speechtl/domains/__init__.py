"""Domains: each one folder, found by name.

    vocab = domain_terms("medical")                  # recipes/medical/terms.csv
    sentences = generate("legal", 5000, seed=0)      # recipes/legal/sentences.py
    domain_folder("legal")                           # recipes/legal/

A domain folder holds ``terms.csv`` (its term list), ``sentences.py`` (a seeded
generator: ``sentence(rng, terms) -> str``), optionally ``heldout.txt`` (sentences
written apart from the generator, for dev and test), and, as a recipe, ``config.py``,
``train.py`` and a README. The built-in ones are the folders of this checkout's
``recipes/``; ``$SPEECHTL_DOMAINS`` (folders of domain folders, separated by
``os.pathsep``) adds more or replaces them by name. Adding a domain is copying a folder.

Sentences are written as people write them ("5 mg", "120/80", "Rule 12(b)(6)"); the
shared normalizer turns them into the spoken words a transcript holds. A share of
everyday English (domains/general.py) can be mixed into any domain's sentences.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import random
from pathlib import Path
from types import ModuleType

from ..errors import SpeechtlError
from ..text import normalize
from ..vocabulary import Term, Vocabulary
from . import general

BUILT_IN = Path(__file__).resolve().parents[2] / "recipes"  # the recipes of a source checkout
DOMAINS_ENV = "SPEECHTL_DOMAINS"
SENTENCES_FILE = "sentences.py"
TERMS_FILE = "terms.csv"
HELDOUT_FILE = "heldout.txt"


def domain_folders() -> dict[str, Path]:
    """Every domain found, by name: ``$SPEECHTL_DOMAINS`` first, then the built-in ones."""
    roots = [Path(p) for p in os.environ.get(DOMAINS_ENV, "").split(os.pathsep) if p] + [BUILT_IN]
    found: dict[str, Path] = {}
    for root in roots:
        if root.is_dir():
            for folder in sorted(root.iterdir()):
                if (folder / SENTENCES_FILE).is_file():
                    found.setdefault(folder.name, folder)
    return found


def available_domains() -> tuple[str, ...]:
    return tuple(sorted(domain_folders()))


def domain_folder(domain: str) -> Path:
    folders = domain_folders()
    if domain not in folders:
        raise SpeechtlError(f"unknown domain {domain!r} (found: {', '.join(sorted(folders)) or 'none'}; "
                            f"a domain is a folder with {SENTENCES_FILE} and {TERMS_FILE}, under "
                            f"{BUILT_IN} or ${DOMAINS_ENV})")
    return folders[domain]


def domain_terms(domain: str) -> Vocabulary:
    """The domain's term list (empty when its folder has none): a fresh Vocabulary each
    call, its file parsed once per process."""
    return Vocabulary(_terms(domain_folder(domain)))


@functools.lru_cache(maxsize=None)
def _terms(folder: Path) -> tuple:
    path = folder / TERMS_FILE
    return tuple(Vocabulary.load(path)) if path.is_file() else ()


@functools.lru_cache(maxsize=None)
def _generator(folder: Path) -> ModuleType:
    """The folder's sentences.py, loaded by path (a recipe folder is not a package)."""
    path = folder / SENTENCES_FILE
    spec = importlib.util.spec_from_file_location(f"speechtl_domain_{folder.name}_sentences", path)
    if spec is None or spec.loader is None:
        raise SpeechtlError(f"{path}: cannot load the domain's sentence generator")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "sentence", None)):
        raise SpeechtlError(f"{path}: a domain's {SENTENCES_FILE} defines sentence(rng, terms) -> str")
    return module


def generate(domain: str, count: int, seed: int = 0, general_share: float = 0.0) -> list[str]:
    """``count`` sentences of ``domain``; ``general_share`` of them everyday English instead
    (none for a domain whose sentences are everyday English already: ``EVERYDAY = True``).

    The generator draws its terms from those not yet written until every term of a category
    has been (:class:`_TermCover`), then from all: a corpus of a few hundred sentences speaks
    each term once instead of leaving a third of them unheard. A longer run still extends a
    shorter one."""
    folder = domain_folder(domain)
    module = _generator(folder)
    everyday = getattr(module, "EVERYDAY", False)
    rng = random.Random(f"{domain}-{seed}")
    cover = _TermCover(domain_terms(domain))
    out = []
    for _ in range(count):
        if not everyday and rng.random() < general_share:
            text = general.sentence(rng, Vocabulary())
        else:
            text = module.sentence(rng, cover.view())
            cover.written(text)
        out.append(text[0].upper() + text[1:])
    return out


class _TermCover:
    """The terms a generator draws from: per category, those not written yet (padded with
    written ones up to ``MIN_CHOICES``, as a template may sample several of a category at
    once), every term of it once all have been written."""

    MIN_CHOICES = 3

    def __init__(self, terms: Vocabulary) -> None:
        self._terms = list(terms)
        self._unwritten = list(self._terms)
        self._view = terms

    def view(self) -> Vocabulary:
        return self._view

    def written(self, text: str) -> None:
        said = f" {normalize(text)} "
        left = [t for t in self._unwritten
                if f" {' '.join(t.words)} " not in said and f" {normalize(t.text)} " not in said]
        if len(left) == len(self._unwritten):
            return
        self._unwritten = left
        by_category: dict[str | None, list[Term]] = {}
        for t in self._terms:
            by_category.setdefault(t.category, []).append(t)
        unwritten = {id(t) for t in left}
        chosen: list[Term] = []
        for terms in by_category.values():
            fresh = [t for t in terms if id(t) in unwritten]
            if not fresh:
                chosen += terms
                continue
            chosen += fresh + [t for t in terms if id(t) not in unwritten][: max(0, self.MIN_CHOICES - len(fresh))]
        self._view = Vocabulary(chosen)
