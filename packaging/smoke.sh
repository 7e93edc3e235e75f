#!/usr/bin/env bash
# Installs the built .deb and runs the INSTALLED program offscreen: --version, then the demo in smoke
# mode (window, embedded team server and sandbox as children of the same frozen binary, a conversation
# renders, the app closes and exits 0). Then checks that no workstation process was left behind.
#
#     packaging/smoke.sh [dist/workstation_<version>_<arch>.deb]
#
# Needs root or sudo (apt-get). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "smoke: FAIL: $*" >&2; exit 1; }

deb=${1:-}
if [ -z "$deb" ]; then
  debs=(dist/workstation_*.deb)
  [ -e "${debs[0]}" ] || fail "no dist/workstation_*.deb; run packaging/build_linux.sh first"
  deb=$(ls -t "${debs[@]}" | head -1)
fi
case "$deb" in /*|./*) ;; *) deb="./$deb" ;; esac  # apt-get takes a file only as a path
[ -f "$deb" ] || fail "$deb: no such file"
version=$(dpkg-deb --field "$deb" Version)
echo "== install $deb"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends --reinstall "$deb"
}
# --reinstall: the same version may already be installed from an earlier build.
if ! apt_install; then
  echo "smoke: installing failed; updating the package lists and trying again"
  $SUDO apt-get update -qq
  apt_install || fail "apt-get install $deb"
fi
[ "$(dpkg-query -W -f='${Version}' workstation)" = "$version" ] || fail "installed version is not $version"
[ -L /usr/bin/workstation ] && [ -x /opt/workstation/workstation ] || fail "/usr/bin/workstation or /opt/workstation missing"
[ -f /usr/share/applications/workstation.desktop ] || fail "desktop entry missing"
[ -f /usr/share/icons/hicolor/256x256/apps/workstation.png ] || fail "icon missing"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate /usr/share/applications/workstation.desktop || fail "desktop entry is not valid"
fi

exe=/opt/workstation/workstation
ours() {  # pids of running processes of the installed binary
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$exe" ] && echo "${p#/proc/}"
  done
  return 0
}
before=" $(ours | tr '\n' ' ') "

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/data" "$work/config"
# A clean environment: nothing from the build's venv or the caller's Python may leak in.
run() {
  (cd "$work" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work/home" LANG=C.UTF-8 \
    QT_QPA_PLATFORM=offscreen XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" "$@")
}

echo "== /usr/bin/workstation --version"
out=$(run timeout 60 /usr/bin/workstation --version) || fail "--version exited with $?"
echo "$out"
[ "$out" = "workstation $version" ] || fail "--version said '$out', expected 'workstation $version'"

echo "== /usr/bin/workstation demo --smoke --interval 0.5 1"
start=$(date +%s.%N)
set +e
run timeout --kill-after=10 120 /usr/bin/workstation demo --smoke --interval 0.5 1 >"$work/demo.log" 2>&1
code=$?
set -e
took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
cat "$work/demo.log"
[ "$code" -eq 0 ] || fail "demo --smoke exited with $code after ${took} s"
grep -q "smoke: conversation .* rendered" "$work/demo.log" || fail "no conversation rendered"
children=$(sed -n 's/.*demo children: \([0-9 ]*\)$/\1/p' "$work/demo.log")
[ -n "$children" ] || fail "the demo did not report its children"
echo "demo --smoke: exit 0 in ${took} s; children were: $children"

echo "== /usr/bin/workstation server on PostgreSQL with 2 workers (psycopg and the migrations are bundled)"
PG_URL=${WORKSTATION_SMOKE_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}
schema="smoke_$$"
if command -v psql >/dev/null && psql "$PG_URL" -qc "CREATE SCHEMA $schema" >/dev/null 2>&1; then
  port=$((20000 + RANDOM % 20000))
  run env WORKSTATION_DB_URL="$PG_URL?options=-csearch_path%3D$schema" timeout --kill-after=5 60 \
    /usr/bin/workstation server --workers 2 --port "$port" >"$work/server.log" 2>&1 &
  server=$!
  ok=""
  for _ in $(seq 200); do
    if curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.1
  done
  # $server is the subshell of run(); the supervisor is the program itself. SIGTERM must stop it and both
  # workers (the leftover check below fails otherwise).
  pkill -TERM -f "workstation server --workers 2 --port $port" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  tables=$(psql "$PG_URL" -tAc "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$schema'")
  psql "$PG_URL" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true
  [ -n "$ok" ] || { cat "$work/server.log"; fail "the server on PostgreSQL did not answer"; }
  [ "$tables" -ge 10 ] || fail "the migrations made $tables tables"
  echo "server --workers 2: healthy; migrations made $tables tables"
else
  echo "PostgreSQL not reachable at $PG_URL: skipped"
fi

echo "== leftover processes"
for _ in $(seq 50); do  # up to 5 s for the children to be reaped
  left=""
  for pid in $children; do kill -0 "$pid" 2>/dev/null && left="$left $pid"; done
  for pid in $(ours); do
    case "$before" in *" $pid "*) ;; *) left="$left $pid" ;; esac
  done
  [ -z "$left" ] && break
  sleep 0.1
done
if [ -n "$left" ]; then
  ps -o pid,ppid,etime,args -p "$(echo $left | tr ' ' ',')" >&2 || true
  fail "workstation processes left running:$left"
fi
echo "none"
echo "smoke: OK (workstation $version installed from $deb)"
