"""The record codec: what student code returns crosses to the grader as plain data, never as objects.

Round trips must keep every value a check can judge (arrays of each allowed
dtype kind and shape, numpy scalars, tuples apart from lists, NaN and
infinities); anything else arrives as a :class:`Foreign` type name, and
decoding refuses every malformed or oversized record with a RecordError.
"""

from __future__ import annotations

import base64
import json
import math
import pickle
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from nnlab.checks import codec
from nnlab.checks.codec import Foreign, RecordError, TensorValue, decode, encode

DTYPES = [
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.complex64, np.complex128,
]
SHAPES = [(), (0,), (3, 0), (5,), (2, 3), (2, 3, 4)]


def roundtrip(value: Any) -> Any:
    return decode(encode(value))


def assert_same_array(got: Any, expected: np.ndarray) -> None:
    """Same shape, same (native) dtype, same values, NaN where NaN."""
    assert isinstance(got, np.ndarray)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype.newbyteorder("=")
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, expected)


def sample(dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    """Deterministic values that use the dtype's range (negatives, fractions, imaginary parts)."""
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "b":
        values = rng.random(shape) < 0.5
    elif np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    else:
        values = rng.standard_normal(shape) * 100
        if np.dtype(dtype).kind == "c":
            values = values + 1j * rng.standard_normal(shape)
    return np.asarray(values, dtype=dtype)  # a 0-d array, not a scalar, for shape ()


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"shape{s}")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_arrays_of_every_allowed_dtype_and_shape_round_trip(dtype: type, shape: tuple[int, ...]) -> None:
    array = sample(dtype, shape)
    assert_same_array(roundtrip(array), array)


@pytest.mark.parametrize("view", [
    pytest.param(lambda a: a[:, ::2], id="strided-columns"),
    pytest.param(lambda a: a.T, id="transposed"),
    pytest.param(lambda a: a[::-1, 1:], id="reversed-rows"),
])
def test_non_contiguous_arrays_round_trip_as_their_values(view) -> None:
    array = view(np.arange(24, dtype=np.float64).reshape(4, 6))
    assert not array.flags.c_contiguous
    assert_same_array(roundtrip(array), np.ascontiguousarray(array))


@pytest.mark.parametrize("dtype", [">f8", ">i4", ">c16", ">u2", "<f4"])
def test_arrays_of_either_byte_order_decode_to_the_same_values_in_native_order(dtype: str) -> None:
    array = np.array([[1.5, -2.0, 3.25], [0.0, 7.0, -8.5]]).astype(dtype)
    got = roundtrip(array)
    assert got.dtype.isnative and got.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(got, array)


def test_decoded_arrays_are_writeable_copies() -> None:
    got = roundtrip(np.zeros(3))
    got[0] = 1.0  # judges may work on the array in place
    assert got[0] == 1.0


@pytest.mark.parametrize("scalar", [
    np.float64(1.25), np.float32(-3.5), np.float16(0.5), np.int64(-7), np.int8(5), np.uint32(4_000_000_000),
    np.bool_(True), np.complex128(1 - 2j),
], ids=lambda s: type(s).__name__)
def test_numpy_scalars_stay_numpy_scalars_of_their_type(scalar: np.generic) -> None:
    got = roundtrip(scalar)
    assert type(got) is type(scalar)
    assert got == scalar


@pytest.mark.parametrize("value", [
    None, True, False, 0, -12, 2**70, 0.1, -0.0, 1e308, "", "relu · 激活",
], ids=repr)
def test_python_scalars_round_trip_with_their_type(value: Any) -> None:
    got = roundtrip(value)
    assert type(got) is type(value)
    assert got == value
    if isinstance(value, float):
        assert math.copysign(1.0, got) == math.copysign(1.0, value)


def test_tuples_and_lists_are_told_apart_at_every_depth() -> None:
    value = (1, [2, (3, [4])], ())
    got = roundtrip(value)
    assert got == value
    assert type(got) is tuple and type(got[1]) is list and type(got[1][1]) is tuple
    assert type(got[1][1][1]) is list and got[2] == ()


def test_nested_dicts_lists_and_arrays_round_trip() -> None:
    value = {
        "value": {"dx": np.arange(6.0).reshape(2, 3), "shape": (2, 3)},
        "warnings": ["overflow encountered in exp"],
        "calls": [{"value": np.int64(3)}, {"error": ["ValueError", "boom", "line 3"]}],
    }
    got = roundtrip(value)
    assert set(got) == set(value)
    assert_same_array(got["value"]["dx"], value["value"]["dx"])
    assert got["value"]["shape"] == (2, 3)
    assert got["warnings"] == value["warnings"]
    assert type(got["calls"][0]["value"]) is np.int64
    assert got["calls"][1] == value["calls"][1]


def test_a_dict_that_looks_like_a_tag_stays_a_dict() -> None:
    value = {"__nd__": "not an array", "__foreign__": 1}
    assert roundtrip(value) == value
    assert roundtrip({"__tuple__": [1]}) == {"__tuple__": [1]}


def test_nan_and_infinities_are_preserved_in_floats_and_arrays() -> None:
    got = roundtrip([math.nan, math.inf, -math.inf, np.array([np.nan, np.inf, -np.inf, 1.0])])
    assert math.isnan(got[0]) and got[1] == math.inf and got[2] == -math.inf
    np.testing.assert_array_equal(got[3], np.array([np.nan, np.inf, -np.inf, 1.0]))


@pytest.mark.parametrize("tensor", [
    pytest.param(torch.arange(6, dtype=torch.float64).reshape(2, 3), id="float64"),
    pytest.param(torch.ones(3, dtype=torch.float32, requires_grad=True) * 2, id="requires-grad"),
    pytest.param(torch.tensor([1, -2], dtype=torch.int64), id="int64"),
    pytest.param(torch.zeros(()), id="0-d"),
])
def test_torch_tensors_become_tensor_values_holding_their_data(tensor: torch.Tensor) -> None:
    got = roundtrip({"value": tensor})["value"]
    assert isinstance(got, TensorValue)
    expected = tensor.detach().numpy()
    assert_same_array(got.array, expected)


class Planted:
    """A value a student function might return; must never be pickled or rebuilt by the grader."""

    created = 0

    def __init__(self) -> None:
        type(self).created += 1

    def __reduce__(self):
        raise AssertionError("the codec pickled a student object")


@pytest.fixture
def no_pickle(monkeypatch):
    """Make any use of pickle fail the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("pickle must never be used for records")

    for name in ("dumps", "loads", "dump", "load"):
        monkeypatch.setattr(pickle, name, refuse)


def test_unknown_objects_become_their_type_name_and_are_never_rebuilt(no_pickle) -> None:
    Planted.created = 0
    text = encode({"value": Planted(), "many": [Planted(), (Planted(),)]})
    assert Planted.created == 3
    got = decode(text)
    assert Planted.created == 3
    name = f"{Planted.__module__}.{Planted.__qualname__}"
    assert got == {"value": Foreign(name), "many": [Foreign(name), (Foreign(name),)]}
    assert repr(got["value"]) == f"<{name}>"


def test_a_foreign_entry_naming_a_real_class_decodes_to_a_name_only(no_pickle) -> None:
    Planted.created = 0
    name = f"{Planted.__module__}.{Planted.__qualname__}"
    got = decode(json.dumps({"__foreign__": name}))
    assert got == Foreign(name)
    assert Planted.created == 0
    assert decode(json.dumps({"__foreign__": "os.system"})) == Foreign("os.system")


@pytest.mark.parametrize("value, type_name", [
    pytest.param(np.array([1, "a"], dtype=object), "numpy.ndarray[object]", id="object-array"),
    pytest.param(np.array(["ab", "c"]), "numpy.ndarray[<U2]", id="string-array"),
    pytest.param(np.array(["2026-01-01"], dtype="datetime64[D]"), "numpy.ndarray[datetime64[D]]",
                 id="datetime-array"),
    pytest.param({1: "a"}, "dict with non-string keys", id="int-keyed-dict"),
    pytest.param({1, 2}, "builtins.set", id="set"),
    pytest.param(len, "builtins.builtin_function_or_method", id="function"),
])
def test_values_a_record_cannot_carry_become_foreign(value: Any, type_name: str) -> None:
    assert roundtrip(value) == Foreign(type_name)


def test_an_int_subclass_is_not_passed_off_as_an_int() -> None:
    class Sneaky(int):
        def __eq__(self, other):
            return True

    got = roundtrip(Sneaky(3))
    assert isinstance(got, Foreign)
    assert "Sneaky" in got.type_name


def _nd(dtype: str, shape: list[Any], payload: bytes | str) -> str:
    text = payload if isinstance(payload, str) else base64.b64encode(payload).decode()
    return json.dumps({"__nd__": [dtype, shape, text]})


@pytest.mark.parametrize("text, reason", [
    pytest.param("{not json", "not JSON", id="malformed-json"),
    pytest.param("", "not JSON", id="empty"),
    pytest.param(json.dumps({"__pickle__": "gASVAAAAAAAAAAA="}), "unknown record tag", id="unknown-tag"),
    pytest.param(json.dumps({"a": 1, "b": 2}), "malformed record entry", id="untagged-dict"),
    pytest.param(json.dumps({"__tuple__": {"a": 1}}), "malformed tuple", id="tuple-not-list"),
    pytest.param(json.dumps({"__dict__": [1]}), "malformed dict", id="dict-not-dict"),
    pytest.param(json.dumps({"__nd__": ["<f8", [1]]}), "malformed array", id="array-two-fields"),
    pytest.param(json.dumps({"__nd__": ["<f8", 3, ""]}), "malformed array", id="shape-not-list"),
    pytest.param(_nd("|O", [1], bytes(8)), "not allowed", id="object-dtype"),
    pytest.param(_nd("<U1", [1], bytes(4)), "not allowed", id="unicode-dtype"),
    pytest.param(_nd("|V8", [1], bytes(8)), "not allowed", id="void-dtype"),
    pytest.param(_nd("<M8[s]", [1], bytes(8)), "not allowed", id="datetime-dtype"),
    pytest.param(_nd("no such dtype", [1], bytes(8)), "malformed record", id="unknown-dtype"),
    pytest.param(_nd("<f8", [3], bytes(16)), "does not match its shape", id="too-little-data"),
    pytest.param(_nd("<f8", [1], bytes(16)), "does not match its shape", id="too-much-data"),
    pytest.param(_nd("<f8", [-1], bytes(8)), "shape", id="negative-shape"),
    pytest.param(_nd("<f8", [1.5], bytes(8)), "shape", id="float-shape"),
    pytest.param(_nd("<f8", [2**32, 2**32], b""), "malformed record", id="shape-overflows-to-zero"),
    pytest.param(_nd("<f8", [1], "!!!notbase64!!!"), "malformed record", id="not-base64"),
    pytest.param(_nd("<f8", [1], "AAAAAAAAAAA"), "malformed record", id="bad-base64-padding"),
    pytest.param(json.dumps({"__tensor__": ["|O", [0], ""]}), "not allowed", id="object-tensor"),
])
def test_decode_rejects_malformed_records(text: str, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        decode(text)


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_decode_rejects_records_nested_too_deeply_with_a_record_error(depth: int) -> None:
    with pytest.raises(RecordError):
        decode("[" * depth + "]" * depth)


def test_decode_refuses_text_over_the_size_limit(monkeypatch) -> None:
    text = encode(np.zeros(100))
    assert decode(text).shape == (100,)
    monkeypatch.setattr(codec, "MAX_RECORD_CHARS", len(text) - 1)
    with pytest.raises(RecordError, match="exceeds"):
        decode(text)


def test_record_error_is_a_value_error() -> None:
    # callers that only know ValueError (the CLI, judge_check) still catch it
    assert issubclass(RecordError, ValueError)


float_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
    elements={"min_value": -1e4, "max_value": 1e4, "allow_nan": False, "allow_infinity": False,
              "allow_subnormal": False},
)


@settings(max_examples=150, deadline=None)
@given(array=float_arrays)
def test_decode_inverts_encode_for_bounded_float_arrays(array: np.ndarray) -> None:
    assert_same_array(roundtrip(array), array)


plain_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64),
    st.floats(min_value=-1e300, max_value=1e300, allow_nan=False), st.text(max_size=5),
)
plain_records = st.recursive(
    plain_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
    ),
    max_leaves=15,
)


def _typed(value: Any) -> Any:
    """A comparable form that also tells tuples, lists, bools and ints apart."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_typed(v) for v in value])
    if isinstance(value, dict):
        return ("dict", {k: _typed(v) for k, v in value.items()})
    return (type(value).__name__, value)


@settings(max_examples=150, deadline=None)
@given(record=plain_records)
def test_decode_inverts_encode_for_nested_plain_data(record: Any) -> None:
    assert _typed(roundtrip(record)) == _typed(record)
