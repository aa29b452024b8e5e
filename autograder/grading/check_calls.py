"""Read a test cell's ``check(...)`` calls without running it.

Test cells may hold only imports of ``nnlab`` and ``check`` calls (see
docs/authoring.md). The grader parses them from the instructor's source
notebook, hidden tests included, and re-runs each call on the student's
functions; a cell scores only if every call passes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from nnlab.checks import get_spec

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


class CheckCallError(ValueError):
    """A test cell does not follow the test-cell rules (an authoring error)."""


@dataclass(frozen=True)
class CheckCall:
    """One ``check(...)`` call of a test cell.

    Attributes:
        name: the check's name.
        functions: role -> the student's variable name holding that function.
        params: the parameters, defaults filled in (``hidden`` included).
    """

    name: str
    functions: dict[str, str]
    params: dict[str, Any]

    @property
    def hidden(self) -> bool:
        return bool(self.params.get("hidden"))

    def as_job(self) -> dict[str, Any]:
        """The plain form sent to the submission's process."""
        return {"name": self.name, "functions": self.functions, "params": self.params}


def strip_hidden(source: str) -> str:
    """A test cell's source without its hidden-test blocks (markers included)."""
    lines, keep = [], True
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == HIDDEN_BEGIN:
            keep = False
            continue
        if stripped == HIDDEN_END:
            keep = True
            continue
        if keep:
            lines.append(line)
    return "".join(lines).rstrip("\n")


def _is_check(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id == "check"
    return isinstance(func, ast.Attribute) and func.attr == "check"


def parse_test_cell(source: str, *, where: str) -> list[CheckCall]:
    """The check calls of one test cell (hidden ones included).

    Args:
        source: the instructor's test-cell source.
        where: notebook and grade id, for error messages.

    Raises:
        CheckCallError: naming ``where`` and the offending line.
    """
    try:
        tree = ast.parse(source.replace(HIDDEN_BEGIN, "").replace(HIDDEN_END, ""))
    except SyntaxError as error:
        raise CheckCallError(f"{where}: test cell is not valid Python ({error})") from None
    calls: list[CheckCall] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nnlab"):
            continue
        if isinstance(node, ast.Import) and all(a.name.startswith("nnlab") for a in node.names):
            continue
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                and _is_check(node.value.func)):
            raise CheckCallError(
                f"{where}, line {node.lineno}: a test cell may only import nnlab and call check(...)"
            )
        calls.append(_parse_call(node.value, where=where))
    if not calls:
        raise CheckCallError(f"{where}: test cell calls no check")
    return calls


def _parse_call(call: ast.Call, *, where: str) -> CheckCall:
    line = f"{where}, line {call.lineno}"
    if not call.args or not (isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
        raise CheckCallError(f"{line}: the first argument of check must be the check's name as a string")
    name = call.args[0].value
    try:
        spec = get_spec(name)
    except KeyError as error:
        raise CheckCallError(f"{line}: {error.args[0]}") from None
    functions: dict[str, str] = {}
    options: dict[str, Any] = {}
    for position, arg in enumerate(call.args[1:]):
        if not isinstance(arg, ast.Name):
            raise CheckCallError(f"{line}: functions must be passed as plain names")
        if position >= len(spec.roles):
            raise CheckCallError(f"{line}: check {name!r} takes {len(spec.roles)} function(s)")
        functions[spec.roles[position]] = arg.id
    for keyword in call.keywords:
        if keyword.arg is None:
            raise CheckCallError(f"{line}: **kwargs are not allowed in test cells")
        if keyword.arg in spec.roles:
            if not isinstance(keyword.value, ast.Name):
                raise CheckCallError(f"{line}: {keyword.arg} must be a plain name")
            functions[keyword.arg] = keyword.value.id
            continue
        try:
            options[keyword.arg] = ast.literal_eval(keyword.value)
        except (ValueError, TypeError):  # TypeError: e.g. an unhashable dict key, {[1]: 2}
            raise CheckCallError(f"{line}: parameter {keyword.arg} must be a literal") from None
    try:
        _, params = spec.bind((), {**options, **{role: None for role in functions}})
    except TypeError as error:
        raise CheckCallError(f"{line}: {error}") from None
    return CheckCall(name, functions, params)
