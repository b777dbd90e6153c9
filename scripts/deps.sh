#!/bin/sh
# Install what GoDocker's build, tests and demo need on Debian, and make
# sure a Docker engine answers. Idempotent: installs only what is missing,
# starts dockerd only when no engine answers.
set -eu

need=""
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_file() { [ -e "$1" ]; }
have_cmd dockerd || need="$need docker.io"
have_file /bin/busybox || need="$need busybox-static"
have_file /bin/bash-static || need="$need bash-static"
have_cmd redis-server || need="$need redis-server"
have_cmd ssh || need="$need openssh-client"
have_cmd tmux || need="$need tmux"
have_cmd groff || need="$need groff-base"
have_cmd useradd || need="$need passwd"

if [ -n "$need" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing:$need — run make deps as root (or apt-get install$need)" >&2
		exit 1
	fi
	echo "deps: installing$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

if docker info >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: no Docker engine answers and only root can start one: sudo make deps" >&2
	exit 1
fi
log=/var/log/godocker-dockerd.log
echo "deps: starting dockerd in the background (log: $log)"
nohup dockerd >"$log" 2>&1 &
i=0
until docker info >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 60 ]; then
		echo "deps: dockerd did not answer within 60 s; its log:" >&2
		tail -n 30 "$log" >&2 || true
		exit 1
	fi
	sleep 1
done
echo "deps: Docker engine ready"
