"""`python -m dock2uni` runs the CLI."""

from dock2uni.cli import main

main()
