"""The data-key cache: bounds, age, failures, and one load per key under concurrency."""

from __future__ import annotations

import threading
import time

import pytest

from oauth_token_reader.cache import DataKeyCache


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Loader:
    """Counts calls; optionally fails or blocks until released."""

    def __init__(self, value: bytes = b"k" * 32, fail: bool = False) -> None:
        self.value = value
        self.fail = fail
        self.calls = 0
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            self.calls += 1
        self.started.set()
        self.release.wait(timeout=10)
        if self.fail:
            raise RuntimeError("KMS said no")
        return self.value


def test_a_hit_does_not_load_again() -> None:
    cache: DataKeyCache[bytes] = DataKeyCache()
    load = _Loader()
    assert cache.get_or_load(b"blob", load) == load.value
    assert cache.get_or_load(b"blob", load) == load.value
    assert load.calls == 1


def test_entries_are_bounded_least_recently_used_first() -> None:
    cache: DataKeyCache[bytes] = DataKeyCache(max_entries=2)
    loads = {name: _Loader(name * 32) for name in (b"a", b"b", b"c")}
    cache.get_or_load(b"a", loads[b"a"])
    cache.get_or_load(b"b", loads[b"b"])
    cache.get_or_load(b"a", loads[b"a"])  # a is now the most recent
    cache.get_or_load(b"c", loads[b"c"])  # evicts b
    assert len(cache) == 2
    cache.get_or_load(b"a", loads[b"a"])
    cache.get_or_load(b"b", loads[b"b"])
    assert (loads[b"a"].calls, loads[b"b"].calls, loads[b"c"].calls) == (1, 2, 1)


def test_entries_expire_by_age() -> None:
    clock = _Clock()
    cache: DataKeyCache[bytes] = DataKeyCache(max_age_seconds=60, clock=clock)
    load = _Loader()
    cache.get_or_load(b"blob", load)
    clock.now += 59
    cache.get_or_load(b"blob", load)
    assert load.calls == 1
    clock.now += 1
    cache.get_or_load(b"blob", load)
    assert load.calls == 2


def test_a_clock_that_goes_back_makes_entries_stale() -> None:
    clock = _Clock()
    cache: DataKeyCache[bytes] = DataKeyCache(clock=clock)
    load = _Loader()
    cache.get_or_load(b"blob", load)
    clock.now -= 1
    cache.get_or_load(b"blob", load)
    assert load.calls == 2


def test_zero_entries_disables_the_cache() -> None:
    cache: DataKeyCache[bytes] = DataKeyCache(max_entries=0)
    load = _Loader()
    cache.get_or_load(b"blob", load)
    cache.get_or_load(b"blob", load)
    assert load.calls == 2


def test_failures_are_not_cached() -> None:
    cache: DataKeyCache[bytes] = DataKeyCache()
    load = _Loader(fail=True)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            cache.get_or_load(b"blob", load)
    load.fail = False
    assert cache.get_or_load(b"blob", load) == load.value
    assert load.calls == 3


def test_clear_forgets_every_key() -> None:
    cache: DataKeyCache[bytes] = DataKeyCache()
    load = _Loader()
    cache.get_or_load(b"blob", load)
    cache.clear()
    cache.get_or_load(b"blob", load)
    assert load.calls == 2


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        DataKeyCache(max_entries=-1)
    with pytest.raises(ValueError, match="max_age_seconds"):
        DataKeyCache(max_age_seconds=-1)


def _run_concurrently(cache: DataKeyCache[bytes], load: _Loader, threads: int) -> list[object]:
    """Starts ``threads`` misses for one key while the first load is held, then releases it."""
    results: list[object] = []
    lock = threading.Lock()

    def read() -> None:
        try:
            value: object = cache.get_or_load(b"blob", load)
        except RuntimeError as exc:
            value = exc
        with lock:
            results.append(value)

    load.release.clear()
    workers = [threading.Thread(target=read) for _ in range(threads)]
    for worker in workers:
        worker.start()
    assert load.started.wait(timeout=10)
    time.sleep(0.05)  # let the others reach the cache and wait on the first load
    load.release.set()
    for worker in workers:
        worker.join(timeout=10)
    return results


def test_concurrent_misses_for_one_key_load_once() -> None:
    cache: DataKeyCache[bytes] = DataKeyCache()
    load = _Loader()
    results = _run_concurrently(cache, load, threads=16)
    assert results == [load.value] * 16
    assert load.calls == 1


def test_a_failed_concurrent_load_lets_each_waiter_try_again() -> None:
    cache: DataKeyCache[bytes] = DataKeyCache()
    load = _Loader(fail=True)
    results = _run_concurrently(cache, load, threads=4)
    assert len(results) == 4
    assert all(isinstance(result, RuntimeError) for result in results)
    assert load.calls == 4
    assert len(cache) == 0
