"""A visitor base for passes over the syntax tree (evaluators, compilers, linters).

Subclasses define ``visit_<snake_case_node>`` methods (``visit_event_stream``, ``visit_and``);
:meth:`Visitor.visit` dispatches on the node's class. Nodes without a method go to
:meth:`Visitor.generic_visit`, which raises so that a pass never silently ignores a node kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar

from shoal.lang import ast

__all__ = ["Visitor", "node_tag"]

R = TypeVar("R")

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def node_tag(node: ast.Node | type[ast.Node]) -> str:
    """The snake_case name of a node class, used by visitors and the JSON form.

    >>> node_tag(ast.EventStream)
    'event_stream'
    """
    cls = node if isinstance(node, type) else type(node)
    return _CAMEL_BOUNDARY.sub("_", cls.__name__).lower()


class Visitor(Generic[R]):
    """Dispatches ``visit(node)`` to ``visit_<node_tag>(node)``.

    >>> class CountComparators(Visitor[int]):
    ...     def visit_comparator(self, node: ast.Comparator) -> int:
    ...         return 1
    ...     def generic_visit(self, node: ast.Node) -> int:
    ...         return sum(self.visit(child) for child in ast.children(node))
    >>> from shoal.lang.parser import parse
    >>> CountComparators().visit(parse("trait('a') = 1 OR NOT trait('b').exists()"))
    2
    """

    def visit(self, node: ast.Node) -> R:
        method: Callable[[ast.Node], R] | None = getattr(self, f"visit_{node_tag(node)}", None)
        if method is None:
            return self.generic_visit(node)
        return method(node)

    def generic_visit(self, node: ast.Node) -> R:
        raise NotImplementedError(f"{type(self).__name__} has no visit_{node_tag(node)}")
