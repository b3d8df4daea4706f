"""Which docs code blocks ran, for the summary line of the test run: (language, "page:line")."""

EXECUTED: list[tuple[str, str]] = []
"""Blocks run by tests/docs/test_docs_examples.py."""
SKIPPED: list[tuple[str, str]] = []
"""Blocks it did not run (``<!-- no-run: why -->``)."""
RUN_AS_TESTS: list[tuple[str, str]] = []
"""Of those, the test modules that tests/docs/test_testing_page.py runs with pytest."""
