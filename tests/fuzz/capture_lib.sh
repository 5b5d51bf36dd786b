# What the seed capture scripts (capture_*.sh) share: tests/integration/lib.sh, and a
# private smbx on a free loopback port with user alice and SMBX_CAPTURE_DIR set, so
# that every message it receives lands in $SMBX_CAPTURE_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

capture_start() {
    smbx_init
    smbx_config
    smbx_add_user alice
    export SMBX_CAPTURE_DIR="$T/capture"
    mkdir -p "$SMBX_CAPTURE_DIR"
    smbx_start
}
