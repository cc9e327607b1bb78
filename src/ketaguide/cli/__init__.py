"""KetaGuide's command line (`ketaguide.cli.app`). Kept empty of imports so that a module of this package (the
stream helpers, say) can be imported without loading every command."""

from __future__ import annotations


def main() -> None:
    from ketaguide.cli.app import app

    app()
