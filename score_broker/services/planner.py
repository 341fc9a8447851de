"""Part layouts, with the same arithmetic as Score's `SimplePartCalculator`.

Matching it byte for byte means a file uploaded through this broker has the part layout a real
Score server would have given it, and so do download specs.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_PART_SIZE = 20 * 1024 * 1024
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * 1024**4


@dataclass(frozen=True, slots=True)
class PlannedPart:
    """One part of a layout: 1-based number, size in bytes, absolute offset in the object."""

    number: int
    size: int
    offset: int


class PartPlanner:
    """Divides a byte range of an object into parts (Score's `divide` and `specify`)."""

    def __init__(self, configured_part_size: int = MIN_PART_SIZE) -> None:
        self.min_part_size = max(configured_part_size, MIN_PART_SIZE)

    def part_size_for(self, length: int) -> int:
        """The size of every part but the last, for a range of `length` bytes."""
        return max(self.min_part_size, length // MAX_PARTS + 1)

    def divide(self, offset: int, length: int) -> list[PlannedPart]:
        """Parts laid back to back from `offset`; the last holds the remainder; none for 0 bytes."""
        size = self.part_size_for(length)
        full, remainder = divmod(length, size)
        parts = [PlannedPart(i + 1, size, offset + i * size) for i in range(full)]
        if remainder:
            parts.append(PlannedPart(full + 1, remainder, offset + full * size))
        return parts

    @staticmethod
    def specify(offset: int, length: int) -> list[PlannedPart]:
        """A single part covering `length` bytes at `offset` (used for external specs)."""
        return [PlannedPart(1, length, offset)]
