#!/usr/bin/env bash
# ensure-servers.sh installs the server binaries pkg/localsrv runs
# (redis-server, PostgreSQL's postgres and initdb) when they are missing,
# and with --browser also the chromium the portal's browser tests drive
# (`make test` asks for it; `make run` does not need it).
# Silent when everything is present. As root it installs with apt-get;
# otherwise it prints the command to run and exits 1.
#
# The packages' own services are not needed: pkg/localsrv starts private
# servers on free ports. Without systemd apt cannot start them anyway
# (invoke-rc.d is refused), which does not fail the install.
set -euo pipefail

missing=()
browser=false
[[ ${1:-} == --browser ]] && browser=true

has_postgres() {
	if command -v postgres >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
		return 0
	fi
	local dir
	for dir in /usr/lib/postgresql/*/bin; do
		if [[ -x "$dir/postgres" && -x "$dir/initdb" ]]; then
			return 0
		fi
	done
	return 1
}

command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
has_postgres || missing+=(postgresql)
if $browser; then
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "ensure-servers: missing ${missing[*]}; install with:" >&2
	echo "  sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-servers: missing ${missing[*]} and no apt-get; install them with your package manager" >&2
	exit 1
fi

echo "ensure-servers: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
# apt's output is shown only when it fails.
quiet() {
	if ! "$@" >"$apt_log" 2>&1; then
		cat "$apt_log" >&2
		echo "ensure-servers: $* failed" >&2
		exit 1
	fi
}
quiet apt-get update
quiet apt-get install -y --no-install-recommends "${missing[@]}"

# Stop and disable the packages' default services if an init system
# started them: they hold ports 6379 and 5432 and are not what Pave runs.
for svc in redis-server postgresql; do
	if [[ -d /run/systemd/system ]]; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	elif [[ -x /etc/init.d/$svc ]]; then
		"/etc/init.d/$svc" stop >/dev/null 2>&1 || true
	fi
done
echo "ensure-servers: installed ${missing[*]}" >&2
