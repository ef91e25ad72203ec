"""Signed completion webhooks: endpoints a tenant registers, and the deliveries to them.

A tenant registers endpoints (:mod:`.endpoints`, ``/v1/webhooks``); when one of its
workflows finishes, a trigger on ``api.workflows`` stores one delivery per endpoint and
one outbox message per delivery in the same transaction (migration 0007); the relay
publishes ``webhook.deliver`` and the intake worker sends it (:mod:`.task`): the final
document, signed the Standard Webhooks way (:mod:`.sending`), to a checked address
(:mod:`.addresses`), retried on a schedule (:mod:`.schedule`), every attempt recorded
(:mod:`.deliveries`).
"""
