from django.test import override_settings

from workers.pseudonyms import pseudonym, pseudonyms


def test_pseudonym_is_stable_per_organization_and_differs_across_organizations():
    assert pseudonym(1, 7) == pseudonym(1, 7)
    assert pseudonym(1, 7) != pseudonym(2, 7)
    assert pseudonym(1, 7) != pseudonym(1, 8)
    assert pseudonym(1, 7).startswith("w_") and len(pseudonym(1, 7)) == 28


def test_pseudonym_depends_on_the_key():
    before = pseudonym(1, 7)
    with override_settings(CROWDLOOP_PSEUDONYM_KEY="another key"):
        assert pseudonym(1, 7) != before
    assert pseudonym(1, 7) == before


def test_pseudonyms_maps_distinct_ids():
    assert pseudonyms(3, [5, 5, 6]) == {5: pseudonym(3, 5), 6: pseudonym(3, 6)}
