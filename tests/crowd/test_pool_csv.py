"""Enrolling workers from a CSV on the pool page: checked whole before anything is written, every bad row named with
the reason, nobody enrolled unless every row is good; workers already in the pool are skipped and counted; a file
that cannot be read is a clear 400, never a 500."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crowd.exceptions import Conflict
from crowd.services import pool_enrolment
from crowd.services.organizations import organization_ensure
from crowd.services.pool_enrolment import PoolCsvRejected, PoolCsvUnreadable, pool_enroll_csv
from tests import factories
from tests.crowd.pages import logged_in, member
from workers.models import WorkerProfile

pytestmark = pytest.mark.django_db


def _upload(client, organization, content: bytes, name: str = "workers.csv"):
    return client.post(
        f"/manage/organizations/{organization.id}/workers/",
        {"action": "enroll_csv", "file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def _pool(organization) -> dict[str, tuple[str, list[str]]]:
    return {
        p.user.username: (p.country, sorted(p.languages.values_list("code", flat=True)))
        for p in WorkerProfile.objects.filter(enrolled_by=organization).select_related("user")
    }


def test_a_good_file_enrolls_everyone(org):
    organization, owner = org
    content = (
        "\ufeffUsername,Languages,Country\r\n"  # a spreadsheet's CSV UTF-8: BOM, CRLF, capitalised header
        "amina,Kiswahili|en,ke\r\n"
        'jean,"French, English",\r\n'
        "baraka,sw;dyu,TZ\r\n"
        "\r\n"
    ).encode()
    client = logged_in(owner)
    response = _upload(client, organization, content)
    assert response.status_code == 302
    assert _pool(organization) == {
        "amina": ("KE", ["en", "sw"]),
        "jean": ("", ["en", "fr"]),
        "baraka": ("TZ", ["dyu", "sw"]),
    }
    assert set(WorkerProfile.objects.get(user__username="amina").languages.values_list("level", flat=True)) == {4}
    assert "3 workers enrolled." in client.get(response["Location"]).content.decode()


def test_every_bad_row_is_reported_and_nobody_is_enrolled(org):
    organization, owner = org
    factories.worker(username="taken")  # another organization's worker
    content = (
        b"username,languages,country\n"
        b"good,en,KE\n"  # row 1
        b",en,\n"  # row 2: no username
        b"two words,en,\n"  # row 3
        b"nolang,,\n"  # row 4
        b"martian,Blorp,\n"  # row 5
        b"Good,en,\n"  # row 6: the same name as row 1, whatever the case
        b"faraway,en,XX\n"  # row 7
        b"taken,en,\n"  # row 8
        b"extra,en,KE,surplus\n"  # row 9
    )
    response = _upload(logged_in(owner), organization, content)
    assert response.status_code == 400
    problems = response.context["csv_problems"]
    assert [p["row"] for p in problems] == [2, 3, 4, 5, 6, 7, 8, 9]
    text = response.content.decode()
    assert "Nobody was enrolled: 8 problems to fix in the file." in text
    for expected in (
        "Row 2: The username is missing.",
        "Row 4: Name at least one language.",
        "“Blorp” is not a language we know",
        "is also on row 1",
        "“XX” is not a two-letter country code",
        "“taken” is taken by another account",
        "Row 9: More cells than the header has columns.",
    ):
        assert expected in text, expected
    assert not WorkerProfile.objects.filter(enrolled_by=organization).exists()


def test_workers_already_in_the_pool_are_skipped_and_counted(org):
    organization, owner = org
    factories.worker(username="amina", organization=organization)
    content = b"username,languages\nAmina,sw\nbaraka,sw\n"
    client = logged_in(owner)
    response = _upload(client, organization, content)
    assert response.status_code == 302
    assert sorted(_pool(organization)) == ["amina", "baraka"]
    assert (
        "1 worker enrolled. 1 row skipped: already in your pool." in client.get(response["Location"]).content.decode()
    )

    again = pool_enroll_csv(organization_id=organization.id, data=content)  # the same file twice enrolls nobody twice
    assert (again.enrolled, again.skipped) == ([], ["Amina", "baraka"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("username,languages\nrené,fr\n".encode("latin-1"), "not UTF-8"),
        (b"", "The file is empty."),
        (b" \n\n", "The file is empty."),
        (b"amina,sw,KE\nbaraka,sw,KE\n", "The first row must be the header: username,languages,country"),
        (b"username,languages,email\na,sw,a@b.example\n", "Unknown column"),
        (b"username,languages\n", "a header but no rows"),
        (b'username,languages\n"amina,sw\n', "Row 1 is not valid CSV"),
        (b'"username,languages\namina,sw\n', "The header row is not valid CSV"),
        (b"username,languages\x00\namina,sw\n", "not a CSV text file"),
    ],
    ids=[
        "latin-1",
        "empty",
        "blank",
        "no-header",
        "unknown-column",
        "no-rows",
        "broken-quote",
        "broken-header",
        "binary",
    ],
)
def test_a_file_that_cannot_be_read_is_a_clear_400(org, content, message):
    organization, owner = org
    response = _upload(logged_in(owner), organization, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WorkerProfile.objects.exists()


def test_too_many_rows_or_bytes_are_refused(org, monkeypatch):
    organization, owner = org
    rows = "".join(f"w{i},sw\n" for i in range(pool_enrolment.POOL_CSV_MAX_ROWS + 1))
    response = _upload(logged_in(owner), organization, f"username,languages\n{rows}".encode())
    assert response.status_code == 400 and "more than 5,000 rows" in response.content.decode()
    monkeypatch.setattr(pool_enrolment, "POOL_CSV_MAX_BYTES", 100)
    with pytest.raises(PoolCsvUnreadable):
        pool_enroll_csv(organization_id=organization.id, data=b"username,languages\n" + b"a,sw\n" * 30)
    assert not WorkerProfile.objects.exists()


def test_no_file_is_a_400(org):
    organization, owner = org
    response = logged_in(owner).post(f"/manage/organizations/{organization.id}/workers/", {"action": "enroll_csv"})
    assert response.status_code == 400 and "Choose a CSV file" in response.content.decode()


def test_a_row_failing_while_enrolling_rolls_back_the_whole_file(org, monkeypatch):
    """A username taken between the check and the write (another upload at the same moment) rejects the file."""
    organization, _owner = org
    real = pool_enrolment.worker_enroll

    def enroll(**kwargs):
        if kwargs["username"] == "second":
            raise Conflict("The username 'second' is already taken.")
        return real(**kwargs)

    monkeypatch.setattr(pool_enrolment, "worker_enroll", enroll)
    with pytest.raises(PoolCsvRejected) as rejected:
        pool_enroll_csv(organization_id=organization.id, data=b"username,languages\nfirst,sw\nsecond,sw\n")
    assert [p.row for p in rejected.value.problems] == [2]
    assert not WorkerProfile.objects.exists()


def test_viewers_and_other_organizations_cannot_upload_and_the_template_downloads(org):
    organization, _owner = org
    viewer = member(organization, "viewer")
    content = b"username,languages\namina,sw\n"
    assert _upload(logged_in(viewer), organization, content).status_code == 403
    _other, other_owner = organization_ensure(name="Other", owner_email="other@ngo.example")
    assert _upload(logged_in(other_owner), organization, content).status_code == 404
    assert not WorkerProfile.objects.exists()

    template = logged_in(viewer).get(f"/manage/organizations/{organization.id}/workers/?template=csv")
    assert template.status_code == 200 and template["Content-Type"].startswith("text/csv")
    assert template.content.decode().splitlines()[0] == "username,languages,country"
    assert (
        'id="enroll-csv"'
        not in logged_in(viewer).get(f"/manage/organizations/{organization.id}/workers/").content.decode()
    )
