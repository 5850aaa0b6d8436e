"""The JSON form of a syntax tree, for APIs and storage.

Every node is an object whose ``"type"`` is the snake_case node name and whose other keys are the
node's fields (tuples become arrays; spans are left out)::

    {"type": "comparator", "op": "at_least",
     "subject": {"type": "reducer", "kind": "count", "arg": null, "cast": null, "min_count": null,
                 "stream": {"type": "event_stream", "name": "Signed Up", "source": "event",
                            "filters": [{"type": "within", "parent": false,
                                         "duration": {"type": "duration", "amount": 7,
                                                      "unit": "days"}}]}},
     "args": [{"type": "literal", "value": 1}]}

``from_json`` accepts exactly what ``to_json`` writes (fields with defaults may be omitted) and
checks the same shape rules the parser guarantees, so a tree read from JSON can be formatted and
parsed back. Anything else raises ``DefinitionSyntaxError(code="invalid_json_form")``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, NoReturn

from shoal.errors import DefinitionSyntaxError
from shoal.lang import ast
from shoal.lang.visit import node_tag

__all__ = ["NODE_TYPES", "definition_from_json", "from_json", "to_json"]


_NODE_CLASSES: tuple[type[ast.Node], ...] = (
    ast.Definition,
    ast.Literal,
    ast.TraitRef,
    ast.Property,
    ast.ParentRef,
    ast.ContextRef,
    ast.Duration,
    ast.Where,
    ast.Sources,
    ast.Within,
    ast.Between,
    ast.ExpiresAfter,
    ast.EventStream,
    ast.Reducer,
    ast.Comparator,
    ast.And,
    ast.Or,
    ast.Not,
    ast.Any,
    ast.All,
)
#: JSON ``type`` tag → node class.
NODE_TYPES: dict[str, type[ast.Node]] = {node_tag(c): c for c in _NODE_CLASSES}
_HINTS = {c: typing.get_type_hints(c, vars(ast)) for c in _NODE_CLASSES}


def to_json(node: ast.Node) -> dict[str, Any]:
    """The JSON form of ``node`` (a plain dict of str, int, float, bool, None, list, dict)."""
    out: dict[str, Any] = {"type": node_tag(node)}
    for f in dataclasses.fields(node):
        if f.name != "span":
            out[f.name] = _dump(getattr(node, f.name))
    return out


def _dump(value: object) -> Any:
    if isinstance(value, ast.Node):
        return to_json(value)
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    return value


def _fail(path: str, message: str) -> NoReturn:
    raise DefinitionSyntaxError(f"{message} at {path}", code="invalid_json_form")


def from_json(data: object, path: str = "$") -> ast.Node:
    """Rebuild a node from its JSON form.

    Raises:
        DefinitionSyntaxError: ``code="invalid_json_form"``; the message names the JSON path.
    """
    if not isinstance(data, dict):
        _fail(path, "expected an object")
    tag = data.get("type")
    cls = NODE_TYPES.get(tag) if isinstance(tag, str) else None
    if cls is None:
        _fail(path, f"unknown node type {tag!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "span"}
    extra = sorted(set(data) - set(fields) - {"type"})
    if extra:
        _fail(path, f"unknown field {extra[0]!r} for {tag}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING:
                _fail(path, f"missing field {name!r}")
            continue
        kwargs[name] = _load(data[name], _HINTS[cls][name], f"{path}.{name}")
    node = cls(**kwargs)
    _check_shape(node, path)
    return node


def definition_from_json(data: object) -> ast.Definition:
    """Like :func:`from_json`, but the top level must be a ``definition``."""
    node = from_json(data)
    if not isinstance(node, ast.Definition):
        _fail("$", "expected a definition")
    return node


def _load(value: object, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        nodes = [o for o in options if isinstance(o, type) and issubclass(o, ast.Node)]
        if nodes and isinstance(value, dict):
            node = from_json(value, path)
            if not isinstance(node, tuple(nodes)):
                _fail(path, f"a {node_tag(node)} is not allowed here")
            return node
        for option in options:
            if option is not type(None) and not (isinstance(option, type) and nodes):
                try:
                    return _load(value, option, path)
                except DefinitionSyntaxError:
                    continue
        _fail(path, "value of the wrong type")
    if origin is typing.Literal:
        if not isinstance(value, str) or value not in typing.get_args(hint):
            _fail(path, f"expected one of {', '.join(map(str, typing.get_args(hint)))}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            _fail(path, "expected an array")
        item = typing.get_args(hint)[0]
        return tuple(_load(v, item, f"{path}[{i}]") for i, v in enumerate(value))
    if isinstance(hint, type) and issubclass(hint, ast.Node):
        node = from_json(value, path)
        if not isinstance(node, hint):
            _fail(path, f"expected a {node_tag(hint)}")
        return node
    return _scalar(value, hint, path)


def _scalar(value: object, hint: Any, path: str) -> Any:
    # bool is an int in Python; JSON true/false is never a number in this form.
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, float) and math.isfinite(value):
        return value
    if hint is str and isinstance(value, str):
        return value
    _fail(path, f"expected {getattr(hint, '__name__', hint)}")


_ARITY: dict[str, tuple[int, int | None]] = {
    **dict.fromkeys(ast.INFIX, (1, 1)),
    "exists": (0, 0),
    "absent": (0, 0),
    **dict.fromkeys(("contains", "one_of", "none_of"), (1, None)),
    **dict.fromkeys(("omits", "starts_with", "ends_with", "before_date", "after_date"), (1, 1)),
    **dict.fromkeys(("within_last", "within_next", "before_last", "after_next"), (1, 1)),
}


def _check_shape(node: ast.Node, path: str) -> None:
    """The invariants the parser guarantees but the field types cannot express."""
    if isinstance(node, ast.And | ast.Or) and len(node.operands) < 2:
        _fail(path, "a junction needs at least two operands")
    elif isinstance(node, ast.Literal) and isinstance(node.value, bool):
        _fail(path, "booleans are not literals; use 'true' or 'false'")
    elif isinstance(node, ast.Duration) and node.amount < 0:
        _fail(path, "a duration cannot be negative")
    elif isinstance(node, ast.TraitRef | ast.Property | ast.ParentRef | ast.ContextRef):
        parts = (node.key, *node.path) if isinstance(node, ast.TraitRef) else node.path
        if not parts or not all(parts) or any(p.endswith("\\") for p in parts[:-1]):
            # A key ending in a backslash would escape the dot after it (see ast.join_path).
            _fail(path, "paths need non-empty keys, and only the last may end in a backslash")
    elif isinstance(node, ast.EventStream) and not node.name:
        _fail(path, "an event name cannot be empty")
    elif isinstance(node, ast.Sources) and not node.exclude:
        _fail(path, "sources needs at least one id")
    elif isinstance(node, ast.Reducer):
        _check_reducer(node, path)
    elif isinstance(node, ast.Comparator):
        _check_comparator(node, path)


def _check_reducer(node: ast.Reducer, path: str) -> None:
    if (node.arg is None) != (node.kind == "count"):
        _fail(path, "count takes no argument; every other reducer takes one")
    if node.cast is not None and node.cast not in ast.CASTS.get(node.kind, ()):
        _fail(path, f"{node.kind} cannot take `as {node.cast}`")
    if (node.min_count is None) != (node.kind != "mode"):
        _fail(path, "min_count is required for mode and only for mode")


def _check_comparator(node: ast.Comparator, path: str) -> None:
    low, high = _ARITY[node.op]
    if len(node.args) < low or (high is not None and len(node.args) > high):
        _fail(path, f"wrong number of arguments for {node.op}")
    for value in (node.subject, *node.args):
        if isinstance(value, ast.Reducer) and value.kind == "unique":
            _fail(path, "a unique() list cannot be compared; count it with unique_count")
    durations = node.op in ("within_last", "within_next", "before_last", "after_next")
    literal_only = node.op not in ast.INFIX
    for arg in node.args:
        if isinstance(arg, ast.Duration) != durations:
            _fail(path, f"{node.op} {'needs' if durations else 'cannot take'} a duration")
        if literal_only and not durations and not isinstance(arg, ast.Literal):
            _fail(path, f"{node.op} takes constant values only")
