#!/usr/bin/env bash
# Run a command with KAKEHASHI_TEST_POSTGRES_DSN pointing at a throwaway PostgreSQL.
#
# If the variable is already set, the command runs against that server. Otherwise, when
# Debian's PostgreSQL server binaries are installed, a cluster is created in a temporary
# folder (Unix socket only, no TCP), and stopped and deleted when the command ends. Without
# the binaries the command runs without the variable and PostgreSQL tests are skipped,
# unless KAKEHASHI_REQUIRE_POSTGRES=1 (set by CI), which makes them fail instead.
set -euo pipefail

if [[ -n "${KAKEHASHI_TEST_POSTGRES_DSN:-}" ]]; then
    exec "$@"
fi

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then bindir="$candidate"; break; fi
done
if [[ -z "$bindir" ]] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    bindir="$(dirname "$(command -v initdb)")"
fi
if [[ -z "$bindir" ]]; then
    echo "with-postgres: no PostgreSQL server binaries found; PostgreSQL tests will not run" >&2
    exec "$@"
fi

workdir="$(mktemp -d /tmp/kakehashi-pg.XXXXXX)"
run_as=()
if [[ "$(id -u)" == "0" ]]; then
    # initdb refuses to run as root: use the postgres account Debian's package creates.
    user="postgres"
    id "$user" >/dev/null 2>&1 || user="nobody"
    chown "$user" "$workdir"
    run_as=(runuser -u "$user" --)
fi

cleanup() {
    "${run_as[@]}" "$bindir/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$workdir"
}
trap cleanup EXIT

"${run_as[@]}" "$bindir/initdb" -D "$workdir/data" -A trust -U kakehashi -E UTF8 >"$workdir/initdb.log" 2>&1 \
    || { cat "$workdir/initdb.log" >&2; exit 1; }
"${run_as[@]}" "$bindir/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -t 60 \
    -o "-k $workdir -c listen_addresses='' -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$workdir/server.log" >&2; exit 1; }

export KAKEHASHI_TEST_POSTGRES_DSN="postgresql://kakehashi@/postgres?host=$workdir"
echo "with-postgres: throwaway PostgreSQL ($("$bindir/postgres" --version)) at $workdir" >&2
set +e
"$@"
status=$?
set -e
exit $status
