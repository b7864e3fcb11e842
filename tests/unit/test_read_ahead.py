"""The poller's read-ahead: the same pages in the same order, the reader's error in its place, and a consumer
that stops early stops the reader."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bridge.sources.poller import read_ahead


def test_pages_come_in_order() -> None:
    assert list(read_ahead(iter(range(50)))) == list(range(50))


def test_the_readers_error_comes_after_the_pages_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("instance went away")

    got: list[int] = []
    with pytest.raises(ConnectionError, match="went away"):
        for page in read_ahead(pages()):
            got.append(page)
    assert got == [1, 2]


def test_a_consumer_that_stops_stops_the_reader() -> None:
    read: list[int] = []

    def pages() -> Iterator[int]:
        for i in range(1_000):
            read.append(i)
            yield i

    for page in read_ahead(pages()):
        if page == 3:
            break
    assert not [t for t in threading.enumerate() if t.name == "poll-read-ahead"], "the reader thread has ended"
    assert len(read) <= 6, "the reader kept at most a page or two ahead"
