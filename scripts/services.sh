#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer; start either if
# it is down; fail loudly if it still cannot be reached.
set -uo pipefail

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() {
  python3 - <<'PY' 2>/dev/null
import socket
s = socket.create_connection(("127.0.0.1", 6379), timeout=2)
s.sendall(b"PING\r\n")
raise SystemExit(0 if s.recv(16).startswith(b"+PONG") else 1)
PY
}

wait_for() {
  local check=$1
  for _ in $(seq 1 30); do "$check" && return 0; sleep 1; done
  return 1
}

if ! postgres_up; then
  echo "PostgreSQL is down; starting it."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  wait_for postgres_up || { echo "ERROR: PostgreSQL on 127.0.0.1:5432 cannot be reached." >&2; exit 1; }
fi

if ! redis_up; then
  echo "Redis is down; starting it."
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for redis_up || { echo "ERROR: Redis on 127.0.0.1:6379 cannot be reached." >&2; exit 1; }
fi
echo "PostgreSQL and Redis are up."
