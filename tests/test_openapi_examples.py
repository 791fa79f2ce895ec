"""Every successful JSON answer in the schema has an example, and every example — written by hand or built from the
schema (config/schema_examples.py) — matches the schema it illustrates."""

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from config.schema_examples import example_for
from tests.test_api_conformance import _as_json_schema, _rebase_refs

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_every_successful_json_answer_has_an_example_that_matches_its_schema(schema):
    checkable = _as_json_schema(_rebase_refs(schema))
    registry = Registry().with_resource("urn:api", Resource.opaque(checkable))
    seen = 0
    for path, methods in checkable["paths"].items():
        for method, operation in methods.items():
            for status, response in operation.get("responses", {}).items():
                for media_type, media in response.get("content", {}).items():
                    if not status.startswith("2") or "json" not in media_type:
                        continue
                    examples = media.get("examples") or (
                        {"one": {"value": media["example"]}} if "example" in media else {}
                    )
                    assert examples, f"{method.upper()} {path} {status}: no example"
                    validator = Draft202012Validator(media["schema"], registry=registry)
                    for name, example in examples.items():
                        errors = list(validator.iter_errors(example["value"]))
                        assert not errors, f"{method.upper()} {path} {status} example {name}: {errors[0].message}"
                    seen += 1
    assert seen > 50


def test_built_examples_follow_types_formats_enums_and_references():
    components = {"Label": {"type": "object", "properties": {"value": {"type": "string"}}}}
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "at": {"type": "string", "format": "date-time"},
            "status": {"enum": ["queued", "done"]},
            "score": {"type": "number", "nullable": True},
            "labels": {"type": "array", "items": {"$ref": "#/components/schemas/Label"}},
            "flag": {"type": "boolean"},
        },
    }

    assert example_for(schema, components) == {
        "id": 1,
        "at": "2026-01-02T09:30:00Z",
        "status": "queued",
        "score": 0.9,
        "labels": [{"value": "text"}],
        "flag": True,
    }
