"""``python -m benchmarks``: run the natskv vs nats-py benchmark (see benchmarks/README.md)."""

from benchmarks._cli import main

raise SystemExit(main())
