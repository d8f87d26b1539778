#!/usr/bin/env bash
# install-deps.sh — installs, with apt-get, whatever the build, the tests and
# the local PostgreSQL need and is missing.  Idempotent and non-interactive;
# when everything is there it only asks dpkg and returns.
#
#   scripts/install-deps.sh [--extra]    --extra: also the fuzzing/valgrind/format tools
set -euo pipefail

packages=(
	gcc make pkg-config
	libpq-dev libcsv-dev zlib1g-dev libssl-dev libcmocka-dev
	postgresql-15 postgresql-client-15 pgbouncer
	python3 util-linux procps gzip time man-db
)
if [ "${1:-}" = "--extra" ]; then
	packages+=(clang libclang-rt-14-dev valgrind clang-format)
fi

missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null |
	awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }' || true)
for p in "${packages[@]}"; do
	grep -qx "$p" <<<"$installed" || missing+=("$p")
done
# Any PostgreSQL server version will do when 15 is not packaged here.
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	missing=("${missing[@]/postgresql-15/}")
	missing=("${missing[@]/postgresql-client-15/}")
fi
read -r -a missing <<<"${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || {
		echo "install-deps: not root and no sudo; please install: ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
