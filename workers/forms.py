"""The worker profile form: country, up to three languages and two skills, without any JavaScript."""

from babel import Locale, UnknownLocaleError
from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from workers import demand
from workers.languages import InvalidLanguage, language_from_input, language_label, language_suggestions

LANGUAGE_ROWS = 3
SKILL_ROWS = 2
UNKNOWN_LANGUAGE = _(
    "We do not know the language “%(typed)s”. Type its name (for example Kiswahili) or its code (for example sw)."
)
LEVELS = [("", "—")] + [(str(level), str(level)) for level in range(1, 6)]


class WorkerProfileForm(forms.Form):
    country = forms.ChoiceField(choices=[], required=False, label=_("Country"))

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
        self.interface = get_language() or "en"
        self.fields["country"].choices = [("", "—"), *country_choices(self.interface)]
        for row in range(1, LANGUAGE_ROWS + 1):
            self.fields[f"language_{row}"] = forms.CharField(
                required=row == 1,
                max_length=100,
                label=_("Language %(n)s") % {"n": row},
                help_text=_("Its name or its code, for example Kiswahili or sw"),
                widget=forms.TextInput(attrs={"list": "language-suggestions", "autocomplete": "off"}),
            )
            self.fields[f"language_level_{row}"] = forms.TypedChoiceField(
                choices=LEVELS, coerce=int, empty_value=None, required=row == 1, label=_("Level (1-5)")
            )
        for row in range(1, SKILL_ROWS + 1):
            self.fields[f"skill_{row}"] = forms.SlugField(
                required=False,
                max_length=50,
                label=_("Skill %(n)s") % {"n": row},
                widget=forms.TextInput(attrs={"list": "skill-suggestions", "autocomplete": "off"}),
            )
            self.fields[f"skill_level_{row}"] = forms.TypedChoiceField(
                choices=LEVELS, coerce=int, empty_value=None, required=False, label=_("Level (1-5)")
            )

    def rows(self, prefix: str, count: int) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"{prefix}_{row}"], self[f"{prefix}_level_{row}"]) for row in range(1, count + 1)]

    def language_suggestions(self) -> list[tuple[str, str]]:
        return language_suggestions(self.interface, tuple(demand.wanted("languages")))

    def skill_suggestions(self) -> list[str]:
        return demand.wanted("skills")

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
                        cleaned[f"language_{row}"] = language_from_input(value)
                    except InvalidLanguage:
                        self.add_error(
                            f"language_{row}",
                            UNKNOWN_LANGUAGE % {"typed": value[:100]},
                        )
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


def country_choices(interface: str) -> list[tuple[str, str]]:
    """Every country, named in the reader's language (CLDR through Babel), sorted in that language's order."""
    try:
        names = Locale.parse(interface.replace("-", "_")).territories
    except (UnknownLocaleError, ValueError):
        names = {}
    choices = [(code, names.get(code, str(name))) for code, name in countries]
    return sorted(choices, key=lambda pair: pair[1].casefold())


def language_initial(tag: str, interface: str) -> str:
    return language_label(tag, interface)
