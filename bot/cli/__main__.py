"""``python -m bot.cli``: the same as the ``policybot`` command."""

from . import main

main()
