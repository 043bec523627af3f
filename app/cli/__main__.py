"""`python -m app.cli`: the same as the `autocoder` command."""

from app.cli import main

main()
