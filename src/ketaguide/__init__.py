"""KetaGuide: offline, evidence-graded clinical decision support for ketamine use disorder."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
