"""Starting a cluster's nodes at once: the binary is looked up from several threads.

``EmbeddedCluster.start`` starts every node in a thread of its own, so the first lookup
of the nats-server binary in a process can happen in several threads at the same moment.
``sysconfig`` fills its configuration lazily and not thread-safely: a lookup racing the
first one used to fail with ``AttributeError: 'userbase'``, and the cluster with it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

# run in a fresh interpreter: only the very first lookup of a process races
_RACE = textwrap.dedent(
    """
    import threading
    from natskv.server import find_server_binary

    barrier = threading.Barrier(8)
    errors = []

    def lookup():
        barrier.wait()
        try:
            find_server_binary()
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=lookup) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(len(errors), errors[:1])
    """
)


def test_the_first_binary_lookups_of_a_process_may_run_in_parallel_threads() -> None:
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", _RACE], capture_output=True, text=True, timeout=60, check=True
        )
        assert done.stdout.split(" ", 1)[0] == "0", done.stdout
