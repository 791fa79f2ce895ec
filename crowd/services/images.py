"""Phone-friendly copies of item images: read the original (this site's storage or an http(s) URL), shrink it to
IMAGE_WIDTH pixels wide, strip its metadata and store it as JPEG with its byte size, width and height.

The original stays in the item's data for exports. Whatever goes wrong (unreachable, not an image, too large, a
decompression bomb) is recorded on the ItemImage as a failure and the task page keeps showing the original.
"""

import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from PIL import Image, UnidentifiedImageError

from config.outbound import OutboundFailed, OutboundRefused, outbound_request
from crowd.image_urls import IMAGE_KEYS, image_url_safe
from crowd.models import Item, ItemImage

IMAGE_WIDTH = 640
JPEG_QUALITY = 75
SOURCE_MAX_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 10
# Pillow refuses images of more pixels than twice this (DecompressionBombError) and warns above it: a 20 MB file
# can still claim gigapixels. 40 megapixels is well past any phone photo.
Image.MAX_IMAGE_PIXELS = 40_000_000


class ImageTransient(Exception):
    """The source could not be reached this time: the job retries."""


class ImageRejected(Exception):
    """The source is not an image we can use: recorded, never retried."""


def item_image_source(item: Item) -> str | None:
    for key in IMAGE_KEYS:
        value = item.data.get(key) if isinstance(item.data, dict) else None
        if value and image_url_safe(value):
            return value
    return None


def items_images_queue(*, items: list[Item]) -> int:
    """Record a pending copy for each of these saved items that has an image and queue its resize job once the
    caller's transaction commits; returns how many."""
    from crowd.tasks import item_image_resize

    pending = [ItemImage(item=item, source=source) for item in items if (source := item_image_source(item))]
    ItemImage.objects.bulk_create(pending, ignore_conflicts=True)
    for image in pending:
        item_image_resize.delay_on_commit(image.item_id)
    return len(pending)


def items_images_backfill(*, campaign_id: int | None = None, retry_failed: bool = False, batch: int = 1000) -> int:
    """Queue phone-friendly copies for items imported before copies existed (and, when asked, retry failed ones);
    returns how many were queued. Safe to run again: items that have a copy or a pending one are left alone."""
    from crowd.tasks import item_image_resize

    queued = 0
    if retry_failed:
        failed = ItemImage.objects.filter(status=ItemImage.Status.FAILED)
        if campaign_id is not None:
            failed = failed.filter(item__campaign_id=campaign_id)
        with transaction.atomic():
            ids = list(failed.values_list("item_id", flat=True))
            ItemImage.objects.filter(item_id__in=ids).update(status=ItemImage.Status.PENDING, error="")
            for item_id in ids:
                item_image_resize.delay_on_commit(item_id)
        queued += len(ids)
    with_image = Q(data__has_key=IMAGE_KEYS[0])
    for key in IMAGE_KEYS[1:]:
        with_image |= Q(data__has_key=key)
    missing = Item.objects.filter(with_image, image__isnull=True)
    if campaign_id is not None:
        missing = missing.filter(campaign_id=campaign_id)
    last_id = 0
    while True:
        chunk = list(missing.filter(id__gt=last_id).order_by("id").only("id", "data")[:batch])
        if not chunk:
            return queued
        with transaction.atomic():
            queued += items_images_queue(items=chunk)
        last_id = chunk[-1].id


def image_fetch(url: str) -> bytes:
    """The original's bytes, at most SOURCE_MAX_BYTES (the outside world: tests replace this). Through the one
    outbound door (config/outbound.py): no private address, no redirect followed."""
    try:
        response = outbound_request(
            "GET",
            url,
            headers={"User-Agent": "Crowdloop image resizer"},
            timeout=FETCH_TIMEOUT_SECONDS,
            max_bytes=SOURCE_MAX_BYTES,
        )
    except OutboundRefused as exc:
        raise ImageRejected(str(exc)) from exc
    except OutboundFailed as exc:
        raise ImageTransient(str(exc)) from exc
    if response.status >= 500 or response.status == 429:
        raise ImageTransient(f"The image server answered {response.status}.")
    if response.status != 200:
        # 3xx too: a redirect is not followed, since it could point anywhere, the private network included.
        raise ImageRejected(f"The image server answered {response.status}.")
    return response.body


def _read_source(source: str) -> bytes:
    media = "/" + settings.MEDIA_URL.lstrip("/")
    if source.startswith(media):
        name = source[len(media) :]
        if not default_storage.exists(name):
            raise ImageRejected("The stored file does not exist.")
        if default_storage.size(name) > SOURCE_MAX_BYTES:
            raise ImageRejected("The image is larger than 20 MB.")
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    return image_fetch(source)


def image_shrink(original: bytes) -> tuple[bytes, int, int]:
    """JPEG bytes at most IMAGE_WIDTH wide, without metadata, with (width, height); ImageRejected if unusable."""
    try:
        with Image.open(io.BytesIO(original)) as image:
            image.draft("RGB", (IMAGE_WIDTH, IMAGE_WIDTH * 4))  # JPEG decodes at a smaller scale: less memory
            image.load()
            picture = image.convert("RGB")  # drops EXIF and other metadata, and any alpha channel
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError) as exc:
        raise ImageRejected(f"Not an image that can be read ({type(exc).__name__}).") from exc
    if picture.width > IMAGE_WIDTH:
        height = max(1, round(picture.height * IMAGE_WIDTH / picture.width))
        picture = picture.resize((IMAGE_WIDTH, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue(), picture.width, picture.height


def item_image_resize(*, item_id: int) -> str:
    """Make (or remake) the item's phone-friendly copy; returns the status. Idempotent: a ready copy is kept.

    Raises ImageTransient for the job to retry; a permanent problem is recorded as `failed`. Locks the ItemImage
    row only to write the outcome, so the slow fetch holds no lock."""
    image = ItemImage.objects.filter(item_id=item_id).first()
    if image is None or image.status == ItemImage.Status.READY:
        return image.status if image else "none"
    try:
        small, width, height = image_shrink(_read_source(image.source))
    except ImageRejected as exc:
        ItemImage.objects.filter(pk=image.pk).update(status=ItemImage.Status.FAILED, error=str(exc)[:300])
        return ItemImage.Status.FAILED
    name = default_storage.save(f"items/small/{item_id}.jpg", ContentFile(small))
    with transaction.atomic():
        ItemImage.objects.filter(pk=image.pk).update(
            status=ItemImage.Status.READY, path=name, byte_size=len(small), width=width, height=height, error=""
        )
    return ItemImage.Status.READY


def item_image_fail(*, item_id: int, error: str) -> None:
    """The job gave up retrying: the copy is recorded as failed (the original is still shown)."""
    ItemImage.objects.filter(item_id=item_id).exclude(status=ItemImage.Status.READY).update(
        status=ItemImage.Status.FAILED, error=error[:300]
    )
