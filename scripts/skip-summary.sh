#!/usr/bin/env bash
# make test, after go test: one summary of the real-component tests that were
# skipped because a program is not installed, and the Debian packages that
# would run them. Input: the file named by ROLEVAULT_SKIP_FILE, one line per
# skip (package, test, program, Debian package; tab-separated), written by
# internal/testskip.
set -euo pipefail
file=${1:?usage: skip-summary.sh SKIPFILE}
if [ "${ROLEVAULT_E2E:-}" = skip ]; then
  echo "== ROLEVAULT_E2E=skip: the end-to-end tests did not run."
  [ -s "$file" ] || exit 0
fi
if [ ! -s "$file" ]; then
  echo "== No real-component test was skipped."
  exit 0
fi
sort -u "$file" | awk -F'\t' '
  {
    n++
    key = $3 "\t" $4
    if (!(key in tests)) { order[++k] = key }
    tests[key] = tests[key] (tests[key] == "" ? "" : ", ") $1 "." $2
    np = split($4, p, " ")
    for (i = 1; i <= np; i++) if (p[i] != "-" && !(p[i] in seen)) { seen[p[i]] = 1; pkgs = pkgs " " p[i] }
  }
  END {
    printf "\n== Skipped %d real-component test%s: a program they need is not installed\n", n, (n == 1 ? "" : "s")
    for (i = 1; i <= k; i++) {
      split(order[i], f, "\t")
      printf "  %s (Debian: %s): %s\n", f[1], f[2], tests[order[i]]
    }
    if (pkgs != "") printf "To run them: sudo apt-get install%s\n", pkgs
    print "ROLEVAULT_E2E=require makes a missing program a failure instead of a skip."
  }'
