"""Aliases for the job paths that earlier releases left in Redis (a deadline job waits for weeks there): they run
the jobs of workflows.outbound.jobs. New jobs are enqueued under their own paths."""

from __future__ import annotations

from workflows.outbound.jobs import close_round_if_due, deliver_mail, deliver_webhooks, tick

__all__ = ["close_round_if_due", "deliver", "deliver_webhook", "tick"]


def deliver(outbox_ids: list[int]) -> dict:
    return deliver_mail(outbox_ids)


def deliver_webhook(delivery_id: int) -> dict:
    # A webhook delivery of an earlier release moved into the outbox under a new id; the sweep delivers it. An id
    # that is now a mail's is not this job's to send.
    return deliver_webhooks([])
