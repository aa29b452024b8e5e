"""Safe transport of check records between the student's process and the grader.

A *record* is what a check's ``run`` step produced by calling student code:
nested dicts, lists, tuples, numbers, strings and numpy arrays. The grader
must never unpickle anything a submission produced, so records travel as
JSON, with arrays as raw little-endian bytes in base64. Decoding builds only
plain data (no object of a class the record names is ever created).
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import numpy as np

#: dtype kinds an array may have in a record: bool, signed, unsigned, float, complex.
ARRAY_KINDS = "biufc"

#: a record larger than this (in JSON characters) is refused when decoding.
MAX_RECORD_CHARS = 200_000_000


class RecordError(ValueError):
    """A record could not be encoded or decoded (malformed or too large)."""


class Foreign:
    """Stands for a value of a type records cannot carry (its type name only)."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Foreign) and other.type_name == self.type_name


class TensorValue:
    """A torch tensor returned by student code, carried as its numpy data."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __repr__(self) -> str:
        return f"TensorValue(shape={self.array.shape}, dtype={self.array.dtype})"


def _encode_array(array: np.ndarray) -> dict[str, Any]:
    if array.dtype.kind not in ARRAY_KINDS:
        return {"__foreign__": f"numpy.ndarray[{array.dtype}]"}
    data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "__nd__": [data.dtype.str, list(array.shape), base64.b64encode(data.tobytes()).decode()]
    }


def _to_plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, np.generic):
        return {"__scalar__": _encode_array(np.asarray(value))["__nd__"]}
    if isinstance(value, tuple):
        return {"__tuple__": [_to_plain(v) for v in value]}
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return {"__foreign__": "dict with non-string keys"}
        return {"__dict__": {k: _to_plain(v) for k, v in value.items()}}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        try:
            array = value.detach().cpu().numpy()
        except Exception:  # e.g. a tensor subclass that refuses conversion
            return {"__foreign__": "torch.Tensor"}
        return {"__tensor__": _encode_array(array)["__nd__"]}
    if isinstance(value, (int, float)):  # subclasses of int/float (e.g. bool-like enums)
        return {"__foreign__": type(value).__qualname__}
    return {"__foreign__": f"{type(value).__module__}.{type(value).__qualname__}"}


def encode(record: Any) -> str:
    """Serialize a record to JSON text.

    Args:
        record: plain data as described in the module docstring. Values of
            other types are replaced by their type name (see :class:`Foreign`).

    Returns:
        JSON text; NaN and infinities are kept.
    """
    return json.dumps(_to_plain(record), allow_nan=True)


def _decode_array(spec: Any) -> np.ndarray:
    if not (isinstance(spec, list) and len(spec) == 3):
        raise RecordError("malformed array entry")
    dtype_str, shape, payload = spec
    if not isinstance(dtype_str, str) or not isinstance(payload, str) or not isinstance(shape, list):
        raise RecordError("malformed array entry")
    dtype = np.dtype(dtype_str)
    if dtype.kind not in ARRAY_KINDS:
        raise RecordError(f"array dtype {dtype} is not allowed in a record")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise RecordError("malformed array shape")
    raw = base64.b64decode(payload.encode(), validate=True)
    count = int(np.prod(shape)) if shape else 1
    if count * dtype.itemsize != len(raw):
        raise RecordError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _from_plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_plain(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise RecordError("malformed record entry")
    ((tag, body),) = value.items()
    if tag == "__nd__":
        return _decode_array(body)
    if tag == "__scalar__":
        return _decode_array(body)[()]
    if tag == "__tensor__":
        return TensorValue(_decode_array(body))
    if tag == "__tuple__":
        if not isinstance(body, list):
            raise RecordError("malformed tuple entry")
        return tuple(_from_plain(v) for v in body)
    if tag == "__dict__":
        if not isinstance(body, dict):
            raise RecordError("malformed dict entry")
        return {str(k): _from_plain(v) for k, v in body.items()}
    if tag == "__foreign__":
        return Foreign(str(body))
    raise RecordError(f"unknown record tag {tag!r}")


def decode(text: str) -> Any:
    """Rebuild a record from :func:`encode`'s JSON text.

    Raises:
        RecordError: when the text is too large, not JSON, or not a record.
    """
    if len(text) > MAX_RECORD_CHARS:
        raise RecordError(f"record of {len(text)} characters exceeds {MAX_RECORD_CHARS}")
    try:
        plain = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(f"record is not JSON: {error}") from None
    except RecursionError:
        raise RecordError("record is nested too deeply") from None
    try:
        return _from_plain(plain)
    except RecursionError:
        raise RecordError("record is nested too deeply") from None
    except (ValueError, TypeError) as error:
        if isinstance(error, RecordError):
            raise
        raise RecordError(f"malformed record: {error}") from None
