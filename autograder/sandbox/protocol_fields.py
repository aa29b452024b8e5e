"""Field checks for :mod:`autograder.sandbox.protocol`: every field of the declared type and size.

A message's dataclass annotations are the schema: ``int`` (a non-negative count or index),
``float`` (a non-negative duration), ``bool``, ``str`` (capped by the class's ``LIMITS``, or
:data:`MAX_TEXT`), ``X | None``, ``list[X]``, ``dict[str, str]`` and ``dict[str, Any]``; the
``outputs`` of a cell are nbformat outputs of a known type with known fields only.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from typing import Any

#: longest plain text field (characters of a reason, a trace, a name).
MAX_TEXT = 4_000
#: fields that carry code or encoded data (bounded by the line size only).
UNCAPPED = ("source", "record", "params")
#: a unit of work: ``cell:<index>`` or ``probe:<index>``.
UNIT = re.compile(r"(cell|probe):[0-9]{1,6}")
#: the output kinds a cell may report, and the fields each may carry.
OUTPUT_FIELDS = {
    "stream": {"output_type", "name", "text"},
    "display_data": {"output_type", "data", "metadata"},
    "execute_result": {"output_type", "data", "metadata", "execution_count"},
    "error": {"output_type", "ename", "evalue", "traceback"},
}


class ProtocolError(ValueError):
    """A line that is not a valid message of its link; the text says what is wrong."""


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


def _is_duration(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e7


_SCALARS = {bool: lambda v: isinstance(v, bool), int: _is_count, float: _is_duration,
            str: lambda v: isinstance(v, str)}


@functools.cache
def shape(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A message class's field types and fields (computed once per class)."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}


def check_field(kind: str, name: str, value: Any, hint: Any, limit: int) -> None:
    """Raise ProtocolError unless ``value`` is of type ``hint`` (and short enough)."""
    where = f"{kind}.{name}"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        (hint,) = [a for a in args if a is not type(None)]
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in _SCALARS:
        ok = _SCALARS[hint](value)
        if ok and hint is str and name not in UNCAPPED and len(value) > limit:
            raise ProtocolError(f"{where}: {len(value)} characters (at most {limit})")
    elif origin is list:
        ok = isinstance(value, list) and len(value) <= 100_000
        for item in value if ok else []:
            check_field(kind, name, item, args[0], limit)
    elif origin is dict:
        ok = isinstance(value, dict) and all(isinstance(k, str) for k in value) and (
            args[1] is not str or all(isinstance(v, str) and len(v) <= 200 for v in value.values()))
    else:  # Any
        ok = True
    if not ok:
        raise ProtocolError(f"{where}: {show(value)} is not {_type_name(hint)}")
    if name == "outputs" and origin is dict:
        _check_output(where, value)


def _check_output(where: str, output: dict[str, Any]) -> None:
    kind = output.get("output_type")
    allowed = OUTPUT_FIELDS.get(kind) if isinstance(kind, str) else None
    if allowed is None:
        raise ProtocolError(f"{where}: an output of unknown type {show(kind)}")
    if set(output) - allowed:
        raise ProtocolError(f"{where}: a {kind} output with fields {sorted(set(output) - allowed)}")


def check_units(message: Any) -> None:
    unit = getattr(message, "unit", None)
    if unit is not None and not UNIT.fullmatch(unit):
        raise ProtocolError(f"{message.KIND}.unit: {show(unit)} is not cell:<n> or probe:<n>")
    for unit in getattr(message, "skip", []):
        if not UNIT.fullmatch(unit):
            raise ProtocolError(f"{message.KIND}.skip: {show(unit)} is not cell:<n> or probe:<n>")


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)


