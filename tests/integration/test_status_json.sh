#!/usr/bin/env bash
# `smbxctl status` and `status --json` with more sessions and open files than one
# 16 KiB control-ring slot holds (the reply then comes in parts):
#  - 150 impacket sessions, each holding a file with a 200-byte name open (about 40 KB
#    of open-file entries): text and JSON list every one of them;
#  - the JSON parses with python3's json, has the documented keys and types, and
#    matches the text form row for row (sessions, opens, data-path counters);
#  - a non-ASCII file name comes through the JSON intact;
#  - after the clients let go: 0 sessions, 0 open files in both forms.
source "$(dirname "$0")/lib.sh"

[ "$SMBX_TEST_SERVER" = smbx ] || skip_test "smbxctl is smbx's own tool"
"$IMPACKET_PY" -c 'import impacket' 2>/dev/null ||
    { fail "$IMPACKET_PY cannot import impacket (install python3-impacket)"; finish; }

N=150
smbx_init
smbx_config
smbx_add_user alice
smbx_start

PREFIX="held-$(printf 'x%.0s' $(seq 1 190))-é"
mkfifo "$T/release.fifo"
timeout -k 5 300 "$IMPACKET_PY" "$LIB_DIR/status_many_sessions.py" "$PORT" alice "$ALICE_PASS" \
    share "$N" "$PREFIX" <"$T/release.fifo" >"$T/holder.out" 2>&1 &
HOLDER_PID=$!
CLEANUP_PIDS+=("$HOLDER_PID")
exec 7>"$T/release.fifo"
deadline=$((SECONDS + 240))
until grep -q '^ready' "$T/holder.out" 2>/dev/null || ! kill -0 "$HOLDER_PID" 2>/dev/null ||
    [ $SECONDS -ge $deadline ]; do sleep 0.5; done
check_output "$N impacket sessions hold a file open each" "^ready $N\$" cat "$T/holder.out"

smbxctl status >"$T/status.txt" 2>&1
smbxctl status --json >"$T/status.json" 2>"$T/status.err"
assert_match "text status lists $N sessions" "^sessions: $N\$" "$(cat "$T/status.txt")"
assert_match "text status lists $N open files" "^open files: $N\$" "$(cat "$T/status.txt")"
assert_eq "text status has a row per open file" "$N" "$(grep -c -- "$PREFIX" "$T/status.txt")"

# The JSON against the text: same sessions, same opens, same counters, in order.
check "status --json parses and matches the text form" \
    python3 - "$T/status.json" "$T/status.txt" "$N" "$PREFIX" <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
text = open(sys.argv[2], encoding="utf-8").read().splitlines()
n, prefix = int(sys.argv[3]), sys.argv[4]
assert set(doc) == {"dataplane_pid", "sessions", "open_files", "data_path"}, sorted(doc)
assert isinstance(doc["dataplane_pid"], int) and doc["dataplane_pid"] > 0
assert text[0] == "data plane pid %d" % doc["dataplane_pid"], text[0]
ss, os_, dp = doc["sessions"], doc["open_files"], doc["data_path"]
assert len(ss) == n and len(os_) == n, (len(ss), len(os_))
for s in ss:
    assert set(s) == {"session_id", "user", "client", "dialect", "signing", "encryption"}, s
    assert re.fullmatch(r"0x[0-9a-f]{16}", s["session_id"]) and s["user"] == "alice", s
    assert s["dialect"] == "3.0" and isinstance(s["signing"], bool), s
assert len({s["session_id"] for s in ss}) == n
assert sorted(o["path"] for o in os_) == sorted("%s-%d" % (prefix, i) for i in range(n))
assert {o["session_id"] for o in os_} == {s["session_id"] for s in ss}
# The text form's rows, parsed back.
i = text.index("sessions: %d" % n) + 2
rows = [l.split() for l in text[i:i + n]]
yn = lambda b: "yes" if b else "no"
assert rows == [[s["session_id"], s["user"], s["client"], s["dialect"], yn(s["signing"]),
                 yn(s["encryption"])] for s in ss], rows[:2]
# impacket asks for no oplock or lease: nothing cached, "-" in the text form.
assert all(o["caching"] == "" for o in os_), os_[:2]
i = text.index("open files: %d" % n) + 2
rows = [l.split() for l in text[i:i + n]]
assert rows == [[o["session_id"], o["share"], o["path"], "-"] for o in os_], rows[:2]
i = text.index("data path:") + 1
assert [l.split() for l in text[i:]] == [[k, str(v)] for k, v in dp.items()]
assert dp and all(isinstance(v, int) for v in dp.values())
PY

printf 'go\n' >&7
exec 7>&-
wait "$HOLDER_PID" 2>/dev/null
deadline=$((SECONDS + 20))
until OUT=$(smbxctl status --json 2>&1) &&
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(bool(d["sessions"] or d["open_files"]))' "$OUT" ||
    [ $SECONDS -ge $deadline ]; do sleep 0.3; done
check "after the clients let go: no session and no open file in the JSON" \
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["sessions"] == [] and d["open_files"] == [], d' "$OUT"
check_output "after the clients let go: 0 sessions in the text" '^sessions: 0$' smbxctl status
check_fails "status --json with an extra argument is refused" smbxctl status --json extra

finish
