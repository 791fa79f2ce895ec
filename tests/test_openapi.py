"""The OpenAPI schema and its browsable page: valid OpenAPI 3, the DESIGN.md paths, nothing from a CDN."""

import re

import pytest
import yaml
from drf_spectacular.validation import validate_schema

from crowd.services.campaigns import campaign_launch
from crowd.services.imports import items_import
from tests import factories

pytestmark = pytest.mark.django_db

# The REST API core of DESIGN.md: (method, path) as the schema spells them.
DESIGN_PATHS = [
    ("post", "/api/v1/campaigns/"),
    ("get", "/api/v1/campaigns/{campaign_id}/"),
    ("patch", "/api/v1/campaigns/{campaign_id}/"),
    ("post", "/api/v1/campaigns/{campaign_id}/items/"),
    ("post", "/api/v1/campaigns/{campaign_id}/launch/"),
    ("post", "/api/v1/workers/"),
    ("post", "/api/v1/funds/deposits/"),
    ("get", "/api/v1/funds/"),
    ("post", "/api/v1/assignments/next/"),
    ("post", "/api/v1/assignments/{assignment_id}/submit/"),
    ("post", "/api/v1/assignments/{assignment_id}/release/"),
    ("post", "/api/v1/campaigns/{campaign_id}/aggregate/"),
    ("get", "/api/v1/campaigns/{campaign_id}/results/"),
    ("get", "/api/v1/campaigns/{campaign_id}/export/"),
    ("get", "/api/v1/me/earnings/"),
]


@pytest.fixture
def schema(api) -> dict:
    response = api.get("/api/v1/schema/")
    assert response.status_code == 200
    assert "openapi" in response["Content-Type"]
    return yaml.safe_load(response.content)


def test_openapi_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Crowdloop API"
    validate_schema(schema)  # raises on anything that is not valid OpenAPI 3


def test_openapi_schema_as_json(api):
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_openapi_schema_lists_the_design_paths(schema):
    missing = [(method, path) for method, path in DESIGN_PATHS if method not in schema["paths"].get(path, {})]

    assert missing == [], sorted(schema["paths"])


def test_openapi_schema_documents_token_auth(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["tokenAuth"]["description"],
    }


def test_openapi_schema_documents_the_no_content_claim(schema):
    responses = schema["paths"]["/api/v1/assignments/next/"]["post"]["responses"]
    assert {"200", "201", "204"} <= set(responses)


def test_openapi_docs_page_renders_without_a_cdn(api):
    response = api.get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert "/api/v1/schema/" in html
    assert "cdn.jsdelivr" not in html
    assert "unpkg" not in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets), assets
    for asset in assets:
        served = api.get(asset)
        assert served.status_code == 200, asset
        if hasattr(served, "close"):
            served.close()


def _properties(schema: dict, name: str) -> set[str]:
    return set(schema["components"]["schemas"][name]["properties"])


def test_openapi_schema_describes_the_lease_and_submit_bodies_the_api_returns(schema, make_worker):
    campaign = factories.campaign(mode="review", blind_share=0)
    prelabel = {"model": "triage-bert", "label": "pos", "score": 0.7}
    items_import(
        campaign_id=campaign.id,
        rows=[{"external_id": "a", "data": {"text": "a"}, "language": "en", "prelabel": prelabel}],
    )
    campaign_launch(campaign_id=campaign.id)
    _, worker_api = make_worker()

    leased = worker_api.post("/api/v1/assignments/next/", {}, format="json")
    held = worker_api.post("/api/v1/assignments/next/", {}, format="json")
    body = leased.json()
    answers = {"answers": [{"item": item["id"], "label": "pos"} for item in body["items"]]}
    submitted = worker_api.post(f"/api/v1/assignments/{body['id']}/submit/", answers, format="json")

    assert (leased.status_code, held.status_code, submitted.status_code) == (201, 200, 200)
    assert held.json() == body  # the held lease reads back exactly as the claim returned it
    assert set(body) == _properties(schema, "Assignment")
    assert set(body["items"][0]) == _properties(schema, "AssignmentItem")
    assert set(body["items"][0]["prelabel"]) == _properties(schema, "Prelabel")
    # `next` and `reason` come only when the submit asked for the next lease (tests/crowd/test_api_submit_next.py).
    assert set(submitted.json()) | {"next", "reason"} == _properties(schema, "SubmitResult")
    responses = schema["paths"]["/api/v1/assignments/{assignment_id}/submit/"]["post"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SubmitResult")


@pytest.mark.parametrize("fmt", ["zz", "html", "<script>"])
def test_an_unknown_schema_format_is_a_400_in_the_error_shape(api, fmt):
    response = api.get("/api/v1/schema/", {"format": fmt})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["fields"] == {"format": "json or yaml."}
    assert api.get("/api/v1/schema/", {"format": "json"}).json()["openapi"].startswith("3.")
