#!/usr/bin/env python3
"""Reads keys with the Python reader for the Rust suite's cross-reader tests (not a pytest file).

Environment: TokensTableName (and optionally KmsKeyArn), AWS_ENDPOINT_URL, credentials, region.
Input, one JSON object per line on stdin: ``{"userId": "...", "platform": "..."}``, optionally
with ``"minValiditySeconds"`` (default 0).
Output, one JSON line per input line, in order, flushed as it goes:
``{"userId", "platform", "ok": true, "status", "version", "expiresAt", "scope",
"accessTokenSha256"}`` or ``{"userId", "platform", "ok": false, "code"}`` with the error's
stable code; then ``{"kmsDecryptCalls": N}``. The token itself is never printed: only its
SHA-256, which the caller compares with the hash of the value it wrote.

Exit status: 0 when every line was answered with ok or a reader error code; 1 when some read
failed in another way (its line says ``"code": "UNEXPECTED"``); 2 for bad input or
configuration (message on stderr).
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from oauth_token_reader import ConfigurationError, TokenReader, TokenReaderError


def read_one(reader: TokenReader, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The output line for one request, and whether it was an expected outcome."""
    user_id, platform = request["userId"], request["platform"]
    head: dict[str, Any] = {"userId": user_id, "platform": platform}
    try:
        token = reader.get_token(
            user_id, platform, min_validity_seconds=request.get("minValiditySeconds", 0)
        )
    except TokenReaderError as err:
        return {**head, "ok": False, "code": err.code}, True
    except Exception as err:  # noqa: BLE001 (reported on its line, then the exit status)
        print(f"{user_id}/{platform}: {type(err).__name__}", file=sys.stderr)
        return {**head, "ok": False, "code": "UNEXPECTED"}, False
    return {
        **head,
        "ok": True,
        "status": token.status,
        "version": token.version,
        "expiresAt": token.expires_at,
        "scope": token.scope,
        "accessTokenSha256": hashlib.sha256(token.access_token.encode("utf-8")).hexdigest(),
    }, True


class BadInputError(Exception):
    """An input line that is not a key request; the caller's bug, so the run stops."""


def parse_request(line: str, line_number: int) -> dict[str, Any]:
    try:
        request = json.loads(line)
    except json.JSONDecodeError as err:
        raise BadInputError(f"line {line_number}: not JSON ({err.msg})") from None
    if (
        not isinstance(request, dict)
        or not isinstance(request.get("userId"), str)
        or not isinstance(request.get("platform"), str)
    ):
        raise BadInputError(f'line {line_number}: expected {{"userId": "...", "platform": "..."}}')
    return request


def main() -> int:
    try:
        reader = TokenReader.from_env()
    except ConfigurationError as err:
        print(f"interop_read: {err}", file=sys.stderr)
        return 2
    all_expected = True
    for line_number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            request = parse_request(line, line_number)
        except BadInputError as err:
            print(f"interop_read: {err}", file=sys.stderr)
            return 2
        answer, expected = read_one(reader, request)
        all_expected = all_expected and expected
        print(json.dumps(answer), flush=True)
    print(json.dumps({"kmsDecryptCalls": reader.stats.kms_decrypt_calls}), flush=True)
    return 0 if all_expected else 1


if __name__ == "__main__":
    sys.exit(main())
