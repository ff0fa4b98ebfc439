#!/usr/bin/env bash
# make bench: the figures the issues ask for, from Go benchmarks (never from
# timed tests). Machines are noisy: compare figures from one run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp); trap 'rm -f "$out"' EXIT

echo "== config: load + plan one profile of a generated 10,000-profile config (target < 20 ms)"
go test -run '^$' -bench 'LoadAndPlan|ProfileNames|ResolveAndPlan' -benchmem -benchtime 30x ./plan | tee "$out" | grep -E '^Benchmark'

go test -run '^$' -bench 'ListProfiles10k' -benchtime 20x ./e2e | grep -E '^Benchmark' | sed 's/$/   (whole process: rolevault list --profiles)/'

echo
echo "== warm credential path, whole processes, file keyring (targets: export --format=json within 1.3x of the floor"
echo "   without an agent, 1.0x through the agent; 1 keyring read, 0 STS calls). The floor (e2e/internal/floor) opens the"
echo "   file keyring with 99designs/keyring, reads the one item and prints a credential_process document; each figure"
echo "   is a median; x floor is the median ratio of each run to a floor run beside it, so the machine's load weighs"
echo "   on both alike. The floor is built as go build builds it (cgo on, so dynamically linked on Linux);"
echo "   rolevault as make build builds it (static on Linux, CGO_ENABLED=0); the static floor rows compare like with like."
go test -run '^$' -bench 'WarmExportJSON|WarmExecTrue|HelloWorldProcess|VersionProcess|^BenchmarkFloor$|FloorStatic|AgentWarm|DirectWarm' -benchtime 60x ./e2e | tee "$out" | grep -E '^Benchmark'
awk '
  # name -> label, in the order the table lists them; rows whose benchmark
  # did not run (the agent ones before the agent exists) are left out.
  BEGIN {
    n = split("Floor FloorStatic HelloWorldProcess VersionProcess WarmExportJSON WarmExportJSONStaticFloor WarmExecTrue WarmExportJSONSSO AgentWarmExportJSONFile DirectWarmExportJSONPass AgentWarmExportJSONPass", order, " ")
    label["Floor"] = "floor (99designs/keyring, 1 item)"
    label["FloorStatic"] = "floor built static (CGO_ENABLED=0)"
    label["WarmExportJSONStaticFloor"] = "  the same, x the static floor"
    label["HelloWorldProcess"] = "hello-world Go binary"
    label["VersionProcess"] = "rolevault --version (start-up)"
    label["WarmExportJSON"] = "rolevault export --format=json"
    label["WarmExecTrue"] = "rolevault exec P -- true"
    label["WarmExportJSONSSO"] = "export --format=json, SSO profile"
    label["AgentWarmExportJSONFile"] = "export --format=json, agent (file)"
    label["DirectWarmExportJSONPass"] = "export --format=json, no agent (pass)"
    label["AgentWarmExportJSONPass"] = "export --format=json, agent (pass)"
  }
  /^Benchmark/ {
    name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
    ns[name] = $3
    for (i = 5; i < NF; i += 2) metric[name, $(i+1)] = $i
  }
  END {
    if (!("Floor" in ns)) exit
    floorms = ("Floor", "ms-median") in metric ? metric["Floor", "ms-median"] : ns["Floor"] / 1e6
    printf "\n%-40s %9s %9s %14s\n", "", "ms/run", "x floor", "keyring reads"
    for (i = 1; i <= n; i++) {
      k = order[i]
      if (!(k in ns)) continue
      ms = ((k, "ms-median") in metric) ? metric[k, "ms-median"] : ns[k] / 1e6
      # Side by side when the benchmark ran the floor itself, else against
      # BenchmarkFloor from the same run.
      x = ((k, "x-floor") in metric) ? metric[k, "x-floor"] : ms / floorms
      if (k == "Floor") x = 1
      reads = ((k, "keyring-reads/op") in metric) ? sprintf("%d", metric[k, "keyring-reads/op"]) : "-"
      if (k == "Floor" || k == "FloorStatic") reads = 1
      if (k == "VersionProcess") reads = 0
      printf "%-40s %9.2f %8.2fx %14s\n", label[k], ms, x, reads
    }
    if (("DirectWarmExportJSONPass" in ns) && ("AgentWarmExportJSONPass" in ns))
      printf "%-40s %9s %8.2fx\n", "pass: agent speed-up (target >= 3x)", "", ns["DirectWarmExportJSONPass"] / ns["AgentWarmExportJSONPass"]
  }' "$out"

echo
echo "== single flight, whole processes: 8 concurrent cold callers of export --format=json (fresh MFA + role chain)"
echo "   against one cold call, in the same run; STS latency 100 ms per call (target: within 1.2x); without and with an agent"
go test -run '^$' -bench 'ColdConcurrent8' -benchtime 8x ./e2e | tee "$out" | grep -E '^Benchmark'
awk '/^BenchmarkColdConcurrent8/ {
    for (i = 5; i < NF; i += 2) m[$(i+1)] = $i
    name = ($1 ~ /Agent/) ? "through the agent" : "without an agent"
    printf "\n%s\n  %-38s %9.1f ms\n  %-38s %9.1f ms\n  %-38s %8.2fx\n", name, "one cold call", m["one-ms"], "8 concurrent cold callers (last done)", m["eight-ms"], "8 concurrent / one", m["x-one"]
  }' "$out"

echo
echo "== STS calls on the cold path of each kind of profile (and on the warm run after it)"
go test -count=1 -run 'TestColdPathSTSCalls' -v ./e2e | sed -n 's/^ *bench_test.go:[0-9]*: //p'
