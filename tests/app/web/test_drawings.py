"""Reading drawings from requests: the JSON bodies read as the standard library reads them."""

from __future__ import annotations

import json
import math

import pytest

from app.web.drawings import parse_json

SAME = [b'{"pixels": [0, 0.5, 1, 1e-7, 0.30000000000000004, -0.0, 2.5e-3]}',
        b'{"image": "data:image/png;base64,iVBORw0KGgo=", "image": "last"}', b' {"a": [1, {"b": null}]}\n',
        b'{"s": "\\u00e9\\n\\"", "t": true, "f": false}', b'{"a": 18446744073709551616}', b"[]", b'"x"']
LENIENT = [b'{"pixels": [NaN]}', b'{"pixels": [Infinity]}', b'{"a": 1e400}', b'\xef\xbb\xbf{"a": 1}',
           '{"a": 1}'.encode("utf-16"), b'{"a": "\\ud800"}', b'{"a": ' + b"9" * 400 + b"}"]
BROKEN = [b"", b"{", b'{"a": 1,}', b"[1 2]", b"\xff\xfe\xfa", b"[" * 100_000 + b"]" * 100_000]


def same(a: object, b: object) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("body", SAME + LENIENT)
def test_json_bodies_read_as_the_standard_library_reads_them(body: bytes) -> None:
    ours, theirs = parse_json(body), json.loads(body)
    if isinstance(theirs, dict) and "pixels" in theirs:
        assert all(same(a, b) for a, b in zip(ours["pixels"], theirs["pixels"], strict=True))
    else:
        assert ours == theirs or json.dumps(ours) == json.dumps(theirs)


@pytest.mark.parametrize("body", BROKEN)
def test_broken_json_fails_as_the_standard_library_fails(body: bytes) -> None:
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError, RecursionError)) as ours:
        parse_json(body)
    with pytest.raises(type(ours.value)) as theirs:
        json.loads(body)
    assert str(ours.value) == str(theirs.value)
