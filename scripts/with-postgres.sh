#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server beside it, then stops the server and deletes
# its data whatever the command's outcome. The command sees (what the store's conformance suite
# reads), and exits with the command's status:
#   APIOPS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/apiops_test?sslmode=disable
#   APIOPS_TEST_POSTGRES_TLS_URL=postgres://postgres@localhost:PORT/apiops_test?sslmode=verify-full&sslrootcert=TMP/tls/ca.pem
#   APIOPS_TEST_POSTGRES_WRONG_CA=TMP/tls/wrong-ca.pem      (a CA that did not sign the server's certificate)
#   APIOPS_TEST_POSTGRES_WRONG_HOST_URL=...127.0.0.2...     (Linux only: a host the certificate does not name)
# The TLS ones only when the `openssl` command is found (it makes the throwaway CA and the
# server's certificate, for localhost and 127.0.0.1).
#
# Usage: bash scripts/with-postgres.sh COMMAND [ARGS...]
#   e.g. bash scripts/with-postgres.sh cargo nextest run -p apiops-store
#        bash scripts/with-postgres.sh --check   (exit 0 when the server binaries are found)
#
# The server: a fresh cluster in a temporary directory, listening on 127.0.0.1 only (trust
# authentication for 127.0.0.1 and the private Unix socket, nothing else), fsync and
# synchronous_commit on, on the first free port from APIOPS_PG_PORT (default 55432). It needs
# the server binaries (initdb, pg_ctl, postgres: found on PATH, in /usr/local/bin or in
# /usr/lib/postgresql/*/bin), createdb or psql, and for TLS the openssl command. As root it runs the server as the `postgres`
# user (PostgreSQL refuses to run as root); otherwise as the current user.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARGS...] | --check" >&2
  exit 2
fi

caller_dir=$PWD

say() { echo "with-postgres: $*" >&2; }
die() { say "$*"; exit 1; }

# --- the binaries -----------------------------------------------------------------------------
find_bindir() {
  local initdb
  if initdb=$(command -v initdb 2>/dev/null) || { [[ -x /usr/local/bin/initdb ]] && initdb=/usr/local/bin/initdb; }; then
    dirname "$(readlink -f "$initdb")"
    return 0
  fi
  local d
  # Newest version first.
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -rn); do
    if [[ -x $d/initdb ]]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}
bindir=$(find_bindir) || die "initdb not found (install the PostgreSQL server, e.g. postgresql-15)"
for tool in initdb pg_ctl postgres; do
  [[ -x $bindir/$tool ]] || die "$bindir/$tool not found next to initdb"
done
if [[ $1 == --check ]]; then
  echo "PostgreSQL server binaries in $bindir"
  exit 0
fi
tool() { # the named client tool: next to the server, else on PATH
  if [[ -x $bindir/$1 ]]; then echo "$bindir/$1"; else command -v "$1" 2>/dev/null; fi
}

# --- who runs the server ------------------------------------------------------------------------
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user to run the server as"
  if command -v runuser >/dev/null 2>&1; then
    as_pg() { runuser -u postgres -- "$@"; }
  else
    as_pg() { su -s /bin/sh postgres -c "$(printf '%q ' "$@")"; }
  fi
  pg_user=postgres
else
  as_pg() { "$@"; }
  pg_user=$(id -un)
fi

# --- the cluster --------------------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/apiops-pg.XXXXXX")
data=$tmp/data
sock=$tmp/sock
log=$tmp/server.log
started=0

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ $started -eq 1 ]]; then
    if ! as_pg "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1; then
      # pg_ctl could not stop it: end the server we started, by its pid.
      local pid
      pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)
      if [[ $pid =~ ^[0-9]+$ ]]; then
        say "pg_ctl stop failed; sending SIGQUIT to the server (pid $pid)"
        kill -QUIT "$pid" 2>/dev/null || true
      fi
    fi
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$sock"

# --- TLS: a throwaway CA, the server's certificate it signs, and a second, unrelated CA --------
tls=$tmp/tls
make_tls() {
  mkdir -p "$tls"
  # Minimal configurations of our own: no dependence on the system's openssl.cnf.
  cat >"$tls/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = apiops throwaway test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  cat >"$tls/server.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
EOF
  cat >"$tls/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
EOF
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -config "$tls/ca.cnf" -days 3 \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" &&
    openssl req -x509 "${ec[@]}" -config "$tls/ca.cnf" -subj "/CN=apiops unrelated test CA" \
      -days 3 -keyout "$tls/wrong-ca.key" -out "$tls/wrong-ca.pem" &&
    openssl req -new "${ec[@]}" -config "$tls/server.cnf" \
      -keyout "$tls/server.key" -out "$tls/server.csr" &&
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
      -set_serial "$((RANDOM * 32768 + RANDOM + 1))" -days 3 -extfile "$tls/server.ext" \
      -out "$tls/server.crt" &&
    chmod 600 "$tls/server.key" "$tls/ca.key" "$tls/wrong-ca.key"
}
with_tls=0
if ! command -v openssl >/dev/null 2>&1; then
  say "warning: the openssl command is not found: the server runs without TLS and APIOPS_TEST_POSTGRES_TLS_URL is not set"
elif make_tls >"$tmp/tls.log" 2>&1; then
  with_tls=1
else
  cat "$tmp/tls.log" >&2
  die "could not make the test certificates (log above)"
fi
# A second loopback address, where the server's certificate names the wrong host (Linux
# routes all of 127.0.0.0/8 to the loopback interface; elsewhere it may not exist).
other_host=""
if [[ $with_tls -eq 1 && $(uname -s) == Linux ]]; then other_host=127.0.0.2; fi

if [[ $pg_user == postgres && $(id -u) -eq 0 ]]; then
  chown -R postgres: "$tmp"
fi
chmod 700 "$tmp" "$sock"

# Run from the temporary directory: the server's user may not be allowed into the caller's.
cd "$tmp"
# --no-sync: only initdb's own files are written without fsync (a throwaway cluster); the
# server itself runs with fsync on.
if ! as_pg "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$tmp/initdb.log" 2>&1; then
  cat "$tmp/initdb.log" >&2
  die "initdb failed"
fi
# Trust only loopback TCP and the private socket directory (mode 700, the server's user's).
cat >"$data/pg_hba.conf" <<'EOF'
local all all trust
host  all all 127.0.0.1/32 trust
EOF
if [[ -n $other_host ]]; then echo "host  all all $other_host/32 trust" >>"$data/pg_hba.conf"; fi
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1${other_host:+,$other_host}'
unix_socket_directories = '$sock'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
EOF
if [[ $with_tls -eq 1 ]]; then
  # Plain connections stay allowed (the plain URL says sslmode=disable).
  cat >>"$data/postgresql.conf" <<EOF
ssl = on
ssl_cert_file = '$tls/server.crt'
ssl_key_file = '$tls/server.key'
EOF
fi
if [[ $(id -u) -eq 0 ]]; then chown postgres: "$data/pg_hba.conf" "$data/postgresql.conf"; fi

port_busy_at() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
port_busy() { port_busy_at 127.0.0.1 "$1"; }

port=${APIOPS_PG_PORT:-55432}
last=$((port + 50))
while :; do
  if [[ $port -gt $last ]]; then
    die "no free port in ${APIOPS_PG_PORT:-55432}..$last"
  fi
  if port_busy "$port"; then
    port=$((port + 1))
    continue
  fi
  started=1 # from here on, cleanup stops whatever may have started
  # -w: pg_ctl returns once the server accepts connections (or fails), at most -t seconds.
  if as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 -o "-p $port -c fsync=on" start >/dev/null 2>&1; then
    break
  fi
  if grep -q "could not bind\|Address already in use" "$log" 2>/dev/null; then
    # Another process took the port between the check and the start: try the next one.
    port=$((port + 1))
    continue
  fi
  cat "$log" >&2 2>/dev/null || true
  die "the PostgreSQL server did not start (log above)"
done

# Belt and braces: wait, bounded, until it answers on the TCP port the tests use.
pg_isready=$(tool pg_isready) || pg_isready=""
ready=0
for _ in $(seq 1 100); do
  if [[ -n $pg_isready ]]; then
    if "$pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then ready=1; break; fi
  elif port_busy "$port"; then
    ready=1
    break
  fi
  sleep 0.1
done
if [[ $ready -ne 1 ]]; then
  cat "$log" >&2 2>/dev/null || true
  die "the PostgreSQL server does not answer on 127.0.0.1:$port"
fi

if createdb=$(tool createdb); then
  "$createdb" -h 127.0.0.1 -p "$port" -U postgres apiops_test || die "could not create the database apiops_test"
elif psql=$(tool psql); then
  "$psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'CREATE DATABASE apiops_test' \
    || die "could not create the database apiops_test"
else
  die "neither createdb nor psql found to create the test database"
fi

export APIOPS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/apiops_test?sslmode=disable"
say "$("$bindir/postgres" --version) on 127.0.0.1:$port (data in $data); APIOPS_TEST_POSTGRES_URL=$APIOPS_TEST_POSTGRES_URL"
if [[ $with_tls -eq 1 ]]; then
  export APIOPS_TEST_POSTGRES_TLS_URL="postgres://postgres@localhost:$port/apiops_test?sslmode=verify-full&sslrootcert=$tls/ca.pem"
  export APIOPS_TEST_POSTGRES_WRONG_CA="$tls/wrong-ca.pem"
  say "TLS: APIOPS_TEST_POSTGRES_TLS_URL=$APIOPS_TEST_POSTGRES_TLS_URL"
  if [[ -n $other_host ]] && port_busy_at "$other_host" "$port"; then
    export APIOPS_TEST_POSTGRES_WRONG_HOST_URL="postgres://postgres@$other_host:$port/apiops_test?sslmode=verify-full&sslrootcert=$tls/ca.pem"
  fi
fi

# Back to where the caller was, then run the command (not exec: the trap must stop the server).
cd "$caller_dir"
set +e
"$@"
rc=$?
set -e
exit "$rc"
