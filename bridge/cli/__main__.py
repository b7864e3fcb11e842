"""`python -m bridge.cli`: the same as the `bridge` console command."""

from bridge.cli import main

main()
