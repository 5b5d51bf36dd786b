#!/usr/bin/env bash
# smbx's metrics scraped by a real Prometheus (Debian's prometheus package):
#  - `metrics address` serves GET /metrics; `promtool check metrics` accepts the
#    exposition (names, HELP/TYPE, _total counters); `smbxctl metrics` prints the same
#    families through the admin socket; other paths get 404;
#  - Prometheus on 127.0.0.1 (private port, temp storage, scrape_interval 1s) has the
#    target up and smbx_dataplane_up 1;
#  - an smbclient session puts and gets a 4 MiB random file (compared): Prometheus sees
#    the SMB2 READ response bytes and the file-read byte counters (summed over their
#    worker series) rise by at least the bytes the client read, the WRITE request bytes
#    by at least those it wrote, successful READ responses counted, per-worker series
#    with a worker="N" label, and the session gauge at >= 1 while a session is open
#    (0 before and after);
#  - a stopped data plane (SIGSTOP): the scrape answers smbx_dataplane_up 0 in bounded
#    time, and 1 again after SIGCONT;
#  - after SIGHUP (smbx-control re-executes) the endpoint is back on its port;
#  - `metrics address` is off by default: nothing listens without it.
# Skips (77) only if prometheus is missing and cannot be installed here.
source "$(dirname "$0")/lib.sh"

[ "$SMBX_TEST_SERVER" = smbx ] || skip_test "the metrics endpoint is smbx's own"
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "prometheus missing: apt-get install prometheus"
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends \
            -o DPkg::Lock::Timeout=300 prometheus >/dev/null 2>&1
    fi
    command -v prometheus >/dev/null && command -v promtool >/dev/null ||
        skip_test "prometheus/promtool not installed and not installable (apt-get install prometheus)"
fi
command -v curl >/dev/null || { fail "curl is not installed"; finish; }

smbx_init
MPORT=$(pick_port) || exit 1
PPORT=$(pick_port) || exit 1
METRICS="http://127.0.0.1:$MPORT/metrics"
smbx_config "metrics address = 127.0.0.1:$MPORT"
smbx_add_user alice
smbx_start

# --- the endpoint itself
# (until the data plane is up: before its hello a scrape says smbx_dataplane_up 0)
deadline=$((SECONDS + 30))
until { curl -sf -o "$T/scrape1.txt" --max-time 5 "$METRICS" &&
        grep -q '^smbx_dataplane_up 1$' "$T/scrape1.txt"; } || [ $SECONDS -ge $deadline ]; do
    sleep 0.3
done
check_output "GET /metrics answers with smbx_dataplane_up 1" '^smbx_dataplane_up 1$' cat "$T/scrape1.txt"
check "promtool check metrics accepts the exposition" promtool check metrics <"$T/scrape1.txt"
check_output "the exposition has per-worker series" '^smbx_file_read_fixed_bytes_total\{worker="0"\} [0-9]+$' cat "$T/scrape1.txt"
check_output "Content-Type is Prometheus' text format 0.0.4" '^content-type: text/plain; version=0.0.4' \
    bash -c "curl -s -D - -o /dev/null --max-time 5 '$METRICS' | tr -d '\r' | tr A-Z a-z"
check_output "another path is 404" '^404$' curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$MPORT/"
check "smbxctl metrics answers" bash -c "timeout 30 '$SMBX_BUILD_DIR/smbxctl' --config '$SMBX_CONF' metrics >'$T/ctl-metrics.txt'"
assert_eq "smbxctl metrics has the same families as GET /metrics" \
    "$(grep '^# TYPE' "$T/scrape1.txt")" "$(grep '^# TYPE' "$T/ctl-metrics.txt")"
check "promtool accepts smbxctl metrics too" promtool check metrics <"$T/ctl-metrics.txt"

# --- Prometheus
mkdir -p "$T/prom-data"
cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: smbx
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
YML
timeout -k 5 600 prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom-data" \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$T/prometheus.log" 2>&1 &
PROM_PID=$!
CLEANUP_PIDS+=("$PROM_PID")
PROM="http://127.0.0.1:$PPORT"

# prom_value QUERY: the first sample's value of an instant query, or "none".
prom_value() {
    curl -s --max-time 5 --get --data-urlencode "query=$1" "$PROM/api/v1/query" |
        python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")' 2>/dev/null || echo none
}
# wait_value SECONDS QUERY PYTHON_CONDITION_ON_v: until the condition holds; the
# value is left in $V.
wait_value() {
    local deadline=$((SECONDS + $1))
    while :; do
        V=$(prom_value "$2")
        python3 -c "import sys; v=sys.argv[1]; sys.exit(0 if v != 'none' and ($3) else 1)" "$V" && return 0
        [ $SECONDS -ge $deadline ] && return 1
        kill -0 "$PROM_PID" 2>/dev/null || return 1
        sleep 0.5
    done
}
deadline=$((SECONDS + 60))
until curl -sf --max-time 2 "$PROM/-/ready" >/dev/null || ! kill -0 "$PROM_PID" 2>/dev/null ||
    [ $SECONDS -ge $deadline ]; do sleep 0.5; done
check "prometheus is ready" curl -sf --max-time 5 "$PROM/-/ready"
wait_value 30 'up{job="smbx"}' 'float(v) == 1'
assert_eq "Prometheus scrapes smbx (up == 1)" 1 "$V"
wait_value 10 'smbx_dataplane_up' 'float(v) == 1'
assert_eq "Prometheus has smbx_dataplane_up 1" 1 "$V"
READ_Q='sum(smbx_file_read_fixed_bytes_total) + sum(smbx_file_read_unregistered_bytes_total)'
wait_value 10 "$READ_Q" 'True'
BEFORE=$V
SMB_READ_Q='sum(smbx_smb2_response_bytes_total{command="read"})'
SMB_WRITE_Q='sum(smbx_smb2_request_bytes_total{command="write"})'
wait_value 10 "$SMB_READ_Q" 'True'
READ_BEFORE=$V
wait_value 10 "$SMB_WRITE_Q" 'True'
WRITE_BEFORE=$V
READ_OK_Q='sum(smbx_smb2_responses_total{command="read",status_class="success"})'
wait_value 10 "$READ_OK_Q" 'True'
READ_OK_BEFORE=$V
wait_value 10 'sum(smbx_sessions)' 'True'
assert_eq "no session before the client" 0 "$V"

# --- traffic: an smbclient session stays open (fed through a fifo) while another puts
# and gets the file
SIZE=$((4 * 1024 * 1024))
head -c "$SIZE" /dev/urandom >"$T/data.bin"
mkfifo "$T/cmd.fifo"
timeout -k 5 120 smbclient //127.0.0.1/share -p "$PORT" --configfile="$T/client.conf" \
    -m SMB3 -U "alice%$ALICE_PASS" <"$T/cmd.fifo" >"$T/session.out" 2>&1 &
SMBC_PID=$!
CLEANUP_PIDS+=("$SMBC_PID")
exec 7>"$T/cmd.fifo"
check "smbclient put and get of a $SIZE-byte file" \
    smbc share -m SMB3 -c "lcd $T; put data.bin; get data.bin back.bin"
check "the file came back unchanged" cmp "$T/data.bin" "$T/back.bin"
# (1, or 2 when a scrape caught the transfer's own session too)
ge1() { python3 -c "import sys; sys.exit(0 if sys.argv[1] != 'none' and float(sys.argv[1]) >= 1 else 1)" "$1"; }
wait_value 20 'sum(smbx_sessions)' 'float(v) >= 1'
assert_true "Prometheus' session gauge shows the open session ($V)" ge1 "$V"
wait_value 10 'sum(smbx_sessions{dialect="3.1.1"})' 'float(v) >= 1'
assert_true "... at dialect 3.1.1 ($V)" ge1 "$V"
printf 'quit\n' >&7
exec 7>&-
wait "$SMBC_PID" 2>/dev/null

wait_value 20 "$READ_Q" "float(v) - $BEFORE >= $SIZE"
log "file read bytes: before $BEFORE, after $V (client read $SIZE)"
assert_true "Prometheus: file read bytes rose by at least the $SIZE bytes read ($BEFORE -> $V)" \
    python3 -c "import sys; sys.exit(0 if float('$V') - float('$BEFORE') >= $SIZE else 1)"
wait_value 20 "$SMB_READ_Q" "float(v) - $READ_BEFORE >= $SIZE"
assert_true "Prometheus: SMB2 READ response bytes rose by at least $SIZE ($READ_BEFORE -> $V)" \
    python3 -c "import sys; sys.exit(0 if float('$V') - float('$READ_BEFORE') >= $SIZE else 1)"
wait_value 20 "$SMB_WRITE_Q" "float(v) - $WRITE_BEFORE >= $SIZE"
assert_true "Prometheus: SMB2 WRITE request bytes rose by at least $SIZE ($WRITE_BEFORE -> $V)" \
    python3 -c "import sys; sys.exit(0 if float('$V') - float('$WRITE_BEFORE') >= $SIZE else 1)"
# (smbclient reads the 4 MiB in one READ here: as many as the read size allows)
wait_value 10 "$READ_OK_Q" "float(v) - $READ_OK_BEFORE >= 1"
assert_true "Prometheus: successful SMB2 READ responses counted ($READ_OK_BEFORE -> $V)" \
    python3 -c "import sys; sys.exit(0 if float('$V') - float('$READ_OK_BEFORE') >= 1 else 1)"
wait_value 10 'count(smbx_file_read_fixed_bytes_total{worker=~"[0-9]+"})' 'float(v) >= 1'
assert_true "Prometheus has per-worker series (worker=\"N\")" test "$V" != none
wait_value 20 'sum(smbx_sessions)' 'float(v) == 0'
assert_eq "the session gauge goes back to 0 after the client quit" 0 "$V"
wait_value 10 'max_over_time(sum(smbx_sessions)[5m:1s])' 'True'
assert_true "max_over_time of the session gauge saw the session ($V)" ge1 "$V"
curl -sf --max-time 5 "$METRICS" >"$T/scrape2.txt"
check "promtool check metrics accepts the exposition after traffic" promtool check metrics <"$T/scrape2.txt"

# --- a data plane that does not answer: the scrape still comes, with smbx_dataplane_up 0
DP=$(dataplane_pid)
if assert_true "the data plane's pid is known" test -n "$DP"; then
    kill -STOP "$DP"
    check_output "with the data plane stopped a scrape says smbx_dataplane_up 0" \
        '^smbx_dataplane_up 0$' curl -s --max-time 10 "$METRICS"
    kill -CONT "$DP"
    deadline=$((SECONDS + 20))
    until curl -sf --max-time 5 "$METRICS" 2>/dev/null | grep -q '^smbx_dataplane_up 1$' ||
        [ $SECONDS -ge $deadline ]; do sleep 0.3; done
    check_output "once it runs again: smbx_dataplane_up 1, and the same data plane" \
        '^smbx_dataplane_up 1$' curl -sf --max-time 5 "$METRICS"
    assert_eq "... (not restarted)" "$DP" "$(dataplane_pid)"
fi

# --- SIGHUP re-executes smbx-control: the endpoint is bound again on the same port
kill -HUP "$SERVER_PID"
deadline=$((SECONDS + 20))
until [ "$(grep -c 'notice: metrics at ' "$SERVER_LOG")" -ge 2 ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
assert_eq "SIGHUP: smbx-control re-executed and listens for metrics again" 2 \
    "$(grep -c 'notice: metrics at ' "$SERVER_LOG")"
deadline=$((SECONDS + 20))
until curl -sf --max-time 3 "$METRICS" 2>/dev/null | grep -q '^smbx_dataplane_up 1$' ||
    [ $SECONDS -ge $deadline ]; do sleep 0.3; done
check_output "after the re-exec GET /metrics answers again" '^smbx_dataplane_up 1$' \
    curl -sf --max-time 5 "$METRICS"

# --- off by default
smbx_stop
SERVER_PID=""
smbx_config
smbx_start
check_fails "without 'metrics address' nothing serves metrics" curl -sf --max-time 3 "$METRICS"

finish
