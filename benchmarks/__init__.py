"""natskv vs nats-py benchmark suite: ``python -m benchmarks --help`` (see README.md)."""
