"""Testing code that uses natskv: the pytest plugin (:mod:`natskv.testing.plugin`).

The plugin is registered with pytest's ``pytest11`` entry point, so its fixtures
(``nats_url``, ``nc``, ``kv_store``, ``sync_kv_store``, ``nats_cluster``, ...) are there
in every test run once natskv is installed; ``-p no:natskv`` turns it off.
"""

__all__: list[str] = []
