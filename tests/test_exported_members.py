"""The public API is exactly what kakehashi.__all__ lists (httpx keeps the same test)."""

from __future__ import annotations

import kakehashi


def test_all_lists_exactly_the_public_names() -> None:
    # The names are imported on first use (PEP 562): resolve them all, then nothing else
    # public may be left in the module.
    for name in kakehashi.__all__:
        getattr(kakehashi, name)
    public = {name for name in vars(kakehashi) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(kakehashi, name)).__name__ == "module"}
    assert set(kakehashi.__all__) - {"__version__"} == public - modules
    assert kakehashi.__version__ == "0.1.0"


def test_every_listed_name_resolves() -> None:
    for name in kakehashi.__all__:
        assert getattr(kakehashi, name) is not None


def test_importing_the_package_does_not_import_the_http_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kakehashi; print('starlette' in sys.modules, 'kakehashi.api' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
