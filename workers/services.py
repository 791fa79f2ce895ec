"""Writes for workers: enrollment, profiles, tokens."""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import Conflict, NotFound, ValidationFailed
from workers.languages import InvalidLanguage, language_base
from workers.models import User, WorkerLanguage, WorkerProfile, WorkerSkill, WorkerToken
from workers.tokens import token_digest, token_new


@dataclass(frozen=True)
class LanguageLevel:
    code: str
    level: int


@dataclass(frozen=True)
class SkillLevel:
    slug: str
    level: int


def _normalized_languages(languages: list[LanguageLevel]) -> dict[str, int]:
    result: dict[str, int] = {}
    errors: dict[str, str] = {}
    for index, entry in enumerate(languages):
        try:
            code = language_base(entry.code)
        except InvalidLanguage as exc:
            errors[str(index)] = str(exc)
            continue
        # Two tags of one base language ("sw", "sw-KE") keep the higher level.
        result[code] = max(result.get(code, 0), entry.level)
    if errors:
        raise ValidationFailed(_("Invalid language tag."), fields={"languages": errors})
    return result


def _write_qualifications(profile: WorkerProfile, codes: dict[str, int], skills: list[SkillLevel]) -> None:
    WorkerLanguage.objects.bulk_create(
        WorkerLanguage(profile=profile, code=code, level=level) for code, level in codes.items()
    )
    # A skill named twice keeps the higher level (as languages do), instead of tripping the unique constraint.
    levels: dict[str, int] = {}
    for skill in skills:
        levels[skill.slug] = max(levels.get(skill.slug, 0), skill.level)
    WorkerSkill.objects.bulk_create(
        WorkerSkill(profile=profile, slug=slug, level=level) for slug, level in levels.items()
    )


def worker_profile_set_qualifications(
    *,
    profile: WorkerProfile,
    languages: list[LanguageLevel],
    skills: list[SkillLevel],
    country: str | None = None,
    sensitive_opt_in: bool | None = None,
) -> None:
    """Replace a worker's languages and skills (country and sensitive opt-in when given). Locks the profile."""
    codes = _normalized_languages(languages)
    if not codes:
        raise ValidationFailed(_("Name at least one language."), fields={"languages": _("At least one language.")})
    with transaction.atomic():
        WorkerProfile.objects.select_for_update(no_key=True).get(pk=profile.pk)
        changes = {
            name: value
            for name, value in (("country", country), ("sensitive_opt_in", sensitive_opt_in))
            if value is not None
        }
        if changes:
            WorkerProfile.objects.filter(pk=profile.pk).update(**changes)
        WorkerLanguage.objects.filter(profile=profile).delete()
        WorkerSkill.objects.filter(profile=profile).delete()
        _write_qualifications(profile, codes, skills)


def worker_profile_ensure(*, user: User) -> WorkerProfile:
    """The user's worker profile, created empty on first use (self sign-up)."""
    profile, _created = WorkerProfile.objects.get_or_create(user=user)
    return profile


def user_email_verify(*, user: User) -> None:
    """Record the user's email address as verified and primary: for accounts an operator vouches for (made from
    the command line or the demo), which never receive a confirmation mail. Raises Conflict when another
    account has already verified that address."""
    email = user.email.strip().lower()
    if not email:
        raise ValidationFailed(_("The account has no email address to verify."), fields={"email": _("Required.")})
    try:
        with transaction.atomic():
            EmailAddress.objects.filter(user=user, primary=True).exclude(email=email).update(primary=False)
            EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    except IntegrityError as exc:  # allauth keeps a verified address unique across accounts
        raise Conflict(
            _("Another account has already verified %(email)s.") % {"email": email},
            fields={"email": _("Already verified by another account.")},
        ) from exc


def worker_token_create(*, user: User) -> str:
    """Issue a new API token for a worker; the plain key is returned once and never stored."""
    key = token_new("clw")
    WorkerToken.objects.create(user=user, digest=token_digest(key))
    return key


def worker_enroll(
    *,
    organization_id: int,
    username: str,
    email: str = "",
    country: str = "",
    languages: list[LanguageLevel],
    skills: list[SkillLevel],
) -> tuple[WorkerProfile, str]:
    """Create a worker enrolled by an organization, with a token. Raises Conflict if the username is taken."""
    codes = _normalized_languages(languages)  # validate before writing anything
    username, email = username.strip(), User.objects.normalize_email(email.strip())
    if email and (
        User.objects.filter(email__iexact=email).exists() or EmailAddress.objects.filter(email__iexact=email).exists()
    ):
        # An address belongs to one person: a second account with it would receive the first one's resets.
        raise Conflict(
            _("The email address '%(email)s' is already used by another account.") % {"email": email},
            fields={"email": _("Already used.")},
            code="duplicate",
        )
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email)
            user.set_unusable_password()
            user.save(update_fields=["password"])
            # No consent yet: the worker gives it by accepting the terms (workers/terms.py), not by being enrolled.
            profile = WorkerProfile.objects.create(user=user, country=country, enrolled_by_id=organization_id)
            _write_qualifications(profile, codes, skills)
            key = worker_token_create(user=user)
    except IntegrityError as exc:
        raise Conflict(
            _("The username '%(username)s' is already taken.") % {"username": username},
            fields={"username": _("Already taken.")},
            code="duplicate",
        ) from exc
    return profile, key


def worker_payout_set(*, profile: WorkerProfile, method: str, account: str, currency: str) -> None:
    """Where and in which currency the worker wants to be paid (shown in the organization's payout CSV)."""
    if method and method not in WorkerProfile.PayoutMethod.values:
        raise ValidationFailed(_("Unknown payout method."), fields={"payout_method": "mobile_money or bank."})
    WorkerProfile.objects.filter(pk=profile.pk).update(
        payout_method=method,
        payout_details={"account": account.strip()} if account.strip() else {},
        payout_currency=currency.strip().upper(),
    )


def user_set_interface_language(*, user: User, code: str) -> str:
    """Save the interface language the user picked, so it follows them to other devices. Returns the code stored
    (a supported interface language); raises ValidationFailed for anything else. Writes one column of one row."""
    from workers.locale import supported_language

    language = supported_language(code)
    if language is None:
        raise ValidationFailed(_("Not an interface language."), fields={"language": _("Not an interface language.")})
    User.objects.filter(pk=user.pk).update(preferred_language=language)
    user.preferred_language = language
    return language


def worker_token_rotate(*, organization_id: int, worker_id: int) -> str:
    """Revoke every token of a worker the organization enrolled and issue one new one (returned once). The old
    tokens stop working at once: authentication reads `revoked_at` on every request. Locks the worker's profile
    row so two rotations cannot both leave a live token. Raises NotFound for anyone outside the pool."""
    with transaction.atomic():
        profile = (
            WorkerProfile.objects.select_for_update()
            .filter(user_id=worker_id, enrolled_by_id=organization_id, user__is_active=True)
            .first()
        )
        if profile is None:
            raise NotFound(_("No worker with this id in your organization's pool."))
        WorkerToken.objects.filter(user_id=worker_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
        return worker_token_create(user=profile.user)
