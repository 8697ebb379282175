"""X-Twilio-Signature validation on twilio-python's own test vectors (vendor-samples)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sources.signatures import twilio_signature, validate_twilio
from tests.unit.sources.samples import sample_json

FILE = "twilio_request_signature_test_vectors.json"


def _vectors() -> list[dict[str, Any]]:
    return list(sample_json(FILE)["vectors"])


def _params(vector: dict[str, Any]) -> Any:
    if "params_multi" in vector:
        return [tuple(pair) for pair in vector["params_multi"]]
    return vector.get("params")


def _token() -> str:
    return str(sample_json(FILE)["auth_token"])


def test_every_vector_validates() -> None:
    """Each vector's expected signature validates for the URL the server received."""
    vectors = _vectors()
    assert len(vectors) == 6
    for vector in vectors:
        url = vector.get("url_received") or vector["url"]
        body = vector["body"].encode() if "body" in vector else None
        ok = validate_twilio(
            _token(), url, vector["expected_signature"], _params(vector), body=body
        )
        assert ok, vector["name"]


def test_signature_computation_matches_directly_signed_vectors() -> None:
    """Vectors that name the signed URL reproduce the expected signature exactly."""
    for vector in _vectors():
        url = vector.get("url_signed") or vector.get("url")
        if url is None or "body" in vector:
            continue
        assert twilio_signature(_token(), url, _params(vector)) == vector["expected_signature"]


@pytest.mark.parametrize("change", ["token", "param", "url", "signature", "body"])
def test_tampering_fails(change: str) -> None:
    """Another token, param, URL, signature or body does not validate."""
    form, body_vector = _vectors()[0], _vectors()[5]
    token, url, params = _token(), form["url"], dict(form["params"])
    signature, body = form["expected_signature"], None
    if change == "token":
        token = "54321"
    elif change == "param":
        params["Digits"] = "9999"
    elif change == "url":
        url = url.replace("foo=1", "foo=2")
    elif change == "signature":
        signature = signature[:-2] + "A="
    else:
        url, signature, params = body_vector["url"], body_vector["expected_signature"], None
        body = b'{"property": "value", "boolean": false}'
    assert not validate_twilio(token, url, signature, params, body=body)


def test_empty_token_or_signature_never_validates() -> None:
    """A missing auth token or header is a failure, not an exception."""
    vector = _vectors()[0]
    assert not validate_twilio("", vector["url"], vector["expected_signature"], vector["params"])
    assert not validate_twilio(_token(), vector["url"], "", vector["params"])
