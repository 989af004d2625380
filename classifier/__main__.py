"""``python -m classifier`` runs the ``sieve`` command."""

from .cli import main

main()
