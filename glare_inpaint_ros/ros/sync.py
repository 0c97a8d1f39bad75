"""Exact-stamp pairing of images and masks without message_filters (ROS-free, unit-tested).

:class:`StampSync` keeps two bounded caches keyed by the header stamp ``(sec, nanosec)``: images
waiting for their mask and masks waiting for their image. Adding one side returns the pair as soon
as the other side with the same stamp is there. Each cache holds at most ``cache_size`` entries; on
overflow the oldest entry (by arrival) is evicted and counted. :meth:`StampSync.expire` hands back
images that waited longer than ``timeout_s`` for their mask (the inpainting node publishes them
unchanged); stale masks are dropped the same way. Times are seconds from any monotonic clock,
passed in by the caller so tests need no sleeping.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, Hashable, TypeVar

Stamp = tuple[int, int]  # (sec, nanosec)
ImageT = TypeVar("ImageT")
MaskT = TypeVar("MaskT")


@dataclass
class _Entry(Generic[ImageT]):
    item: ImageT
    arrived_s: float


@dataclass
class SyncCounters:
    """How many items left the caches other than by pairing."""

    images_evicted: int = 0
    masks_evicted: int = 0
    images_timed_out: int = 0
    masks_timed_out: int = 0
    duplicates: int = 0


class StampSync(Generic[ImageT, MaskT]):
    """Pairs images and masks with identical stamps.

    Args:
        cache_size: maximum entries per side (>= 1); the oldest is evicted and counted on overflow.
        timeout_s: how long an image (or mask) may wait for its partner, seconds (> 0).

    Not thread-safe: call from one executor callback group.
    """

    def __init__(self, cache_size: int = 10, timeout_s: float = 0.1) -> None:
        self.configure(cache_size, timeout_s)
        self._images: OrderedDict[Hashable, _Entry[ImageT]] = OrderedDict()
        self._masks: OrderedDict[Hashable, _Entry[MaskT]] = OrderedDict()
        self.counters = SyncCounters()

    def configure(self, cache_size: int, timeout_s: float) -> None:
        """Change the bounds (applied at the next add/expire)."""
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"cache_size must be an integer >= 1, got {cache_size!r}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0 seconds, got {timeout_s!r}")
        self.cache_size = cache_size
        self.timeout_s = float(timeout_s)

    def __len__(self) -> int:
        return len(self._images) + len(self._masks)

    @property
    def pending_images(self) -> int:
        return len(self._images)

    @property
    def pending_masks(self) -> int:
        return len(self._masks)

    def add_image(self, stamp: Stamp, image: ImageT,
                  now_s: float) -> tuple[tuple[ImageT, MaskT] | None, list[ImageT]]:
        """Add an image arrived at ``now_s``.

        Returns:
            ``(pair, evicted)``: ``pair`` is ``(image, mask)`` if its mask was already here (else
            None, the image is cached); ``evicted`` the images that left the cache without a mask:
            first
            an older image with the same stamp that this one replaced (counted in
            ``counters.duplicates``), then those pushed out of the full cache, oldest first
            (``counters.images_evicted``). Nothing leaves the cache unreported.
        """
        entry = self._masks.pop(stamp, None)
        if entry is not None:
            return (image, entry.item), []
        dups = self.counters.duplicates
        evicted = self._insert(self._images, stamp, image, now_s)
        self.counters.images_evicted += len(evicted) - (self.counters.duplicates - dups)
        return None, evicted

    def add_mask(self, stamp: Stamp, mask: MaskT,
                 now_s: float) -> tuple[tuple[ImageT, MaskT] | None, list[MaskT]]:
        """Add a mask; like :meth:`add_image` with the roles swapped."""
        entry = self._images.pop(stamp, None)
        if entry is not None:
            return (entry.item, mask), []
        dups = self.counters.duplicates
        evicted = self._insert(self._masks, stamp, mask, now_s)
        self.counters.masks_evicted += len(evicted) - (self.counters.duplicates - dups)
        return None, evicted

    def _insert(self, cache: OrderedDict, stamp: Stamp, item, now_s: float) -> list:
        """Cache ``item``; returns what left the cache: first the item it replaced (same stamp,
        counted in ``duplicates``), then overflow evictions, oldest first."""
        old = cache.pop(stamp, None)
        out = []
        if old is not None:
            self.counters.duplicates += 1  # same stamp again: the newer message replaces the older
            out.append(old.item)
        cache[stamp] = _Entry(item, now_s)
        evicted = []
        while len(cache) > self.cache_size:
            evicted.append(cache.popitem(last=False)[1].item)
        return out + evicted

    def expire(self, now_s: float) -> list[ImageT]:
        """Remove and return images older than the timeout (oldest first); drop stale masks."""
        out: list[ImageT] = []
        limit = now_s - self.timeout_s
        while self._images:
            stamp, entry = next(iter(self._images.items()))
            if entry.arrived_s > limit:
                break
            del self._images[stamp]
            out.append(entry.item)
            self.counters.images_timed_out += 1
        while self._masks:
            stamp, entry = next(iter(self._masks.items()))
            if entry.arrived_s > limit:
                break
            del self._masks[stamp]
            self.counters.masks_timed_out += 1
        return out

    def clear(self) -> None:
        self._images.clear()
        self._masks.clear()
