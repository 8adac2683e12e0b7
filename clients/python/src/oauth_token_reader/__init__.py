"""Reads OAuth access tokens from the oauth-refresher's token store.

    from oauth_token_reader import TokenReader

    reader = TokenReader.from_env()
    token = reader.get_token(user_id, "schwab", min_validity_seconds=60)
    # After the provider answered 401 to it (needs the stage's token API, TokenApiFnArn):
    token = reader.get_token(user_id, "schwab", force_refresh=True)

The contract this implements is docs/token-store.md in the refresher's repository.
"""

from __future__ import annotations

from .envelope import Envelope, open_envelope, parse_envelope
from .errors import (
    ConfigurationError,
    DecryptionError,
    MalformedItemError,
    NeedsReauthError,
    RefreshFailedError,
    TokenExpiredError,
    TokenInactiveError,
    TokenNotFoundError,
    TokenReaderError,
    UnsupportedEnvelopeVersionError,
)
from .item import Token
from .reader import ReaderStats, TokenReader
from .refresh import EventsClient, InvokeClient
from .token_api import RefreshAnswer

__all__ = [
    "ConfigurationError",
    "DecryptionError",
    "Envelope",
    "EventsClient",
    "InvokeClient",
    "MalformedItemError",
    "NeedsReauthError",
    "ReaderStats",
    "RefreshAnswer",
    "RefreshFailedError",
    "Token",
    "TokenExpiredError",
    "TokenInactiveError",
    "TokenNotFoundError",
    "TokenReader",
    "TokenReaderError",
    "UnsupportedEnvelopeVersionError",
    "open_envelope",
    "parse_envelope",
]

__version__ = "0.1.0"
