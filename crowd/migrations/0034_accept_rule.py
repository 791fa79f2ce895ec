"""Campaign.accept_rule: how sure auto-acceptance's evidence must be. Existing campaigns keep the lower bound they
were accepting on."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crowd", "0033_models"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="accept_rule",
            field=models.CharField(
                choices=[("lower_bound", "Lower Bound"), ("estimate", "Estimate")], default="lower_bound", max_length=11
            ),
        ),
    ]
