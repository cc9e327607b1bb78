"""python -m ketaguide runs the command line."""

from ketaguide.cli import main

main()
