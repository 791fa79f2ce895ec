"""An example for every successful JSON answer in the OpenAPI schema.

Hand-written examples (extend_schema) stay as they are; every other 2xx JSON response gets one built from its own
schema — field names, types, formats and enum values — so the API docs show what each endpoint returns, and a test
(tests/test_openapi_examples.py) checks that every example, written or built, matches its schema.
"""

from typing import Any

MAX_DEPTH = 8
STRINGS_BY_FORMAT = {
    "date-time": "2026-01-02T09:30:00Z",
    "date": "2026-01-02",
    "uuid": "5f0c9a8e-1b2c-4d3e-8f90-a1b2c3d4e5f6",
    "uri": "https://partner.example/path",
    "email": "coordinator@ngo.example",
    "decimal": "0.10",
}


def example_for(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        return None
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        choices = [value for value in schema["enum"] if value not in (None, "")]
        return choices[0] if choices else None
    for combined in ("allOf", "oneOf", "anyOf"):
        if schema.get(combined):
            if combined == "allOf":
                merged: dict[str, Any] = {}
                for part in schema["allOf"]:
                    value = example_for(part, components, depth + 1)
                    if isinstance(value, dict):
                        merged.update(value)
                    else:
                        return value
                return merged
            return example_for(schema[combined][0], components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: example_for(part, components, depth + 1) for name, part in schema.get("properties", {}).items()}
    if kind == "array":
        item = example_for(schema.get("items", {}), components, depth + 1)
        return [] if item is None else [item]
    if kind == "string":
        text = STRINGS_BY_FORMAT.get(schema.get("format", ""), "text")
        text = text[: schema["maxLength"]] if "maxLength" in schema else text
        return text.ljust(schema.get("minLength", 0), "x")
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 0.9 if schema.get("maximum", 1) >= 0.9 else schema.get("minimum", 0)
    if kind == "boolean":
        return True
    return None if schema.get("nullable") else {}


def add_examples(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: fill in an example for each successful JSON answer that has none."""
    components = result.get("components", {}).get("schemas", {})
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if not str(status).startswith("2"):
                    continue
                for media_type, media in response.get("content", {}).items():
                    if "json" not in media_type or "examples" in media or "example" in media:
                        continue
                    value = example_for(media.get("schema", {}), components)
                    media["examples"] = {"answer": {"value": value, "summary": "A successful answer"}}
    return result
