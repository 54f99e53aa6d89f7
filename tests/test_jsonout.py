"""pipeline.jsonout writes exactly what json.dumps writes, for every JSON value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.jsonout import dumps

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=400, derandomize=True)
@given(_VALUES, st.integers(min_value=0, max_value=4), st.booleans())
def test_same_as_json_dumps(value: Any, indent: int, sort_keys: bool) -> None:
    expected = json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys)
    assert dumps(value, indent=indent, sort_keys=sort_keys) == expected


@pytest.mark.parametrize(
    "value",
    [
        "</script><!-- \u2028\u2029 & \" ' \u202e",
        {"a": [], "b": {}, "c": [[]], "d": [{}], "e": (1, 2.5, -0.0, 1e300)},
        [True, False, None, 10**30],
    ],
    ids=["hostile-text", "empty-containers-and-tuples", "literals"],
)
def test_edge_cases(value: Any) -> None:
    assert dumps(value) == json.dumps(value, ensure_ascii=False, indent=1)


def test_refuses_what_json_cannot_write() -> None:
    with pytest.raises(TypeError):
        dumps({"a": object()})
    with pytest.raises(TypeError):
        dumps({1: "non-str key"})


def test_dumps_leaves_no_garbage_cycles() -> None:
    """A build runs with the cyclic collector off: a call must free its output when it
    returns (its recursive writer once held the whole output in a reference cycle)."""
    import gc

    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        dumps({"a": [1, {"b": "c" * 1000}], "d": []}, indent=1, sort_keys=True)
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()
