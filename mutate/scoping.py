"""Which of a module's mutants belong to a scope, and which survivors a comment shows to be equivalent.

Positions are cosmic-ray's: (line, column), lines from 1. Pure functions of the source text, so the rules that
decide what counts are tested on plain strings.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Position = tuple[int, int]

# "# equivalent mutant core/ReplaceComparisonOperator_NotEq_IsNot: <why>" on the mutated line or in the comment
# block right above it; "# equivalent mutants A, B: <why>" names several operators with one reason, the list
# going on over as many comment lines as it needs.
EQUIVALENT = re.compile(r"\bequivalent mutants? ((?:[\w/]+,\s+)*[\w/]+):")


@dataclass(frozen=True)
class Span:
    """A stretch of source from ``start`` up to, not including, ``end``."""

    start: Position
    end: Position

    def holds(self, start: Position, end: Position) -> bool:
        return self.start <= start and end <= self.end


def function_spans(source: str) -> dict[str, Span]:
    """Every function of the module by qualified name ("f", "Class.method"), decorators included: removing a
    decorator is a mutant of the function it decorates."""
    spans: dict[str, Span] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                assert child.end_lineno is not None
                # A nested function is part of the function around it: it has no span of its own.
                spans[f"{prefix}{child.name}"] = Span((first, 0), (child.end_lineno + 1, 0))

    visit(ast.parse(source), "")
    return spans


def annotation_spans(source: str) -> list[Span]:
    """Where the module's type annotations are: with ``from __future__ import annotations`` they are never
    evaluated, so their mutants only ever change what mypy sees."""
    spans: list[Span] = []
    for node in ast.walk(ast.parse(source)):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        elif isinstance(node, ast.arg | ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in annotations:
            if annotation is not None:
                assert annotation.end_lineno is not None and annotation.end_col_offset is not None
                spans.append(
                    Span(
                        (annotation.lineno, annotation.col_offset),
                        (annotation.end_lineno, annotation.end_col_offset),
                    )
                )
    return spans


def in_scope(source: str, functions: Sequence[str]) -> list[Span]:
    """The spans the scope's functions cover; "*" is every function of the module."""
    spans = function_spans(source)
    if list(functions) == ["*"]:
        return list(spans.values())
    missing = [name for name in functions if name not in spans]
    if missing:
        raise ValueError(f"no function {', '.join(missing)} in the module (known: {', '.join(sorted(spans))})")
    return [spans[name] for name in functions]


def counts(start: Position, end: Position, scope: Iterable[Span], annotations: Iterable[Span]) -> bool:
    """Whether a mutant at ``start``..``end`` is one the scope must kill."""
    return any(s.holds(start, end) for s in scope) and not any(a.holds(start, end) for a in annotations)


def equivalent_operators(lines: Sequence[str], line: int) -> set[str]:
    """The operators a comment declares equivalent for the mutants of ``line`` (from 1): its own trailing
    comment and the comment lines right above it."""
    _, hash_mark, trailing = lines[line - 1].partition("#")
    found = _named(trailing) if hash_mark else set()
    above = line - 2
    block: list[str] = []
    while above >= 0 and lines[above].lstrip().startswith("#"):
        block.insert(0, lines[above].lstrip()[1:].strip())
        above -= 1
    return found | _named(" ".join(block))


def _named(comment: str) -> set[str]:
    """The operators a comment's text names ("equivalent mutants A, B: …")."""
    return {operator for names in EQUIVALENT.findall(comment) for operator in re.split(r",\s+", names)}


def short_operator(name: str) -> str:
    """cosmic-ray's operator name without its plugin prefix: "core/NumberReplacer" -> "NumberReplacer"."""
    return name.rsplit("/", 1)[-1]


def declared_equivalent(lines: Sequence[str], line: int, operator: str) -> bool:
    """Whether a comment declares the mutant of ``operator`` on ``line`` equivalent."""
    return short_operator(operator) in {short_operator(o) for o in equivalent_operators(lines, line)}
