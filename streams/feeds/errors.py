"""Why a live feed stops: one exception hierarchy, each message tells the user what to do."""

from __future__ import annotations

from streams.errors import RotationError


class FeedError(RotationError):
    """A live feed cannot go on. The command line prints the message, no traceback."""


class MissingExtra(FeedError):
    """The provider's optional dependency is not installed."""

    def __init__(self, provider: str, package: str) -> None:
        super().__init__(
            f"the {provider} feed needs the package {package!r}: pip install 'rotation[{provider}]'"
        )
        self.provider = provider
        self.package = package


class AuthenticationFailed(FeedError):
    """The provider refused the credentials (or the plan does not include the feed)."""


class ProviderRejected(FeedError):
    """The provider refused the session for a reason retrying cannot fix."""


class KafkaSendFailed(FeedError):
    """Ticks received from the provider could not be written to Kafka."""
