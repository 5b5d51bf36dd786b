#!/usr/bin/env bash
# deploy/quickstart.sh: from a fresh Debian 12 checkout to a running smbx.
#
#   sudo deploy/quickstart.sh
#
# Installs the dependencies (deploy/install-deps.sh), builds into build/, creates
# /var/lib/smbx/share and /var/lib/smbx/private, adds a user and runs smbx-control
# in the foreground with its built-in default configuration: share [share] =
# /var/lib/smbx/share on 127.0.0.1 port 445. Ctrl-C stops it.
#
#   SMBX_USER=name        the user to create (default: smbx)
#   SMBX_PASSWORD=secret  its password (default: generated and printed once); for an
#                         existing user, setting it changes the password
#   SMBX_NO_START=1       set everything up but do not start the server
#   SMBX_JOBS=N           build parallelism (default: number of CPUs)
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
    exec sudo --preserve-env=SMBX_USER,SMBX_PASSWORD,SMBX_NO_START,SMBX_JOBS "$0" "$@"
fi
cd "$SRC"
USER_NAME=${SMBX_USER:-smbx}
BASE=/var/lib/smbx

echo "==> installing dependencies"
bash deploy/install-deps.sh

echo "==> building into $SRC/build"
mkdir -p build
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMBX_WERROR=OFF -DSMBX_SANITIZE= -DSMBX_FUZZ=OFF &&
       cmake --build build -j "${SMBX_JOBS:-$(nproc)}" --target smbx-control smbx-dataplane smbxctl
     } >build/quickstart-build.log 2>&1; then
    grep -E -A5 'error' build/quickstart-build.log | head -n 60 || tail -n 40 build/quickstart-build.log
    echo "build failed; full log: $SRC/build/quickstart-build.log" >&2
    exit 1
fi

echo "==> creating $BASE/share and $BASE/private"
install -d -m 0755 "$BASE/share"
install -d -m 0700 "$BASE/private"

created_pw=""
if build/smbxctl user list 2>/dev/null | grep -qix -- "$USER_NAME"; then
    if [ -n "${SMBX_PASSWORD:-}" ]; then
        printf '%s\n' "$SMBX_PASSWORD" | build/smbxctl user passwd "$USER_NAME"
        echo "==> user '$USER_NAME' exists; password set from \$SMBX_PASSWORD"
    else
        echo "==> user '$USER_NAME' exists; password unchanged"
    fi
else
    pw=${SMBX_PASSWORD:-}
    if [ -z "$pw" ]; then
        pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
        created_pw=$pw
    fi
    printf '%s\n' "$pw" | build/smbxctl user add "$USER_NAME"
    echo "==> user '$USER_NAME' created"
fi
if [ -n "$created_pw" ]; then
    echo
    echo "    password for $USER_NAME (shown once): $created_pw"
fi

cat <<EOF

==> try it, from another terminal:
    smbclient //127.0.0.1/share -U $USER_NAME -m SMB3 -c 'ls'
    smbclient //127.0.0.1/share -U $USER_NAME -m SMB3 --client-protection=encrypt
    $SRC/build/smbxctl status

EOF

if [ "${SMBX_NO_START:-0}" = 1 ]; then
    echo "SMBX_NO_START=1: not starting. Run: $SRC/build/smbx-control"
    exit 0
fi
if ss -Hltn '( sport = :445 )' 2>/dev/null | grep -q .; then
    echo "port 445 is already in use (is Samba's smbd running? 'systemctl stop smbd')" >&2
    exit 1
fi
echo "==> starting smbx-control on 127.0.0.1:445 (Ctrl-C stops it)"
exec build/smbx-control
