"""Batches for the workers: in order, none larger than asked, shared evenly."""

from __future__ import annotations

import pytest

from flows.runner import SEQUENTIAL, even_batches


@pytest.mark.parametrize(
    ("n", "max_size", "slots", "count"),
    [(5101, 200, 2, 26), (5080, 500, 2, 12), (5080, 500, 1, 11), (3, 200, 2, 2), (1, 500, 4, 1)],
)
def test_even_batches_keep_order_and_share_evenly(
    n: int, max_size: int, slots: int, count: int
) -> None:
    items = list(range(n))
    batches = even_batches(items, max_size, slots)
    assert len(batches) == count
    assert [x for batch in batches for x in batch] == items
    sizes = [len(b) for b in batches]
    assert max(sizes) <= max_size and max(sizes) - min(sizes) <= 1


def test_no_items_no_batches() -> None:
    assert even_batches([], 200, 2) == []


def test_sequential_runner_runs_in_order_in_one_slot() -> None:
    assert SEQUENTIAL.slots == 1
    assert SEQUENTIAL.run_all(lambda a, b: a * b, [(1, 2), (3, 4)]) == [2, 12]
