import base64

import pytest

import hubcore
from hubcore.errors import InputError
from hubcore.signatures import FilePath, Image, collect_signatures


class Demo(hubcore.Module):
    @hubcore.serving(batch="texts")
    def tag(self, texts: list[str], top_k: int = 3, scale: float = 1.0, strict: bool = False) -> list[dict]:
        """Tag texts.

        Args:
            texts: sentences to tag
            top_k: how many tags
                per sentence
        """
        return [{"text": t, "k": top_k} for t in texts]

    @hubcore.serving
    def look(self, images: list[Image], path: FilePath | None = None) -> list[int]:
        return [len(i) for i in images]

    def helper(self):
        return "not exposed"


SIGS = collect_signatures(Demo)


def test_signatures_come_from_marked_methods_only():
    assert list(SIGS) == ["tag", "look"]
    tag = SIGS["tag"]
    assert tag.default and not SIGS["look"].default  # the first marked method is the default
    assert tag.batch_input == "texts" and tag.description == "Tag texts."
    assert [f.name for f in tag.inputs] == ["texts", "top_k", "scale", "strict"]
    assert tag.field("texts").description == "sentences to tag" and tag.field("texts").required
    assert tag.output == {"type": "array", "items": {"type": "object"}}


def test_request_schema_is_json_schema_with_defaults():
    schema = SIGS["tag"].request_schema()
    assert schema["required"] == ["texts"] and schema["additionalProperties"] is False
    assert schema["properties"]["texts"]["items"] == {"type": "string"}
    assert schema["properties"]["top_k"] == {"type": "integer", "description": "how many tags per sentence", "default": 3}
    assert SIGS["look"].request_schema()["properties"]["images"]["items"]["contentEncoding"] == "base64"


@pytest.mark.parametrize("payload, message", [
    ([], "must be a JSON object"),
    ({}, "missing required field 'texts'"),
    ({"texts": "one"}, r"tag.texts: expected a list of strings, got a string"),
    ({"texts": ["a", 2]}, r"tag.texts\[1\]: expected a string, got an integer"),
    ({"texts": ["a"], "top_k": True}, "tag.top_k: expected an integer, got a boolean"),
    ({"texts": ["a"], "top_k": 1.5}, "tag.top_k: expected an integer, got a number"),
    ({"texts": ["a"], "extra": 1}, r"unknown field\(s\) \['extra'\]"),
])
def test_bind_rejects_bad_payloads_naming_the_field(payload, message):
    with pytest.raises(InputError, match=message):
        SIGS["tag"].bind(payload, remote=True)


def test_bind_accepts_integers_for_numbers_and_keeps_values():
    assert SIGS["tag"].bind({"texts": ["a"], "scale": 2}, remote=True) == {"texts": ["a"], "scale": 2}


def test_remote_images_are_decoded_and_paths_refused():
    raw = b"\x89PNG fake"
    encoded = base64.b64encode(raw).decode()
    assert SIGS["look"].bind({"images": [encoded, "data:image/png;base64," + encoded]}, remote=True) == {
        "images": [raw, raw]}
    with pytest.raises(InputError, match=r"look.images\[0\]: not valid base64"):
        SIGS["look"].bind({"images": ["not base64!"]}, remote=True)
    with pytest.raises(InputError, match="refused over HTTP"):
        SIGS["look"].bind({"images": [encoded], "path": "/etc/passwd"}, remote=True)
    assert SIGS["look"].bind({"images": ["x"], "path": "/tmp/a"}, remote=False)["path"] == "/tmp/a"


def test_batch_argument_must_exist():
    class Broken(hubcore.Module):
        @hubcore.serving(batch="nope")
        def run(self, texts: list[str]) -> list[str]:
            return texts

    with pytest.raises(TypeError, match=r"batch='nope'.*no such argument"):
        collect_signatures(Broken)


def test_runnable_marks_the_default():
    class Two(hubcore.Module):
        @hubcore.serving
        def first(self, x: int) -> int:
            return x

        @hubcore.runnable
        def second(self, x: int) -> int:
            return -x

    sigs = collect_signatures(Two)
    assert [s.name for s in sigs.values() if s.default] == ["second"]
