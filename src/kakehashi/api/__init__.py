"""The HTTP layer: TAXII 2.1 routes, media types, authentication, error resources."""

from kakehashi.api.app import create_app

__all__ = ["create_app"]
