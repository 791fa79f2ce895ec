from django.db import migrations


def forget_automatic_consent(apps, schema_editor):
    # consent_at used to be filled in when a worker was enrolled, which records no act of the worker. It now
    # records the first acceptance of the terms; workers with none are asked on their next visit to the work pages.
    WorkerProfile = apps.get_model("workers", "WorkerProfile")
    TermsAcceptance = apps.get_model("workers", "TermsAcceptance")
    accepted = TermsAcceptance.objects.values("user_id")
    WorkerProfile.objects.exclude(user_id__in=accepted).update(consent_at=None)


class Migration(migrations.Migration):
    dependencies = [("workers", "0004_signin_grants_terms")]

    operations = [migrations.RunPython(forget_automatic_consent, migrations.RunPython.noop)]
