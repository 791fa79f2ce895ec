"""The whole labeling loop through HTTP only, the way a partner system drives it."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

# Six Swahili/English texts with two data columns; every worker labels by the same rule, so majorities are known.
ITEMS_CSV = (
    "external_id,text,source,language\n"
    "m1,Huduma ilikuwa nzuri sana,sms,sw\n"
    "m2,The clinic was closed again,survey,en\n"
    "m3,Dawa zilipatikana,sms,sw-KE\n"
    "m4,Nobody answered the phone,survey,en\n"
    "m5,Asante kwa msaada,sms,sw\n"
    "m6,Long queue and rude staff,survey,en\n"
)
NEGATIVE = {"m2", "m4", "m6"}
EXTERNAL_ID_BY_TEXT = {line.split(",")[1]: line.split(",")[0] for line in ITEMS_CSV.splitlines()[1:]}
REWARD = Decimal("0.05")


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_loop_end_to_end_through_the_api(django_capture_on_commit_callbacks):
    out = io.StringIO()
    call_command(
        "create_org_token", org="Community Health", email="lead@health.example", stdout=out, stderr=io.StringIO()
    )
    org = _client(out.getvalue().strip().splitlines()[-1])

    created = org.post(
        "/api/v1/campaigns/",
        {
            "name": "Clinic feedback",
            "instructions": "Is the message positive or negative?",
            "labels": [{"value": "positive", "text": "Positive"}, {"value": "negative", "text": "Negative"}],
            "redundancy": 3,
            "max_redundancy": 3,
            "items_per_task": 2,
            "reward": str(REWARD),
            "estimated_seconds": 20,  # 0.05 USD per 20 s = 9 USD/hour, above the default floor
            "currency": "USD",
            "languages": ["sw", "en"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    campaign = created.json()["id"]
    base = f"/api/v1/campaigns/{campaign}/"

    upload = SimpleUploadedFile("feedback.csv", ITEMS_CSV.encode(), content_type="text/csv")
    imported = org.post(f"{base}items/", {"file": upload}, format="multipart")
    assert imported.status_code == 201, imported.content
    assert imported.json() == {"created": 6, "skipped": 0}

    # Launch is refused until the organization has funds for every answer the campaign may need.
    refused = org.post(f"{base}launch/")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "insufficient_funds"
    deposit = {"amount": "5.00", "currency": "USD", "reference": "grant-2026-11"}
    assert org.post("/api/v1/funds/deposits/", deposit, format="json").status_code == 201
    launched = org.post(f"{base}launch/")
    assert launched.status_code == 200, launched.content
    funds = org.get("/api/v1/funds/").json()["funds"]["USD"]
    # 4 microtasks (Swahili and English pack apart) x 3 answers x 0.05
    assert (funds["deposited"], funds["reserved"], funds["spent"]) == ("5.00", "0.60", "0.00")
    assert (launched.json()["status"], launched.json()["items"]) == ("active", 6)
    microtasks = launched.json()["microtasks"]
    assert microtasks == 4  # grouped by base language (sw-KE is sw): 3 sw and 3 en items, two per microtask

    workers: list[APIClient] = []
    for n in range(3):
        enrolled = org.post(
            "/api/v1/workers/",
            {
                "username": f"amina{n}",
                "country": "KE",
                "languages": [{"code": "sw", "level": 5}, {"code": "en", "level": 4}],
            },
            format="json",
        )
        assert enrolled.status_code == 201, enrolled.content
        worker = _client(enrolled.json()["token"])
        # The app shows the terms in the worker's language and the worker accepts them: no work before that.
        assert worker.post("/api/v1/assignments/next/", {}, format="json")["Crowdloop-Reason"] == "terms_not_accepted"
        terms = worker.get("/api/v1/me/terms/", HTTP_ACCEPT_LANGUAGE="sw").json()
        assert worker.post("/api/v1/me/terms/", {"version": terms["version"]}, format="json").status_code == 200
        workers.append(worker)

    done: dict[int, int] = {}
    for index, worker in enumerate(workers):
        done[index] = 0
        while True:
            leased = worker.post("/api/v1/assignments/next/", {"campaign": campaign}, format="json")
            if leased.status_code == 204:
                break
            assert leased.status_code == 201, leased.content
            body = leased.json()
            answers = []
            for item in body["items"]:
                external_id = EXTERNAL_ID_BY_TEXT[item["data"]["text"]]
                answers.append({"item": item["id"], "label": "negative" if external_id in NEGATIVE else "positive"})
            with django_capture_on_commit_callbacks(execute=True):
                submitted = worker.post(
                    f"/api/v1/assignments/{body['id']}/submit/", {"answers": answers}, format="json"
                )
            assert submitted.status_code == 200, submitted.content
            done[index] += 1
    assert done == {0: microtasks, 1: microtasks, 2: microtasks}

    results = org.get(f"{base}results/").json()
    assert results["next"] is None
    rows = {row["external_id"]: row for row in results["results"]}
    assert set(rows) == {f"m{i}" for i in range(1, 7)}
    for external_id, row in rows.items():
        assert row["status"] == "complete"
        assert row["answers"] == 3
        assert row["label"] == ("negative" if external_id in NEGATIVE else "positive")
        assert row["confidence"] > 0.9  # three agreeing answers: Dawid-Skene is confident
    funds = org.get("/api/v1/funds/").json()["funds"]["USD"]
    assert (funds["spent"], funds["reserved"], funds["available"]) == ("0.60", "0.00", "4.40")  # done: all back
    progress = org.get(base).json()
    assert (progress["status"], progress["complete_items"], progress["answers"]) == ("completed", 6, 18)

    export = org.get(f"{base}export/?format=csv")
    assert export.status_code == 200
    exported = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert {row["external_id"]: row["label"] for row in exported} == {
        external_id: row["label"] for external_id, row in rows.items()
    }
    assert all(row["status"] == "complete" for row in exported)

    for worker in workers:
        earnings = worker.get("/api/v1/me/earnings/")
        assert earnings.status_code == 200
        body = earnings.json()
        assert body["currency"] == "USD"
        assert Decimal(body["pending"]) == REWARD * microtasks
        assert (body["available"], body["paid"]) == ("0.00", "0.00")
        assert len(body["entries"]) == microtasks
        assert all(entry["kind"] == "reward" and entry["campaign"] == campaign for entry in body["entries"])
