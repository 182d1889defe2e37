"""``python -m sim`` behaves like ``orgsim``."""

from .cli import main

raise SystemExit(main())
