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
echo "== warm credential path, whole processes, file keyring (target: within 2x of hello world, 1 keyring read, 0 STS calls)"
go test -run '^$' -bench 'WarmExportJSON|WarmExecTrue|HelloWorldProcess|VersionProcess' -benchtime 40x ./e2e | tee "$out" | grep -E '^Benchmark'
awk '
  /^BenchmarkHelloWorldProcess/ { hello = $3 }
  /^BenchmarkWarmExportJSON/    { export = $3; er = $5 }
  /^BenchmarkWarmExecTrue/      { execv = $3; xr = $5 }
  /^BenchmarkVersionProcess/    { version = $3 }
  END {
    if (hello > 0) {
      printf "\n%-34s %10s %8s %14s\n", "", "ms/run", "vs hello", "keyring reads"
      printf "%-34s %10.2f %8s %14s\n", "hello-world Go binary", hello/1e6, "1.00x", "-"
      printf "%-34s %10.2f %7.2fx %14s\n", "rolevault --version (start-up)", version/1e6, version/hello, "0"
      printf "%-34s %10.2f %7.2fx %14s\n", "rolevault export --format=json", export/1e6, export/hello, er
      printf "%-34s %10.2f %7.2fx %14s\n", "rolevault exec P -- true", execv/1e6, execv/hello, xr
    }
  }' "$out"

echo
echo "== STS calls on the cold path of each kind of profile (and on the warm run after it)"
go test -count=1 -run 'TestColdPathSTSCalls' -v ./e2e | sed -n 's/^ *bench_test.go:[0-9]*: //p'

echo
echo "== the agent (issue 12): warm export --format=json through the agent and directly, file and pass backends"
echo "   (targets: through the agent at most the direct file figure; with pass, the agent at least 3x faster)"
go test -run '^$' -bench 'AgentWarmExportJSON|DirectWarmExportJSONPass|WarmExportJSON$|HelloWorldProcess' -benchtime 40x ./e2e | tee "$out" | grep -E '^Benchmark'
awk '
  /^BenchmarkHelloWorldProcess/         { hello = $3 }
  /^BenchmarkWarmExportJSON-/           { fd = $3 }
  /^BenchmarkAgentWarmExportJSONFile/   { fa = $3 }
  /^BenchmarkDirectWarmExportJSONPass/  { pd = $3 }
  /^BenchmarkAgentWarmExportJSONPass/   { pa = $3 }
  END {
    if (hello > 0 && fd > 0 && pd > 0) {
      printf "\n%-44s %10s %8s %12s\n", "", "ms/run", "vs hello", "vs direct"
      printf "%-44s %10.2f %7.2fx %12s\n", "export --format=json, file, direct", fd/1e6, fd/hello, "1.00x"
      printf "%-44s %10.2f %7.2fx %11.2fx\n", "export --format=json, file, through the agent", fa/1e6, fa/hello, fa/fd
      printf "%-44s %10.2f %7.2fx %12s\n", "export --format=json, pass, direct", pd/1e6, pd/hello, "1.00x"
      printf "%-44s %10.2f %7.2fx %11.2fx  (agent %.1fx faster)\n", "export --format=json, pass, through the agent", pa/1e6, pa/hello, pa/pd, pd/pa
    }
  }' "$out"
