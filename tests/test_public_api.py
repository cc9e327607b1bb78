"""The package's small public API stays sorted and importable."""

from __future__ import annotations

import ketaguide


def test_all_is_sorted_and_resolves() -> None:
    assert ketaguide.__all__ == sorted(ketaguide.__all__)
    for name in ketaguide.__all__:
        assert getattr(ketaguide, name) is not None
