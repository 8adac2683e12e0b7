#!/usr/bin/env python3
"""Helper for the Rust suite (crates/deployer/tests/readers_refresh.rs); not a pytest file: one
``request_refresh`` with this package, configured from the environment (EventBusName and the
standard AWS variables). Arguments: ``USER_ID PLATFORM [force]``. Output: ``{"eventId": ...}``,
or ``{"code", "message"}`` with exit status 1. Never a token: a request carries none.
"""

from __future__ import annotations

import json
import sys

from oauth_token_reader import TokenReader, TokenReaderError


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print("usage: request_refresh.py USER_ID PLATFORM [force]", file=sys.stderr)
        return 2
    user_id, platform = sys.argv[1], sys.argv[2]
    force = len(sys.argv) == 4 and sys.argv[3] == "force"
    try:
        event_id = TokenReader.from_env().request_refresh(user_id, platform, force=force)
    except TokenReaderError as err:
        print(json.dumps({"code": err.code, "message": str(err)}))
        return 1
    print(json.dumps({"eventId": event_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
