"""`python -m screener`."""

from .cli import main

main()
