"""The worker profile form: country, up to three languages and two skills, without any JavaScript."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from workers.languages import InvalidLanguage, language_base

LANGUAGE_ROWS = 3
SKILL_ROWS = 2
LEVELS = [("", "—")] + [(str(level), str(level)) for level in range(1, 6)]


class WorkerProfileForm(forms.Form):
    country = LazyTypedChoiceField(choices=[("", "—"), *countries], required=False, label=_("Country"))

    payout_method = forms.ChoiceField(
        choices=[("", "—"), ("mobile_money", _("Mobile money")), ("bank", _("Bank transfer"))],
        required=False,
        label=_("How you want to be paid"),
    )
    payout_account = forms.CharField(
        required=False, max_length=100, label=_("Mobile money number or bank account (IBAN)")
    )
    payout_currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$", required=False, label=_("Currency you want (e.g. KES, USD)")
    )
    sensitive_opt_in = forms.BooleanField(
        required=False,
        label=_("Show me tasks with sensitive content (for example injuries or violence). At most a few a day."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for row in range(1, LANGUAGE_ROWS + 1):
            self.fields[f"language_{row}"] = forms.CharField(
                required=row == 1, max_length=35, label=_("Language %(n)s (e.g. sw, en, luo)") % {"n": row}
            )
            self.fields[f"language_level_{row}"] = forms.TypedChoiceField(
                choices=LEVELS, coerce=int, empty_value=None, required=row == 1, label=_("Level (1-5)")
            )
        for row in range(1, SKILL_ROWS + 1):
            self.fields[f"skill_{row}"] = forms.SlugField(
                required=False, max_length=50, label=_("Skill %(n)s") % {"n": row}
            )
            self.fields[f"skill_level_{row}"] = forms.TypedChoiceField(
                choices=LEVELS, coerce=int, empty_value=None, required=False, label=_("Level (1-5)")
            )

    def rows(self, prefix: str, count: int) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"{prefix}_{row}"], self[f"{prefix}_level_{row}"]) for row in range(1, count + 1)]

    def language_rows(self):
        return self.rows("language", LANGUAGE_ROWS)

    def skill_rows(self):
        return self.rows("skill", SKILL_ROWS)

    def clean(self):
        cleaned = super().clean()
        for prefix, count in (("language", LANGUAGE_ROWS), ("skill", SKILL_ROWS)):
            for row in range(1, count + 1):
                value, level = cleaned.get(f"{prefix}_{row}"), cleaned.get(f"{prefix}_level_{row}")
                if value and not level:
                    self.add_error(f"{prefix}_level_{row}", _("Choose a level."))
                if prefix == "language" and value:
                    try:
                        language_base(value)
                    except InvalidLanguage:
                        self.add_error(f"language_{row}", _("Not a language code we know (try sw, en, fr, luo)."))
        return cleaned

    def languages(self) -> list[tuple[str, int]]:
        return self._pairs("language", LANGUAGE_ROWS)

    def skills(self) -> list[tuple[str, int]]:
        return self._pairs("skill", SKILL_ROWS)

    def _pairs(self, prefix: str, count: int) -> list[tuple[str, int]]:
        pairs = []
        for row in range(1, count + 1):
            value, level = self.cleaned_data.get(f"{prefix}_{row}"), self.cleaned_data.get(f"{prefix}_level_{row}")
            if value and level:
                pairs.append((value, level))
        return pairs
