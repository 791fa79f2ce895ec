"""Serializer fields the API shares."""

import math

from rest_framework import serializers


class FiniteFloatField(serializers.FloatField):
    """A number that is finite. DRF's FloatField reads the strings "nan" and "inf" through float(), and NaN passes
    every min/max bound (it compares false): stored, it breaks every later read (JSON has no NaN) and every rule
    that compares against it."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value
