"""``key=value`` overrides for typed dataclass configs (``--set max_steps=500``).

Nested dataclasses are reached with dots (``freeze.trainable_layers=all``); each
value is converted to the field's declared type (tuples comma-separated), and a wrong key or value is a
ConfigError that names it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Iterable, TypeVar

from .errors import SpeechtlError

T = TypeVar("T")


class ConfigError(SpeechtlError):
    pass


def apply_overrides(config: T, overrides: Iterable[str]) -> T:
    """Return a copy of ``config`` with every ``key=value`` applied."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"override {item!r} is not key=value")
        config = _set(config, key.strip().split("."), raw.strip(), key)
    return config


def _set(obj: Any, path: list[str], raw: str, full_key: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(obj)}
    name = path[0]
    if name not in fields:
        within = [f"{f}.{name}" for f in fields if dataclasses.is_dataclass(getattr(obj, f))
                  and name in {g.name for g in dataclasses.fields(getattr(obj, f))}]
        hint = f"; did you mean {' or '.join(within)}?" if within else ""
        raise ConfigError(f"unknown setting {full_key!r} (known: {', '.join(sorted(fields))}){hint}")
    hints = typing.get_type_hints(type(obj))
    current = getattr(obj, name)
    if len(path) > 1:
        if current is None:  # an optional group that is off: a sub-setting turns it on, at its defaults
            kinds = [t for t in typing.get_args(hints[name]) if dataclasses.is_dataclass(t)]
            current = kinds[0]() if kinds else None
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"setting {full_key!r}: {name} has no sub-settings")
        value = _set(current, path[1:], raw, full_key)
    else:
        value = _convert(raw, hints[name], full_key)
    try:  # a dataclass that checks its own fields (FreezePolicy, say) says what is wrong
        return dataclasses.replace(obj, **{name: value})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {full_key!r}: {exc}") from None


def _convert(raw: str, annotation: Any, key: str) -> Any:
    is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    options = typing.get_args(annotation) if is_union else (annotation,)
    if type(None) in options and raw.lower() in ("none", "null", ""):
        return None  # an optional setting left empty is off, not an empty string
    errors = []
    for option in options:
        try:
            return _convert_one(raw, option)
        except (TypeError, ValueError) as exc:
            errors.append(str(exc))
    raise ConfigError(f"setting {key!r}: cannot use {raw!r} ({'; '.join(errors)})")


def _convert_one(raw: str, option: Any) -> Any:
    if option is type(None):
        if raw.lower() in ("none", "null", ""):
            return None
        raise ValueError("not none")
    if typing.get_origin(option) is typing.Literal:
        if raw in [str(a) for a in typing.get_args(option)]:
            return raw
        raise ValueError(f"expected one of {typing.get_args(option)}")
    if option is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if option in (int, float, str):
        return option(raw)
    if typing.get_origin(option) is tuple:
        # tuple[float, ...]: comma-separated, "" for empty (``decoding.alphas=0.2,0.5``)
        # tuple[float | None, ...]: "none" for None (``two_pass.prompt_gains=none,0``)
        item = typing.get_args(option)[0]
        return tuple(_convert_item(part.strip(), item) for part in raw.split(",") if part.strip())
    raise TypeError(f"unsupported type {option}")


def _convert_item(raw: str, item: Any) -> Any:
    """One element of a tuple setting, whose type may be a union (``float | None``)."""
    if typing.get_origin(item) not in (typing.Union, types.UnionType):
        return _convert_one(raw, item)
    errors = []
    for option in typing.get_args(item):
        try:
            return _convert_one(raw, option)
        except (TypeError, ValueError) as exc:
            errors.append(str(exc))
    raise ValueError("; ".join(errors))
