"""python -m ketaguide_bench -> the ketaguide-bench command line."""

from ketaguide_bench.cli import main

main()
