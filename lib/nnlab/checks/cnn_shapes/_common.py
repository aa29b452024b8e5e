"""Helpers shared by the checks of 00_cnn_shapes: reading results and telling numbers and ints apart."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlab.checks.compare import value_of
from nnlab.checks.spec import Record
from nnlab.i18n import Text

NOTEBOOK = "00_cnn_shapes"


_SIGNATURE_NEXT = Text("keep the signature exactly as given (parameter names and defaults).",
                       "保持给定的函数签名（参数名和默认值）不变。")


def result_value(result: Record, what: Text) -> Any:
    """``value_of``, pointing at the signature when the call itself did not match it."""
    error = result.get("error") or ["", ""]
    wrong_call = error[0] == "TypeError" and "argument" in str(error[1])
    return value_of(result, what, next_step=_SIGNATURE_NEXT if wrong_call else None)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
