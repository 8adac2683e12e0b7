"""tests/vectors/token-items.json: how every reader (Rust, TypeScript, Python) interprets an item.

Each case goes through a whole TokenReader whose DynamoDB client is a fake serving the case's
item, with the vector file's clock; its access tokens are plaintext, so no KMS call is made.
"""

from __future__ import annotations

from typing import Any, Optional, cast

import pytest

from oauth_token_reader import MalformedItemError, TokenReader, TokenReaderError
from support import ITEM_VECTORS_PATH, assert_same_secret, load_vectors

VECTORS = load_vectors(ITEM_VECTORS_PATH)
CASES: list[dict[str, Any]] = VECTORS["cases"]


class _ItemTable:
    """A fake DynamoDB client that holds the case's item (or none)."""

    def __init__(self, item: Optional[dict[str, Any]]) -> None:
        self.item = item

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {} if self.item is None else {"Item": self.item}


class _NoKms:
    def decrypt(self, **_: Any) -> dict[str, Any]:
        raise AssertionError("the item vectors hold plaintext tokens: no KMS call is expected")


def _read(case: dict[str, Any]) -> Any:
    reader = TokenReader(
        "tokens",
        dynamodb_client=cast(Any, _ItemTable(case["item"])),
        kms_client=cast(Any, _NoKms()),
        clock=lambda: float(VECTORS["now"]),
    )
    return reader.get_token(
        VECTORS["userId"], VECTORS["platform"], min_validity_seconds=case["minValiditySeconds"]
    )


def test_the_vectors_cover_every_outcome() -> None:
    assert VECTORS["format"] == "token-items-v1"
    outcomes = {case.get("error", "token") for case in CASES}
    assert outcomes == {"token", "NOT_FOUND", "NEEDS_REAUTH", "INACTIVE", "EXPIRED", "MALFORMED"}


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_item_vector(case: dict[str, Any]) -> None:
    if "token" in case:
        expected = case["token"]
        token = _read(case)
        assert_same_secret(token.access_token, expected["accessToken"])
        got = (token.expires_at, token.scope, token.status, token.version)
        assert got == (
            expected["expiresAt"],
            expected["scope"],
            expected["status"],
            expected["version"],
        )
        return
    with pytest.raises(TokenReaderError) as caught:
        _read(case)
    assert caught.value.code == case["error"], str(caught.value)
    if "attribute" in case:
        assert isinstance(caught.value, MalformedItemError)
        assert caught.value.attribute == case["attribute"]
