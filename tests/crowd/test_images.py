"""Item images: a phone-friendly copy made by a job at import; broken input recorded, the item still usable."""

import io
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from crowd.models import Item, ItemImage
from crowd.services import images
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    picture = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Secret camera maker"
    picture.save(out, "PNG", exif=exif)
    return out.getvalue()


def _import(campaign, rows, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        items_import(campaign_id=campaign.id, rows=rows)


def test_item_image_resize_shrinks_a_fetched_image_and_keeps_the_original(django_capture_on_commit_callbacks):
    campaign = factories.campaign()
    original = _png(2000, 1000)
    with mock.patch.object(images, "image_fetch", return_value=original) as fetch:
        _import(
            campaign,
            [{"external_id": "a", "data": {"image": "https://images.example.org/a.png"}}],
            django_capture_on_commit_callbacks,
        )
    fetch.assert_called_once_with("https://images.example.org/a.png")
    item = Item.objects.get(campaign=campaign)
    assert item.data == {"image": "https://images.example.org/a.png"}  # exports keep the original
    copy = ItemImage.objects.get(item=item)
    assert (copy.status, copy.width, copy.height) == ("ready", 640, 320)
    stored = default_storage.open(copy.path).read()
    assert copy.byte_size == len(stored) < len(original)
    with Image.open(io.BytesIO(stored)) as small:
        assert small.format == "JPEG" and small.size == (640, 320)
        assert not small.getexif()  # metadata stripped


def test_item_image_resize_reads_uploaded_media_and_keeps_small_images_small(django_capture_on_commit_callbacks):
    campaign = factories.campaign()
    default_storage.save("uploads/b.png", ContentFile(_png(300, 200)))
    _import(
        campaign,
        [{"external_id": "b", "data": {"image_url": "/media/uploads/b.png"}}],
        django_capture_on_commit_callbacks,
    )
    copy = ItemImage.objects.get(item__campaign=campaign)
    assert (copy.status, copy.width, copy.height) == ("ready", 300, 200)


@pytest.mark.parametrize(
    "body",
    [b"not an image at all", _png(10, 10)[:40]],
    ids=["text", "truncated"],
)
def test_item_image_resize_records_a_broken_image_and_the_item_stays_usable(body, django_capture_on_commit_callbacks):
    campaign = factories.campaign(languages=["en"])
    with mock.patch.object(images, "image_fetch", return_value=body):
        _import(
            campaign,
            [{"external_id": "c", "data": {"image": "https://images.example.org/c.png"}, "language": "en"}],
            django_capture_on_commit_callbacks,
        )
    copy = ItemImage.objects.get(item__campaign=campaign)
    assert copy.status == "failed" and copy.error and not copy.path
    assert Item.objects.filter(campaign=campaign).count() == 1


def test_item_image_resize_refuses_a_decompression_bomb(django_capture_on_commit_callbacks):
    campaign = factories.campaign()
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")  # 144 megapixels in a few kilobytes
    with mock.patch.object(images, "image_fetch", return_value=out.getvalue()):
        _import(
            campaign,
            [{"external_id": "d", "data": {"image": "https://x.example.org/d.png"}}],
            django_capture_on_commit_callbacks,
        )
    copy = ItemImage.objects.get(item__campaign=campaign)
    assert copy.status == "failed" and "Decompression" in copy.error


def test_item_image_resize_records_an_unreachable_source_as_failed(django_capture_on_commit_callbacks):
    campaign = factories.campaign()
    with mock.patch.object(images, "image_fetch", side_effect=images.ImageTransient("timed out")) as fetch:
        _import(
            campaign,
            [{"external_id": "e", "data": {"image": "https://x.example.org/e.png"}}],
            django_capture_on_commit_callbacks,
        )
    copy = ItemImage.objects.get(item__campaign=campaign)
    assert copy.status == "failed" and copy.error == "timed out"
    assert fetch.call_count == 1  # in process (tests, `make run`) a job cannot wait to retry


def test_image_fetch_refuses_private_addresses():
    with pytest.raises(images.ImageRejected):
        images.image_fetch("http://127.0.0.1/secret.png")


def test_item_image_resize_is_idempotent(django_capture_on_commit_callbacks):
    campaign = factories.campaign()
    with mock.patch.object(images, "image_fetch", return_value=_png(800, 800)) as fetch:
        _import(
            campaign,
            [{"external_id": "f", "data": {"image": "https://x.example.org/f.png"}}],
            django_capture_on_commit_callbacks,
        )
        item = Item.objects.get(campaign=campaign)
        assert images.item_image_resize(item_id=item.id) == "ready"
    assert fetch.call_count == 1


def test_task_page_and_api_serve_the_small_copy_with_its_size(client, django_capture_on_commit_callbacks):
    campaign = factories.campaign(languages=["en"])
    with mock.patch.object(images, "image_fetch", return_value=_png(1280, 960)):
        _import(
            campaign,
            [{"external_id": "g", "data": {"image": "https://x.example.org/g.png"}, "language": "en"}],
            django_capture_on_commit_callbacks,
        )
    from crowd.services.campaigns import campaign_launch

    campaign_launch(campaign_id=campaign.id)
    user, key = factories.worker()
    fresh = client.post(
        "/api/v1/assignments/next/",
        {"campaign": campaign.id},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    ).json()  # the claim's own payload
    assignment = assignment_claim_next(worker=user, campaign_id=campaign.id).assignment
    assert fresh["id"] == assignment.id
    copy = ItemImage.objects.get(item__campaign=campaign)
    client.force_login(user)
    html = client.get(f"/work/assignments/{assignment.id}/").content.decode()
    assert (
        f'src="/media/{copy.path}" width="640" height="480" alt="" loading="lazy" data-bytes="{copy.byte_size}"' in html
    )
    body = client.post(
        "/api/v1/assignments/next/",
        {"campaign": campaign.id},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    ).json()  # the lease held already
    assert body["items"][0]["image"] == {
        "url": f"/media/{copy.path}",
        "width": 640,
        "height": 480,
        "bytes": copy.byte_size,
    }
    assert body["items"][0]["data"] == {"image": "https://x.example.org/g.png"}
    assert fresh["items"] == body["items"]


def test_item_image_resize_refuses_a_file_over_the_size_limit(django_capture_on_commit_callbacks, monkeypatch):
    campaign = factories.campaign()
    default_storage.save("uploads/big.png", ContentFile(_png(400, 400)))
    monkeypatch.setattr(images, "SOURCE_MAX_BYTES", 100)
    _import(
        campaign,
        [{"external_id": "h", "data": {"image": "/media/uploads/big.png"}}],
        django_capture_on_commit_callbacks,
    )
    copy = ItemImage.objects.get(item__campaign=campaign)
    assert copy.status == "failed" and "larger" in copy.error


def test_item_image_resize_records_a_missing_stored_file(django_capture_on_commit_callbacks):
    campaign = factories.campaign()
    _import(
        campaign,
        [{"external_id": "i", "data": {"image": "/media/uploads/none.png"}}],
        django_capture_on_commit_callbacks,
    )
    assert ItemImage.objects.get(item__campaign=campaign).status == "failed"


def test_items_without_images_get_no_copy(django_capture_on_commit_callbacks):
    campaign = factories.campaign()
    _import(campaign, [{"external_id": "j", "data": {"text": "no picture"}}], django_capture_on_commit_callbacks)
    assert not ItemImage.objects.filter(item__campaign=campaign).exists()


def test_item_image_resize_job_retries_a_transient_failure_on_a_worker():
    """On a real worker the job asks Celery to run it again later (with backoff) instead of giving up."""
    from celery.exceptions import Retry

    from crowd.tasks import item_image_resize as job

    campaign = factories.campaign()
    items_import(campaign_id=campaign.id, rows=[{"external_id": "r", "data": {"image": "https://x.example.org/r.png"}}])
    item = Item.objects.get(campaign=campaign)
    with (
        mock.patch.object(images, "image_fetch", side_effect=images.ImageTransient("connection reset")),
        mock.patch.object(job, "retry", side_effect=Retry("later")) as retry,
        pytest.raises(Retry),
    ):
        job.run(item.id)
    assert retry.call_args.kwargs["countdown"] == 30
    assert ItemImage.objects.get(item=item).status == "pending"


def test_backfill_makes_copies_for_items_imported_before_copies_existed(django_capture_on_commit_callbacks):
    campaign = factories.campaign()
    other = factories.campaign()
    with mock.patch.object(images, "image_fetch", return_value=_png(1280, 960)):
        _import(
            campaign,
            [{"external_id": "new", "data": {"image": "https://img.example.org/new.png"}}],
            django_capture_on_commit_callbacks,
        )
    # Older rows: saved straight to the table, as imports did before copies were made.
    old = [
        Item.objects.create(
            campaign=campaign, external_id=f"old{n}", data={"image_url": f"https://img.example.org/{n}.png"}
        )
        for n in range(3)
    ]
    Item.objects.create(campaign=campaign, external_id="text", data={"text": "no image here"})
    Item.objects.create(campaign=other, external_id="elsewhere", data={"image": "https://img.example.org/x.png"})
    out = io.StringIO()
    with (
        mock.patch.object(images, "image_fetch", return_value=_png(1280, 960)) as fetch,
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("images_backfill", "--campaign", str(campaign.id), stdout=out)
    assert "3 image copies queued." in out.getvalue()
    assert fetch.call_count == 3  # the item that had a copy is left alone, the other campaign too
    assert set(ItemImage.objects.filter(item__in=old).values_list("status", flat=True)) == {"ready"}
    assert not ItemImage.objects.filter(item__campaign=other).exists()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("images_backfill", "--campaign", str(campaign.id), stdout=out)
    assert out.getvalue().endswith("0 image copies queued.\n")  # a second run finds nothing to do


def test_backfill_can_retry_failed_copies(django_capture_on_commit_callbacks):
    campaign = factories.campaign()
    with mock.patch.object(images, "image_fetch", side_effect=images.ImageRejected("The image server answered 404.")):
        _import(
            campaign,
            [{"external_id": "a", "data": {"image": "https://img.example.org/a.png"}}],
            django_capture_on_commit_callbacks,
        )
    assert ItemImage.objects.get().status == "failed"
    with (
        mock.patch.object(images, "image_fetch", return_value=_png(800, 600)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("images_backfill", "--retry-failed", stdout=io.StringIO())
    copy = ItemImage.objects.get()
    assert (copy.status, copy.error, copy.width) == ("ready", "", 640)


def test_backfill_for_an_unknown_campaign_is_a_clear_error():
    with pytest.raises(CommandError, match="No campaign 999999"):
        call_command("images_backfill", "--campaign", "999999")
