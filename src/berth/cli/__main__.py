"""`python -m berth.cli`: the same as the `berth` console script."""

from berth.cli import main

main()
