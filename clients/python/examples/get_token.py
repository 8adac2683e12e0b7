"""Calls a provider's API with a user's current access token: the README's example.

    TokensTableName=... AWS_REGION=... python examples/get_token.py USER_ID https://api.example/v1/me

The core is three lines (``from_env``, ``get_token``, the ``Authorization`` header); the rest
shows what an app does with each error. The HTTP call is a parameter so that a test can check
the header it would send without any network.
"""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Callable, Optional

from oauth_token_reader import (
    NeedsReauthError,
    RefreshFailedError,
    TokenExpiredError,
    TokenNotFoundError,
    TokenReader,
    TokenReaderError,
)

PLATFORM = "schwab"

# Sends a prepared request, returns the HTTP status.
Send = Callable[[urllib.request.Request], int]


def send_with_urllib(request: urllib.request.Request) -> int:
    """The real HTTP call (HTTPS only: a bearer token never goes over plain HTTP)."""
    if not request.full_url.startswith("https://"):
        raise ValueError("refusing to send a bearer token over anything but https")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (https checked)
        return int(response.status)


def call_provider(reader: TokenReader, user_id: str, url: str, send: Send) -> int:
    """Reads the token right before the call, as the contract asks; never keeps it longer.

    After a 401 (the provider refused a token that looked valid), the token is refreshed now
    through the stage's token API and the call retried once; a second 401 is returned as it is.
    """
    status = send(_request(reader, user_id, url, force=False))
    if status != 401:
        return status
    return send(_request(reader, user_id, url, force=True))


def _request(reader: TokenReader, user_id: str, url: str, *, force: bool) -> urllib.request.Request:
    token = reader.get_token(user_id, PLATFORM, min_validity_seconds=60, force_refresh=force)
    headers = {"Authorization": f"Bearer {token.access_token}"}
    return urllib.request.Request(url, headers=headers)  # noqa: S310 (send checks the scheme)


def main(
    argv: Optional[Sequence[str]] = None,
    *,
    env: Optional[Mapping[str, str]] = None,
    send: Send = send_with_urllib,
) -> int:
    """Exit status: 0 called, 2 usage or configuration, 3 the user must reconnect, 4 retry later.

    A 401 that persists after one forced refresh is still "called" (0): the status is printed.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: get_token.py USER_ID URL", file=sys.stderr)
        return 2
    user_id, url = args
    try:
        reader = TokenReader.from_env() if env is None else TokenReader.from_env(env)
        status = call_provider(reader, user_id, url, send)
    except (TokenNotFoundError, NeedsReauthError) as err:
        print(f"{err.code}: ask the user to connect their {PLATFORM} account", file=sys.stderr)
        return 3
    except TokenExpiredError as err:
        print(f"{err.code}: the refresher has not refreshed it yet; retry later", file=sys.stderr)
        return 4
    except RefreshFailedError as err:
        print(f"{err.code} ({err.failure}): {err}", file=sys.stderr)
        return 4 if err.retryable else 2
    except TokenReaderError as err:
        print(f"{err.code}: {err}", file=sys.stderr)
        return 2
    print(f"{PLATFORM} answered HTTP {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
