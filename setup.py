"""The one thing pyproject.toml cannot say stably yet: the compiled protocol parser.

hiredis-style, it is optional: where no C compiler is, the build warns and goes on, and
natskv.protocol uses the pure-Python parser (docs/performance.md).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "natskv.protocol._cparser",
            sources=["src/natskv/protocol/_cparser.c"],
            optional=True,
        )
    ]
)
