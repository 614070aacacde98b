import pytest

from replisuite.llm import GenerationParams, Message, Request, Response


def request(**changes):
    values = dict(kind="chat", backend="local", model="m", messages=(Message("user", "hi"),))
    values.update(changes)
    return Request(**values)


def test_key_is_stable_and_covers_every_field():
    base = request()
    assert base.key == request().key
    assert len(base.key) == 64
    variants = [
        request(backend="openai"),
        request(model="n"),
        request(messages=(Message("user", "hi!"),)),
        request(messages=(Message("system", "s"), Message("user", "hi"))),
        request(params=GenerationParams(temperature=0.5)),
        request(params=GenerationParams(seed=1)),
        request(params=GenerationParams(max_tokens=10)),
        request(params=GenerationParams(stop=("\n",))),
        request(kind="choose", options=("a", "b"), method="loglik"),
        request(kind="choose", options=("a", "b"), method="parsed"),
        request(sample="record-2"),
    ]
    keys = {v.key for v in variants}
    assert len(keys) == len(variants) and base.key not in keys


def test_round_trip_through_dict_keeps_the_key():
    original = request(kind="choose", options=("Yes", "No"), method="loglik", params=GenerationParams(stop=("x",)))
    assert Request.from_dict(original.to_dict()) == original
    assert Request.from_dict(original.to_dict()).key == original.key


def test_invalid_requests_are_refused():
    with pytest.raises(ValueError, match="two options"):
        request(kind="choose", options=("a",), method="loglik")
    with pytest.raises(ValueError, match="method"):
        request(kind="choose", options=("a", "b"), method="guess")
    with pytest.raises(ValueError, match="at least one message"):
        request(messages=())


def test_response_record_refuses_a_key_that_is_not_its_request():
    response = Response(request(), "t", None, None, None, {}, 0.1, "2026-01-01T00:00:00+00:00")
    record = response.to_dict()
    assert Response.from_dict(record) == Response(**{**vars(response), "origin": "live"})
    record["key"] = "0" * 64
    with pytest.raises(ValueError, match="does not match"):
        Response.from_dict(record)
