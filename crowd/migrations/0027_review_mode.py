"""Campaign.mode replaces show_prelabels (show_prelabels=True becomes review mode); blind items are recorded."""

import django.core.validators
from django.db import migrations, models


def prelabels_to_mode(apps, schema_editor):
    Campaign = apps.get_model("crowd", "Campaign")
    Campaign.objects.filter(show_prelabels=True).update(mode="review")


def mode_to_prelabels(apps, schema_editor):
    Campaign = apps.get_model("crowd", "Campaign")
    Campaign.objects.filter(mode="review").update(show_prelabels=True)


class Migration(migrations.Migration):
    dependencies = [("crowd", "0026_archive")]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="mode",
            field=models.CharField(choices=[("label", "Label"), ("review", "Review")], default="label", max_length=8),
        ),
        migrations.AddField(
            model_name="campaign",
            name="blind_share",
            field=models.FloatField(
                default=0.1,
                validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(1)],
            ),
        ),
        migrations.RunPython(prelabels_to_mode, mode_to_prelabels),
        migrations.RemoveField(model_name="campaign", name="show_prelabels"),
        migrations.AddField(
            model_name="assignmentitem",
            name="blind",
            field=models.BooleanField(blank=True, null=True),
        ),
    ]
