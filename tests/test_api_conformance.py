"""Responses match the OpenAPI schema drf-spectacular generates: the main endpoints are driven through a whole loop
(and into their errors), and every response body is validated with `jsonschema` against the schema documented for
its operation and status. A status the schema does not list, or a body that does not match, fails."""

import json
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from rest_framework.test import APIClient

from crowd.services.organizations import api_key_create, organization_ensure
from tests import factories

pytestmark = pytest.mark.django_db


def _as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's null type (jsonschema does not know `nullable`)."""
    if isinstance(node, list):
        return [_as_json_schema(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


class Conformance:
    def __init__(self, schema: dict[str, Any]):
        self.schema = _as_json_schema(schema)
        self.registry = Registry().with_resource("urn:api", Resource.opaque(self.schema))
        # The schema's paths as regular expressions, to find the operation of a concrete URL.
        self.paths = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", path) + "$"), path) for path in self.schema["paths"]
        ]
        self.checked: set[tuple[str, str, str]] = set()

    def check(self, method: str, url: str, response) -> None:
        path = url.split("?", 1)[0]
        matches = [template for pattern, template in self.paths if pattern.match(path)]
        assert matches, f"{path} is not in the schema"
        template = min(matches, key=lambda t: t.count("{"))  # a literal segment wins over a parameter
        operation = self.schema["paths"][template][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {template} answered {status}, not documented"
        documented = operation["responses"][status]
        for header in documented.get("headers", {}):
            if header == "ETag" or header == "Retry-After":
                assert response.has_header(header), f"{method} {template} {status} lacks {header}"
        content = documented.get("content", {})
        if response.status_code in (204, 304) or not content:
            assert not response.content, f"{method} {template} {status} has an undocumented body"
        else:
            media = content.get("application/json")
            assert media is not None, f"{method} {template} {status}: no JSON body documented"
            body = json.loads(response.content)
            validator = Draft202012Validator(media["schema"], registry=self.registry)
            errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
            assert not errors, f"{method} {template} {status}: {errors[0].message} at {list(errors[0].path)}"
        self.checked.add((method.upper(), template, status))


def _rebase_refs(node: Any) -> Any:
    """`#/components/...` refs point into the registered document."""
    if isinstance(node, list):
        return [_rebase_refs(value) for value in node]
    if isinstance(node, dict):
        return {
            key: (f"urn:api{value}" if key == "$ref" and isinstance(value, str) else _rebase_refs(value))
            for key, value in node.items()
        }
    return node


@pytest.fixture
def conformance(api) -> Conformance:
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    checker = Conformance(_rebase_refs(schema))
    return checker


class Driver:
    """An APIClient whose every answer is checked against the schema."""

    def __init__(self, client: APIClient, conformance: Conformance):
        self.client, self.conformance = client, conformance

    def __getattr__(self, method: str):
        def call(url: str, data: Any = None, **extra: Any):
            if method == "get":
                response = self.client.get(url, data, **extra)
            else:
                extra.setdefault("format", "json")
                response = getattr(self.client, method)(url, data, **extra)
            self.conformance.check(method, url, response)
            return response

        return call


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_main_endpoints_answer_as_the_schema_says(conformance):
    organization, owner = organization_ensure(name="Health NGO", owner_email="owner@ngo.example")
    org = Driver(_client(api_key_create(organization_id=organization.id, created_by_id=owner.id)), conformance)
    _worker, worker_key = factories.worker(languages=(("en", 5),))
    worker = Driver(_client(worker_key), conformance)

    created = org.post(
        "/api/v1/campaigns/",
        {
            "name": "Feedback",
            "labels": ["pos", "neg"],
            "reward": "0.10",
            "currency": "USD",
            "redundancy": 1,
            "max_redundancy": 1,
            "estimated_seconds": 20,
        },
    )
    assert created.status_code == 201
    campaign = created.json()["id"]
    base = f"/api/v1/campaigns/{campaign}/"
    org.post(base + "items/", [{"external_id": f"i{n}", "data": {"text": f"text {n}"}} for n in range(3)])
    assert org.post(base + "launch/").status_code == 400  # no funds yet: the error shape
    org.post("/api/v1/funds/deposits/", {"amount": "10.00", "currency": "USD", "reference": "grant"})
    org.get("/api/v1/funds/")
    launched = org.post(base + "launch/")
    assert launched.status_code == 200, launched.content
    org.get(base)
    org.get("/api/v1/campaigns/?limit=1")
    org.patch(base, {"instructions": "Read it all."})
    org.get(base + "annotators/")
    org.get(base + "fairness/")
    org.get(base + "submissions/")

    lease = worker.post("/api/v1/assignments/next/", {})
    assert lease.status_code == 201
    assignment = lease.json()
    answers = [{"item": item["id"], "label": "pos"} for item in assignment["items"]]
    worker.post(f"/api/v1/assignments/{assignment['id']}/submit/", {"answers": answers})
    worker.get("/api/v1/me/earnings/")

    results = org.get(base + "results/?limit=1")
    assert results.status_code == 200 and results.json()["next"]
    org.get(base + "results/", HTTP_IF_NONE_MATCH=results["ETag"].replace("W/", ""))
    etagged = org.get(base + "results/?limit=1", HTTP_IF_NONE_MATCH=results["ETag"])
    assert etagged.status_code == 304

    issued = org.post("/api/v1/keys/", {"name": "export", "role": "viewer"})
    assert issued.status_code == 201
    org.get("/api/v1/keys/")
    org.post(f"/api/v1/keys/{issued.json()['id']}/reassign/", {"user": owner.id})
    assert org.delete(f"/api/v1/keys/{issued.json()['id']}/").status_code == 204

    # Errors: bad input, someone else's object, no credentials, unknown path.
    assert org.post("/api/v1/campaigns/", {"labels": "nope"}).status_code == 400
    assert org.get("/api/v1/campaigns/999999/").status_code == 404
    assert Driver(APIClient(), conformance).get("/api/v1/funds/").status_code == 401
    assert worker.get("/api/v1/keys/").status_code == 403

    expected = {("POST", "/api/v1/campaigns/", "201"), ("GET", "/api/v1/campaigns/{campaign_id}/results/", "304")}
    assert expected <= conformance.checked


def test_throttled_answers_match_the_schema(conformance, org_key):
    from django.conf import settings

    cache.clear()
    rates = dict.fromkeys(("api_key", "worker", "user", "anon"), "1/min")
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        org = Driver(_client(org_key[2]), conformance)
        org.get("/api/v1/funds/")
        assert org.get("/api/v1/funds/").status_code == 429
    cache.clear()


def test_conformance_check_fails_on_a_body_off_the_schema(conformance):
    """The checker itself: a body missing a required field, or with a wrong type, or an undocumented status, fails."""
    from django.http import HttpResponse

    def answer(body: Any, status: int = 200) -> HttpResponse:
        return HttpResponse(json.dumps(body), status=status, content_type="application/json")

    conformance.check("get", "/api/v1/keys/", answer({"results": [], "next_cursor": None, "next": None}))
    for wrong in ({"results": []}, {"results": "x", "next_cursor": None, "next": None}):
        with pytest.raises(AssertionError):
            conformance.check("get", "/api/v1/keys/", answer(wrong))
    with pytest.raises(AssertionError, match="not documented"):
        conformance.check("get", "/api/v1/keys/", answer({}, status=418))
    with pytest.raises(AssertionError):
        conformance.check("get", "/api/v1/keys/", answer({"error": {"code": "x"}}, status=404))


def test_schema_documents_rate_limits_etags_and_the_error_shape(conformance):
    operations = [
        (path, method, operation)
        for path, methods in conformance.schema["paths"].items()
        for method, operation in methods.items()
        if path.startswith("/api/v1/") and method in ("get", "post", "put", "patch", "delete")
    ]
    for path, method, operation in operations:
        throttled = operation["responses"]["429"]
        assert "Retry-After" in throttled["headers"], (method, path)
        media = throttled["content"]["application/json"]
        assert media["schema"]["$ref"].endswith("/Error") and "examples" in media, (method, path)
    results = conformance.schema["paths"]["/api/v1/campaigns/{campaign_id}/results/"]["get"]
    assert "ETag" in results["responses"]["200"]["headers"] and "ETag" in results["responses"]["304"]["headers"]
    assert any(p["name"] == "If-None-Match" and p["in"] == "header" for p in results["parameters"])
    keys = conformance.schema["paths"]["/api/v1/keys/"]["get"]
    assert {"role", "active", "name", "cursor", "limit"} <= {p["name"] for p in keys["parameters"]}
