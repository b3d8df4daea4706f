"""Which docs code blocks ran ("page:line"), for the summary line of the test run."""

EXECUTED: list[str] = []
SKIPPED: list[str] = []
