"""Signed webhooks with an outbox: events written in the transaction of the change that caused them, delivered by a
Celery job with retries (docs/webhooks.md)."""
