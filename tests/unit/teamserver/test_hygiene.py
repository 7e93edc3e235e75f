"""The JSON depth limit and text cleaning of services/teamserver/hygiene.py."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from fastapi import FastAPI, Request
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from services.teamserver import hygiene
from services.teamserver.hygiene import MAX_JSON_DEPTH, clean_text, json_depth_exceeds, loads_json
from tests.fuzzing import FUZZ, depth, dumps, json_values, texts


@FUZZ
@given(json_values(max_leaves=40), st.integers(min_value=0, max_value=6))
def test_depth_check_agrees_with_the_parsed_depth(value, limit):
    for raw in (dumps(value), json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")):
        assert json_depth_exceeds(raw, limit) == (depth(value) > limit)


@FUZZ
@given(st.binary(max_size=4096))
@example(b'"' + b'\\"' * 1000)
@example(b"]]]]{{{{")
def test_any_bytes_are_judged_without_error(raw):
    assert json_depth_exceeds(raw, 3) in (True, False)


def test_brackets_in_strings_and_escapes_do_not_count():
    assert not json_depth_exceeds(json.dumps({"text": "[" * 100 + '\\"{' * 50}).encode(), 2)
    assert json_depth_exceeds(b"[" * 33 + b"]" * 33, 32) and not json_depth_exceeds(b"[" * 32 + b"]" * 32, 32)


@pytest.mark.parametrize("raw", [
    b'"' + b'\\"' * 400_000,                 # one unterminated string full of escaped quotes
    b'["' + b'\\\\"' * 300_000,              # escaped backslashes before each quote
    b"[]" * 500_000,                         # a million brackets, never deep
    b'["' + b"x" * 900_000 + b'"]',          # one huge string
])
def test_scan_is_linear_on_pathological_megabytes(raw):
    started = time.perf_counter()
    json_depth_exceeds(raw)
    assert time.perf_counter() - started < 2.0


def test_loads_json_refuses_deep_documents_with_a_value_error():
    with pytest.raises(hygiene.JsonTooDeep, match="nested deeper than 32 levels"):
        loads_json("[" * 100_000 + "]" * 100_000)
    assert loads_json('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


@FUZZ
@given(st.one_of(texts, st.text()))
def test_clean_text_is_storable_and_keeps_the_rest(value):
    cleaned = clean_text(value)
    cleaned.encode("utf-8")
    assert "\x00" not in cleaned
    assert len(cleaned) == len(value) - value.count("\x00")


class Body(BaseModel):
    text: str = Field(min_length=1)  # constrained str: pydantic refuses unpaired surrogates (422)
    version: int = 0


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/echo")
    def echo(body: Body) -> dict:
        return {"text": body.text}

    @app.post("/webhooks/raw")
    async def raw(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    hygiene.install(app)
    return app


def _post(path: str, content: bytes, content_type: str | None = "application/json") -> httpx.Response:
    async def go():
        transport = httpx.ASGITransport(app=_app())
        headers = {"content-type": content_type} if content_type else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, content=content, headers=headers)
    return asyncio.run(go())


def test_middleware_refuses_deep_bodies_and_passes_the_rest_untouched():
    deep = b'{"text": "x", "extra": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    for content_type in ("application/json", "application/merge-patch+json; charset=utf-8", None):
        r = _post("/v1/echo", deep, content_type)
        assert r.status_code == 400 and r.json() == {"detail": f"JSON nested deeper than {MAX_JSON_DEPTH} levels"}
    r = _post("/v1/echo", json.dumps({"text": "[[[\u202e", "extra": [[[[]]]]}).encode())
    assert r.status_code == 200 and r.json() == {"text": "[[[\u202e"}
    # Not JSON to FastAPI, or a webhook (its parser checks, after the signature): passed through.
    assert _post("/v1/echo", deep, "text/plain").status_code == 422
    assert _post("/webhooks/raw", deep).json() == {"bytes": len(deep)}


def test_validation_errors_echoing_unpaired_surrogates_still_encode():
    r = _post("/v1/echo", b'{"text": "a\\ud800b"}')
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "text"]
    r = _post("/v1/echo", b'{"text": "ok", "version": "\\udfff"}')
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == "\udfff"
