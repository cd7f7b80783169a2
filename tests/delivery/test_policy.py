"""The delivery policy reads its overrides when it is built, not at import."""

from __future__ import annotations

from datetime import timedelta

from scheduler.delivery.policy import DEFAULT_LEASE, DEFAULT_LOOKAHEAD, DeliveryPolicy


def test_defaults_and_environment_overrides() -> None:
    assert DeliveryPolicy.from_env({}) == DeliveryPolicy()
    assert DeliveryPolicy().lease == DEFAULT_LEASE
    tuned = DeliveryPolicy.from_env(
        {"TMINUS_LEASE_SECONDS": "2.5", "TMINUS_LOOKAHEAD_SECONDS": "0"}
    )
    assert tuned.lease == timedelta(seconds=2.5)
    assert tuned.lookahead == timedelta(0)
    assert DeliveryPolicy.from_env({"TMINUS_LEASE_SECONDS": "5"}).lookahead == DEFAULT_LOOKAHEAD
