"""The one thing pyproject.toml cannot say: the optional C extension.

``kakehashi.match._scan`` is the matcher's hot loop in C. It is optional: without a C
compiler the install goes on and the engine runs the same loop in Python (slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "kakehashi.match._scan",
            ["src/kakehashi/match/_scan.c"],
            optional=True,
        )
    ]
)
