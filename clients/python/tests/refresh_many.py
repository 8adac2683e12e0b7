#!/usr/bin/env python3
"""Concurrency helper for the Rust suite (crates/deployer/tests/readers_refresh.rs); not a pytest
file. N threads, each with its own TokenReader (nothing shared in this process), force a refresh
of one token at the same moment, as N app workers would after a 401.

Arguments: ``USER_ID PLATFORM N``. Environment: what ``TokenReader.from_env`` reads
(TokensTableName, KmsKeyArn, TokenApiFnArn) and the standard AWS variables
(AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_LAMBDA, ...).
Protocol: each reader reads the token once (unforced), then ``{"ready": N}`` is printed; on the
next stdin line all N call ``get_token(..., force_refresh=True)`` at once.
Output: one line per reader, ``{"ok": true, "version", "accessTokenSha256"}`` or
``{"ok": false, "code", "message"}``, then ``{"tokenApiCalls": N}``. Never a token.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from typing import Any

from oauth_token_reader import TokenReader, TokenReaderError


def emit(value: dict[str, Any]) -> None:
    print(json.dumps(value), flush=True)


def force(reader: TokenReader, user_id: str, platform: str) -> dict[str, Any]:
    try:
        token = reader.get_token(user_id, platform, force_refresh=True)
    except TokenReaderError as err:
        return {"ok": False, "code": err.code, "message": str(err)}
    except Exception as err:  # noqa: BLE001 (reported on its line; the test fails on it)
        return {"ok": False, "code": "UNEXPECTED", "message": type(err).__name__}
    digest = hashlib.sha256(token.access_token.encode()).hexdigest()
    return {"ok": True, "version": token.version, "accessTokenSha256": digest}


def main() -> int:
    if len(sys.argv) != 4 or not sys.argv[3].isdigit() or int(sys.argv[3]) < 1:
        print("usage: refresh_many.py USER_ID PLATFORM N", file=sys.stderr)
        return 2
    user_id, platform, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    readers = [TokenReader.from_env() for _ in range(count)]
    for reader in readers:
        reader.get_token(user_id, platform)
    emit({"ready": count})
    sys.stdin.readline()
    results: list[dict[str, Any]] = [{} for _ in readers]
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        results[index] = force(readers[index], user_id, platform)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        emit(result)
    emit({"tokenApiCalls": sum(reader.stats.token_api_calls for reader in readers)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
