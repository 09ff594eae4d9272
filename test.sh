#!/usr/bin/env bash
# Runs the whole test suite: installs the real servers the tests use when
# they are missing (Dovecot, Postfix tools, swaks, Chromium, PostgreSQL), checks formatting and vet,
# then go test -race. With CI=true the real-server tests may not skip.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v dovecot >/dev/null || need+=(dovecot-imapd)
[ -x /usr/sbin/smtp-sink ] || need+=(postfix)
command -v swaks >/dev/null || need+=(swaks)
command -v chromium >/dev/null || need+=(chromium) # the customer view's browser test (web)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql) # the PostgreSQL store (internal/testenv/postgres; postgresql-contrib is in it)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "installing ${need[*]}"
		apt-get update -qq
		# policy-rc.d keeps the freshly installed Postfix and Dovecot from
		# starting as system services (port 25/143): the tests start their own.
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.casemail
		chmod +x /usr/sbin/policy-rc.d.casemail
		had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
		[ $had_policy = 1 ] || cp /usr/sbin/policy-rc.d.casemail /usr/sbin/policy-rc.d
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
		[ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
		rm -f /usr/sbin/policy-rc.d.casemail
	else
		if [ "${CI:-}" = true ]; then
			echo "missing ${need[*]}: with CI=true the real-server tests will fail (run as root to install them)" >&2
		else
			echo "missing ${need[*]}: the real-server tests will skip (run as root to install them)" >&2
		fi
	fi
fi
export PATH="$PATH:/usr/sbin"

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt -l is not empty:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -race -count=1 -timeout 15m ./...
