# Shared by the benchmark scripts (sourced, not run): a graph-sim for them and the bridge config
# that points at it and at the test stack whose env file the caller has sourced.

# start_bench_sim TARGET_DIR WORK [graph-sim flags…]: starts graph-sim on a free port with the
# benchmarks' tenant, client and secret, app-only decisions allowed (the identity that decides does
# not change the timing); sets sim_pid and sim_url.
start_bench_sim() {
    local target="$1" work="$2"
    shift 2
    "$target/graph-sim" --listen 127.0.0.1:0 --tenant bench --client-id bench-app \
        --client-secret bench-secret --decisions any "$@" \
        >"$work/sim.out" 2>"$work/sim.log" &
    sim_pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$work/sim.out" 2>/dev/null && break; sleep 0.05; done
    sim_url=$(sed -n 's/^listening on //p' "$work/sim.out" | head -n1)
}

# write_bench_config FILE BRIDGE SIM_URL [extra [imap] lines…]: the bridge's config for mailbox
# BRIDGE on the stack, Graph at SIM_URL, the journal beside FILE.
write_bench_config() {
    local file="$1" bridge="$2" sim="$3"
    shift 3
    local extra
    extra="$(printf '%s\n' "$@")"
    cat >"$file" <<TOML
[imap]
host = "127.0.0.1"
port = $RB_IMAP_PORT
tls = "starttls"
ca_file = "$RB_CA_FILE"
username = "$bridge"
password = "$RB_PASSWORD"
$extra

[smtp]
host = "127.0.0.1"
port = $RB_SUBMISSION_PORT
tls = "starttls"
ca_file = "$RB_CA_FILE"
username = "$bridge"
password = "$RB_PASSWORD"
from = "Approvals <$bridge>"

[graph]
base_url = "$sim/beta"
authority = "$sim"
tenant_id = "bench"
client_id = "bench-app"
client_secret = "bench-secret"

[approvers]
allowed = ["@example.test"]
trusted_authserv_id = "mx.example.test"

[state]
path = "state.db"
TOML
}
