"""Pickling frozen dataclasses the same way whether their module runs compiled or interpreted.

Checkpoints pickle the real-time core, and with it messages, events, routes and the identity
graph's records: frozen dataclasses. Interpreted, a frozen dataclass with slots pickles its
field values as a list and restores them past its frozen ``__setattr__``; compiled by mypyc
(:mod:`shoal.native`) it has neither of those, and its default restore assigns attributes one by
one, which a frozen class refuses. So each such class reduces itself to its constructor and
the values of its ``__init__`` fields, rebuilt through ``__init__`` (derived fields come back
from ``__post_init__``). Other classes still pickle differently in the two builds, so a
checkpoint also records which build wrote it (``ComputeService``).
"""

from __future__ import annotations

import copyreg
import dataclasses
import io
import pickle
from collections.abc import Callable
from types import MappingProxyType
from typing import IO, Any

Reduced = tuple[Callable[..., Any], tuple[Any, ...]]

_INIT_FIELDS: dict[type, tuple[tuple[str, ...], bool]] = {}
"""Class → its ``__init__`` fields in order, and whether any is keyword-only."""


def reduce_frozen(obj: Any) -> Reduced:
    """``__reduce__`` of a frozen dataclass: its class and its ``__init__`` arguments, in order
    (positional arguments: the cheapest form to write and to rebuild, which matters for the
    engine process, where every message and change crosses a pipe)."""
    cls = type(obj)
    known = _INIT_FIELDS.get(cls)
    if known is None:
        fields = [f for f in dataclasses.fields(obj) if f.init]
        known = _INIT_FIELDS[cls] = (
            tuple(f.name for f in fields),
            any(f.kw_only for f in fields),
        )
    names, by_keyword = known
    values = tuple([getattr(obj, name) for name in names])
    if by_keyword:  # the names tuple is the same object each time: pickled once per dump
        return (_rebuild_named, (cls, names, values))
    return (cls, values)


def _rebuild_named(cls: type, names: tuple[str, ...], values: tuple[Any, ...]) -> Any:
    return cls(**dict(zip(names, values, strict=True)))


def _rebuild(cls: type, values: dict[str, Any]) -> Any:
    """How checkpoints written before positional arguments rebuild their objects."""
    return cls(**values)


def _proxy(mapping: MappingProxyType[Any, Any]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    return (_make_proxy, (dict(mapping),))


def _make_proxy(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


def pickler(fh: IO[bytes]) -> pickle.Pickler:
    """A pickler for the real-time state: messages hold read-only mappings, which plain pickle
    refuses; they come back as the same proxies."""
    out = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
    out.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _proxy}
    return out


def dumps(obj: Any) -> bytes:
    """``obj`` pickled by :func:`pickler` (``pickle.loads`` reads it back)."""
    buffer = io.BytesIO()
    pickler(buffer).dump(obj)
    return buffer.getvalue()
