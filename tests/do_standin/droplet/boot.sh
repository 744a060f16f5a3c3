#!/bin/sh
# What a droplet's init does that matters here: sshd with the host key cloud-init installed
# (the stand-in copies it in before the container starts). Docker is not started: the
# operator's bootstrap starts it, as it would install and start it on a plain droplet.
set -e
mkdir -p /run/sshd
chmod 0600 /etc/ssh/ssh_host_*_key 2>/dev/null || true
exec /usr/sbin/sshd -D -e
