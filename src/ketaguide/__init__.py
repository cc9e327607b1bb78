"""KetaGuide: offline, evidence-graded clinical decision support for ketamine use disorder.

The public API is small: `KetaGuide` (see `ketaguide.facade`) and `__version__`. `KetaGuide` is imported on first
use, so `import ketaguide.<module>` (every command start) does not load the engines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ketaguide.version import __version__

if TYPE_CHECKING:
    from ketaguide.facade import KetaGuide


__all__ = ["KetaGuide", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "KetaGuide":
        from ketaguide.facade import KetaGuide

        return KetaGuide
    raise AttributeError(f"module 'ketaguide' has no attribute {name!r}")
