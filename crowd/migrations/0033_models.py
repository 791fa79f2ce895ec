"""Models as annotators (LabelModel), ML backends per campaign (MLBackend), the built-in baseline (Campaign.baseline,
BaselineRun). Follows the API keys migration."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crowd", "0032_api_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="baseline",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="BaselineRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.PositiveIntegerField()),
                ("trained_on", models.PositiveIntegerField()),
                ("held_out", models.PositiveIntegerField()),
                ("accuracy", models.FloatField(blank=True, null=True)),
                ("items_labelled", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="baseline_runs", to="crowd.campaign"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("campaign", "version"), name="baselinerun_version_unique")
                ],
            },
        ),
        migrations.CreateModel(
            name="LabelModel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("version", models.CharField(blank=True, max_length=100)),
                (
                    "kind",
                    models.CharField(
                        choices=[("imported", "Imported"), ("backend", "Backend"), ("builtin", "Builtin")],
                        max_length=10,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="label_models",
                        to="crowd.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("organization", "name", "version"), name="labelmodel_unique")
                ],
            },
        ),
        migrations.CreateModel(
            name="MLBackend",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("url", models.CharField(max_length=500)),
                ("active", models.BooleanField(default=True)),
                (
                    "batch_size",
                    models.PositiveSmallIntegerField(
                        default=20,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(500),
                        ],
                    ),
                ),
                (
                    "timeout_seconds",
                    models.FloatField(
                        default=10.0,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(60),
                        ],
                    ),
                ),
                ("model_version", models.CharField(blank=True, max_length=100)),
                ("supports_training", models.BooleanField(default=False)),
                (
                    "status",
                    models.CharField(choices=[("ok", "Ok"), ("failing", "Failing")], default="ok", max_length=10),
                ),
                ("last_error", models.CharField(blank=True, max_length=500)),
                ("last_error_at", models.DateTimeField(blank=True, null=True)),
                ("last_success_at", models.DateTimeField(blank=True, null=True)),
                ("items_predicted", models.PositiveIntegerField(default=0)),
                ("items_rejected", models.PositiveIntegerField(default=0)),
                ("scanned_through_id", models.BigIntegerField(default=0)),
                ("scanned_version", models.CharField(blank=True, max_length=100)),
                ("trained_labels", models.PositiveIntegerField(default=0)),
                ("last_trained_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="ml_backends", to="crowd.campaign"
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("campaign", "name"), name="mlbackend_name_unique")],
            },
        ),
    ]
