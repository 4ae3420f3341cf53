"""Prepare a runnable demo hub: copy a config with a fresh token for every account.

Usage: python scripts/demo_config.py examples/hub.toml .run

The first run writes OUT/hub.toml (with the digests of new tokens) and OUT/tokens.txt;
later runs keep both, so the tokens stay valid. Prints the URL and how to authenticate.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sys
import tomllib
from pathlib import Path


def main(source: Path, out: Path) -> None:
    config = out / "hub.toml"
    tokens_file = out / "tokens.txt"
    if not config.exists() or not tokens_file.exists():
        out.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        lines: list[str] = []
        tokens: list[tuple[str, str]] = []
        username = ""
        for line in text.splitlines():
            match = re.match(r'^\s*username\s*=\s*"([^"]+)"', line)
            if match:
                username = match.group(1)
            if re.match(r"^\s*token_sha256\s*=", line):
                token = secrets.token_urlsafe(24)
                tokens.append((username, token))
                digest = hashlib.sha256(token.encode()).hexdigest()
                line = f'token_sha256 = "{digest}"'
            lines.append(line)
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tokens_file.write_text("".join(f"{u} {t}\n" for u, t in tokens), encoding="utf-8")
        tokens_file.chmod(0o600)
    listen = tomllib.loads(config.read_text(encoding="utf-8"))["hub"].get(
        "listen", "127.0.0.1:8470"
    )
    print(f"\nKakehashi demo hub: http://{listen}/taxii2/")
    print(f"Config: {config} (SQLite database beside it)")
    print("Accounts (HTTP Basic: username + token as password, or 'Authorization: Bearer TOKEN'):")
    for entry in tokens_file.read_text(encoding="utf-8").splitlines():
        user, token = entry.split(" ", 1)
        print(f"  {user:8} {token}")
    first_user, first_token = tokens_file.read_text(encoding="utf-8").splitlines()[0].split(" ", 1)
    print("Try:")
    print(
        f"  curl -u {first_user}:{first_token}"
        f" -H 'Accept: application/taxii+json;version=2.1' http://{listen}/taxii2/\n"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
