#!/usr/bin/env bash
# Runs Surge's tests against throw-away servers shared by the whole run: one
# PostgreSQL, one Redis (when installed) and one standalone nats-server, all
# on loopback, on random ports, in a temporary directory, and all stopped on
# exit. Tests find them through the SURGE_TEST_* variables exported here.
#
# Arguments replace the default package list ./..., for example:
#   scripts/test.sh -run TestPostgres ./internal/store/...
# With CI set, a missing PostgreSQL or Redis is an error rather than a skip.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp=$(mktemp -d "${TMPDIR:-/tmp}/surge-test.XXXXXX")
pg_bin="" pg_data="" pg_user="" redis_pid="" nats_pid=""

die() {
	echo "test.sh: $*" >&2
	exit 1
}

in_ci() {
	[[ -n ${CI:-} ]]
}

# cleanup stops every server this script started and keeps the exit status.
# It runs without errexit: a failed stop must not skip the rest.
cleanup() {
	local status=$?
	set +e
	if [[ -n $nats_pid ]]; then stop_pid "$nats_pid"; fi
	if [[ -n $redis_pid ]]; then stop_pid "$redis_pid"; fi
	if [[ -n $pg_data ]]; then stop_postgres; fi
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port prints a random loopback port that nothing listens on right now.
# Another process may take it before the server binds, so starts are retried.
free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
}

# wait_until polls a command for up to 60 seconds, giving up early if the
# server with the given pid has exited.
wait_until() {
	local pid=$1 deadline=$((SECONDS + 60))
	shift
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)) || ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
}

# stop_pid asks a server to exit, waits up to 30 seconds, then kills it.
# Bash reaps its exited children, so kill -0 fails once the server is gone.
stop_pid() {
	local pid=$1 deadline=$((SECONDS + 30))
	kill -TERM "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			echo "test.sh: pid $pid ignored SIGTERM; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
}

# as_pg_user runs a PostgreSQL program as the server's user, because
# PostgreSQL refuses to run as root.
as_pg_user() {
	if [[ -z $pg_user ]]; then
		"$@"
	elif command -v runuser >/dev/null; then
		runuser -u "$pg_user" -- "$@"
	else
		setpriv --reuid="$pg_user" --regid="$pg_user" --clear-groups -- "$@"
	fi
}

# pg_bin_dir prints the directory of pg_ctl and initdb: beside pg_ctl on
# PATH, else the newest /usr/lib/postgresql/N/bin.
pg_bin_dir() {
	local dir
	if dir=$(command -v pg_ctl); then
		dir=$(dirname "$(readlink -f "$dir")")
		if [[ -x $dir/initdb ]]; then
			echo "$dir"
			return 0
		fi
	fi
	for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [[ -x $dir/pg_ctl && -x $dir/initdb ]]; then
			echo "$dir"
			return 0
		fi
	done
	return 1
}

start_postgres() {
	if ! pg_bin=$(pg_bin_dir); then
		pg_bin=""
		in_ci && die "PostgreSQL is required in CI: no pg_ctl and initdb found"
		echo "postgres: not installed; PostgreSQL tests will skip"
		return 0
	fi
	local dir=$tmp/postgres port started=""
	mkdir "$dir"
	pg_data=$dir/data
	if ((EUID == 0)); then
		pg_user=postgres
		id postgres >/dev/null 2>&1 || pg_user=nobody
		chmod 711 "$tmp"
		chown "$pg_user:$(id -g "$pg_user")" "$dir"
	fi
	if ! as_pg_user "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust -E UTF8 \
		--no-locale --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		die "initdb failed"
	fi
	# The default socket directory may not exist or be writable here.
	cat >>"$pg_data/postgresql.conf" <<-CONF
		listen_addresses = '127.0.0.1'
		unix_socket_directories = ''
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_connections = 500
	CONF
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		echo "port = $port" >>"$pg_data/postgresql.conf"
		if as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
			started=yes
			break
		fi
	done
	if [[ -z $started ]] || ! wait_until "$(head -n1 "$pg_data/postmaster.pid")" \
		"$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
		tail -n 50 "$dir/postgres.log" >&2
		die "PostgreSQL did not start"
	fi
	export SURGE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	echo "postgres: 127.0.0.1:$port ($("$pg_bin/postgres" --version), as ${pg_user:-$(id -un)})"
}

# stop_postgres stops the server, killing the postmaster's process group (pg_ctl
# made it a group leader) if pg_ctl cannot.
stop_postgres() {
	local pid
	[[ -f $pg_data/postmaster.pid ]] || return 0
	pid=$(head -n1 "$pg_data/postmaster.pid")
	if as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" stop -m immediate -w -t 60 >/dev/null 2>&1; then
		return 0
	fi
	echo "test.sh: pg_ctl stop failed; killing postmaster $pid" >&2
	kill -KILL -- "-$pid" 2>/dev/null || true
}

redis_ping() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1"
		printf 'PING\r\n' >&3
		IFS= read -r -t 5 reply <&3
		[[ $reply == +PONG* ]]
	) 2>/dev/null
}

start_redis() {
	local bin dir=$tmp/redis port
	if ! bin=$(command -v redis-server); then
		in_ci && die "Redis is required in CI: no redis-server found"
		echo "redis: not installed; Redis tests will skip"
		return 0
	fi
	mkdir "$dir"
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		# Tests lease a database each, so there must be plenty.
		"$bin" --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
			--dir "$dir" --databases 1024 --daemonize no >>"$dir/redis.log" 2>&1 &
		redis_pid=$!
		if wait_until "$redis_pid" redis_ping "$port"; then
			export SURGE_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
			echo "redis: 127.0.0.1:$port ($("$bin" --version | cut -d' ' -f1-3))"
			return 0
		fi
		stop_pid "$redis_pid"
		redis_pid=""
	done
	tail -n 50 "$dir/redis.log" >&2
	die "redis-server did not start"
}

# nats_ready reads the INFO greeting and checks JetStream is on.
nats_ready() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1"
		IFS= read -r -t 5 info <&3
		[[ $info == INFO* && $info == *'"jetstream":true'* ]]
	) 2>/dev/null
}

start_nats() {
	local bin=$tmp/nats-server dir=$tmp/nats port
	go build -o "$bin" github.com/nats-io/nats-server/v2 || die "cannot build nats-server"
	export SURGE_TEST_NATS_SERVER_BIN=$bin
	mkdir "$dir"
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		"$bin" -a 127.0.0.1 -p "$port" -js -sd "$dir/jetstream" >>"$dir/nats-server.log" 2>&1 &
		nats_pid=$!
		if wait_until "$nats_pid" nats_ready "$port"; then
			export SURGE_TEST_NATS_URL="nats://127.0.0.1:$port"
			echo "nats: 127.0.0.1:$port ($("$bin" --version), JetStream)"
			return 0
		fi
		stop_pid "$nats_pid"
		nats_pid=""
	done
	tail -n 50 "$dir/nats-server.log" >&2
	die "nats-server did not start"
}

start_postgres
start_redis
start_nats

if (($# == 0)); then
	set -- ./...
fi
# RACE= (empty) runs without the race detector, for long explorer runs
# where it costs five times the seeds; the default and CI keep it.
race=${RACE--race}
go test $race -count=1 -timeout 25m "$@"
