"""The data-key cache: each distinct encrypted data key is decrypted by KMS once.

A writer seals every value of one run with one data key (docs/token-store.md, "Data keys"), so a
reader that keeps the plaintext data keys it decrypted makes no KMS call on steady reads. The
cache is bounded twice: by entries (least recently used goes first), so a reader that sees many
writers' keys stays small; and by age, so a key KMS would now refuse (revoked grant, disabled
key) stops being usable within ``max_age_seconds``.

Thread-safe, with one load per key at a time: concurrent misses for one key wait for the first
caller's KMS call instead of each making their own. A failed load is not cached; the next caller
(or a waiting one) tries again, so a transient KMS error does not stick.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Callable, Generic, Optional, TypeVar

__all__ = ["DataKeyCache"]

K = TypeVar("K", bound=Hashable)


@dataclass
class _Entry:
    value: bytes = field(repr=False)
    loaded_at: float


class DataKeyCache(Generic[K]):
    """A bounded map from a key (the encrypted data key) to the plaintext data key."""

    def __init__(
        self,
        max_entries: int = 100,
        max_age_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be 0 (no cache) or more")
        if max_age_seconds < 0:
            raise ValueError("max_age_seconds must be 0 (no cache) or more")
        self._max_entries = max_entries
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, _Entry] = OrderedDict()
        self._loading: dict[K, threading.Lock] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"DataKeyCache(entries={len(self)}, max_entries={self._max_entries})"

    def clear(self) -> None:
        """Forgets every key (for an app that rotates credentials or wants to force KMS)."""
        with self._lock:
            self._entries.clear()

    def get_or_load(self, key: K, load: Callable[[], bytes]) -> bytes:
        """The cached value of ``key``, or ``load()``'s, called by one thread at a time per key."""
        while True:
            with self._lock:
                value = self._fresh(key)
                if value is not None:
                    return value
                gate = self._loading.get(key)
                if gate is None:
                    gate = threading.Lock()
                    gate.acquire()
                    self._loading[key] = gate
                    break
            # Another thread is loading this key: wait for it, then look again. If it failed,
            # nothing was stored and this thread becomes the loader.
            with gate:
                pass
        return self._load(key, gate, load)

    def _load(self, key: K, gate: threading.Lock, load: Callable[[], bytes]) -> bytes:
        try:
            value = load()
            with self._lock:
                self._store(key, value)
            return value
        finally:
            with self._lock:
                del self._loading[key]
            gate.release()

    def _fresh(self, key: K) -> Optional[bytes]:
        """The value if present and young enough; drops it otherwise. Caller holds the lock."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = self._clock() - entry.loaded_at
        # A clock that went backwards makes the age negative: treat the entry as stale.
        if age < 0 or age >= self._max_age:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.value

    def _store(self, key: K, value: bytes) -> None:
        """Keeps ``value``, evicting the least recently used. Caller holds the lock."""
        if self._max_entries == 0 or self._max_age == 0:
            return
        self._entries[key] = _Entry(value=value, loaded_at=self._clock())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
