"""The part planner against layouts worked out by hand from Score's SimplePartCalculator."""

from __future__ import annotations

import pytest

from score_broker.services.planner import MAX_PARTS, MIN_PART_SIZE, PartPlanner, PlannedPart

MiB = 1024 * 1024
TiB = 1024**4


def test_50_million_bytes_is_two_full_parts_and_a_remainder() -> None:
    # The contract's example spec (section 1.6).
    assert PartPlanner().divide(0, 50_000_000) == [
        PlannedPart(1, 20_971_520, 0),
        PlannedPart(2, 20_971_520, 20_971_520),
        PlannedPart(3, 8_056_960, 41_943_040),
    ]


def test_configured_size_below_the_floor_is_raised_to_20_mib() -> None:
    # Score's default upload.partsize is 20,000,000, which the 20 MiB floor overrides.
    assert PartPlanner(20_000_000).part_size_for(1000) == 20 * MiB
    assert PartPlanner(1).divide(0, 1) == [PlannedPart(1, 1, 0)]


def test_configured_size_above_the_floor_is_used() -> None:
    planner = PartPlanner(1024 * MiB)
    assert planner.divide(0, 2500 * MiB) == [
        PlannedPart(1, 1024 * MiB, 0),
        PlannedPart(2, 1024 * MiB, 1024 * MiB),
        PlannedPart(3, 452 * MiB, 2048 * MiB),
    ]


def test_zero_bytes_gives_no_parts() -> None:
    assert PartPlanner().divide(0, 0) == []


def test_exact_multiple_has_no_empty_last_part() -> None:
    assert PartPlanner().divide(0, 40 * MiB) == [
        PlannedPart(1, 20 * MiB, 0),
        PlannedPart(2, 20 * MiB, 20 * MiB),
    ]


def test_offsets_are_absolute_from_the_base_offset() -> None:
    assert PartPlanner().divide(1000, 20 * MiB + 5) == [
        PlannedPart(1, 20 * MiB, 1000),
        PlannedPart(2, 5, 1000 + 20 * MiB),
    ]


def test_10000_parts_of_20_mib_is_the_largest_size_at_the_floor() -> None:
    size = MAX_PARTS * MIN_PART_SIZE  # 209,715,200,000: floor(size / 10000) + 1 = 20 MiB + 1
    # One byte of growth past size / 10000 == 20 MiB switches to the computed size.
    assert PartPlanner().part_size_for(size - 1) == MIN_PART_SIZE
    assert PartPlanner().part_size_for(size) == MIN_PART_SIZE + 1
    parts = PartPlanner().divide(0, size)
    assert len(parts) == MAX_PARTS
    assert parts[-1] == PlannedPart(10_000, 20_971_520 - 9_999, 9_999 * 20_971_521)


def test_5_tib_hand_computed() -> None:
    # 5 TiB = 5,497,558,138,880; / 10000 = 549,755,813 (floor); + 1 = 549,755,814.
    size = 5 * TiB
    parts = PartPlanner().divide(0, size)
    assert parts[0] == PlannedPart(1, 549_755_814, 0)
    assert len(parts) == 10_000
    # 9,999 full parts = 5,497,008,384,186 bytes; the last holds 549,754,694.
    assert parts[-1] == PlannedPart(10_000, 549_754_694, 5_497_008_384_186)


def test_specify_is_one_part() -> None:
    assert PartPlanner.specify(7, -1) == [PlannedPart(1, -1, 7)]


@pytest.mark.parametrize(
    "size",
    [
        1,
        2,
        MIN_PART_SIZE - 1,
        MIN_PART_SIZE,
        MIN_PART_SIZE + 1,
        10**9,
        10**11 + 7,
        MAX_PARTS * MIN_PART_SIZE + 1,
        10**12 + 3,
        2**42 - 1,
        5 * TiB,
    ],
)
def test_layout_invariants_for_sizes_from_1_byte_to_5_tib(size: int) -> None:
    parts = PartPlanner().divide(0, size)
    assert 1 <= len(parts) <= MAX_PARTS
    assert sum(p.size for p in parts) == size
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))
    offset = 0
    for part in parts:
        assert part.offset == offset
        offset += part.size
    assert all(p.size == parts[0].size for p in parts[:-1])
    assert 0 < parts[-1].size <= parts[0].size
    assert parts[0].size < 2**31  # Score keeps part sizes in a Java int
