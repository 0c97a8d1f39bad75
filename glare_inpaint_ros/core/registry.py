"""A tiny name -> class registry shared by detectors and inpainting backends."""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a short name (the value of a ``type``/``backend`` parameter) to a class.

    Adding an implementation is one decorator line on its class plus one import line in the
    package ``__init__`` that owns the registry.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, type[T]] = {}
        self._listeners: list[Callable[[str, type[T]], None]] = []

    def add_listener(self, callback: Callable[[str, type[T]], None]) -> None:
        """Call ``callback(name, cls)`` after every later registration (e.g. a plugin imported
        after the parameter schema was built, so the schema can learn its name and parameters)."""
        self._listeners.append(callback)

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        """Class decorator: ``@DETECTORS.register("threshold")``."""

        def decorator(cls: type[T]) -> type[T]:
            if name in self._classes:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            cls.name = name  # type: ignore[attr-defined]
            self._classes[name] = cls
            for callback in self._listeners:
                callback(name, cls)
            return cls

        return decorator

    def get(self, name: str) -> type[T]:
        """The class registered as ``name``; ``ValueError`` listing the known names otherwise."""
        try:
            return self._classes[name]
        except KeyError:
            raise ValueError(
                f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self._classes))}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._classes)

    def items(self) -> Iterator[tuple[str, type[T]]]:
        return iter(sorted(self._classes.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._classes
