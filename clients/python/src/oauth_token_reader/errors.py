"""The errors a reader raises, one class per outcome of docs/token-store.md ("Reading").

Every error has a stable ``code`` (the same names the Rust and TypeScript readers use), so an app
can branch on ``err.code`` or on the class. Messages say what to do next and name attributes,
never values: an error message ends up in logs, and a token value must never.
"""

from __future__ import annotations

from typing import ClassVar, Optional

__all__ = [
    "ConfigurationError",
    "DecryptionError",
    "MalformedItemError",
    "NeedsReauthError",
    "RefreshFailedError",
    "TokenExpiredError",
    "TokenInactiveError",
    "TokenNotFoundError",
    "TokenReaderError",
    "UnsupportedEnvelopeVersionError",
]


class TokenReaderError(Exception):
    """Base class of every error this library raises on purpose."""

    code: ClassVar[str] = "ERROR"


class ConfigurationError(TokenReaderError):
    """The reader is not configured to reach the stage's table and key (env, IAM, region)."""

    code: ClassVar[str] = "CONFIGURATION"


class _ItemError(TokenReaderError):
    """An error about one item: carries the key, which is never secret."""

    def __init__(self, message: str, *, user_id: str, platform: str) -> None:
        super().__init__(message)
        self.user_id = user_id
        self.platform = platform


class TokenNotFoundError(_ItemError):
    """No token for this user and platform: the user has not connected the account."""

    code: ClassVar[str] = "NOT_FOUND"


class NeedsReauthError(_ItemError):
    """The grant is dead; only a new consent by the user brings the token back."""

    code: ClassVar[str] = "NEEDS_REAUTH"


class TokenInactiveError(_ItemError):
    """The account was disconnected (or carries a status this reader does not know)."""

    code: ClassVar[str] = "INACTIVE"

    def __init__(self, message: str, *, user_id: str, platform: str, status: str) -> None:
        super().__init__(message, user_id=user_id, platform=platform)
        self.status = status


class TokenExpiredError(_ItemError):
    """The token expires sooner than the caller asked for (``min_validity_seconds``)."""

    code: ClassVar[str] = "EXPIRED"

    def __init__(
        self,
        message: str,
        *,
        user_id: str,
        platform: str,
        expires_at: int,
        min_validity_seconds: float,
    ) -> None:
        super().__init__(message, user_id=user_id, platform=platform)
        self.expires_at = expires_at
        self.min_validity_seconds = min_validity_seconds


class MalformedItemError(_ItemError):
    """An attribute does not have the shape the contract gives it; ``attribute`` names it."""

    code: ClassVar[str] = "MALFORMED"

    def __init__(self, message: str, *, user_id: str, platform: str, attribute: str) -> None:
        super().__init__(message, user_id=user_id, platform=platform)
        self.attribute = attribute


class UnsupportedEnvelopeVersionError(MalformedItemError):
    """The envelope's ``version`` is not one this reader knows: an error, never a guess.

    A subclass of :class:`MalformedItemError` with the same code, so code that handles
    "malformed" keeps working; ``envelope_version`` says which version was found.
    """

    def __init__(
        self, message: str, *, user_id: str, platform: str, attribute: str, envelope_version: int
    ) -> None:
        super().__init__(message, user_id=user_id, platform=platform, attribute=attribute)
        self.envelope_version = envelope_version


class DecryptionError(_ItemError):
    """KMS refused the data key, or the envelope does not authenticate.

    ``kms_error_code`` is KMS's error code when KMS refused (``AccessDeniedException``,
    ``IncorrectKeyException``...), ``None`` when AES-GCM did (moved, tampered, wrong key).
    """

    code: ClassVar[str] = "DECRYPTION"

    def __init__(
        self,
        message: str,
        *,
        user_id: str,
        platform: str,
        kms_error_code: Optional[str] = None,
    ) -> None:
        super().__init__(message, user_id=user_id, platform=platform)
        self.kms_error_code = kms_error_code


class RefreshFailedError(_ItemError):
    """The token API did not refresh the token (docs/token-api.md); the stored one is unchanged.

    ``failure`` is the token API's code (``BUSY``, ``REFRESH_FAILED``, ``UNAVAILABLE``), or
    ``THROTTLED`` when every instance of the function stayed busy through botocore's retries.
    ``reason`` is the token API's reason (``transient``, ``rate_limited``, ``rejected``...);
    ``retryable`` says whether asking again later can succeed.
    """

    code: ClassVar[str] = "REFRESH_FAILED"

    def __init__(
        self,
        message: str,
        *,
        user_id: str,
        platform: str,
        failure: str,
        reason: Optional[str],
        retryable: bool,
    ) -> None:
        super().__init__(message, user_id=user_id, platform=platform)
        self.failure = failure
        self.reason = reason
        self.retryable = retryable
