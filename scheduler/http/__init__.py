"""The HTTP surface of ``tminus run``: health, readiness, metrics, JSON API,
calendar feed and status page (SPEC "HTTP surface")."""

from scheduler.http.app import create_app
from scheduler.http.server import UvicornHandle, serve
from scheduler.http.state import AppState, ChannelStateRecord, DeliveryRecord, StoreView

__all__ = [
    "AppState",
    "ChannelStateRecord",
    "DeliveryRecord",
    "StoreView",
    "UvicornHandle",
    "create_app",
    "serve",
]
