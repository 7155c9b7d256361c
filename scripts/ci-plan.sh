#!/usr/bin/env bash
# The workflow's plan step: the job matrix from the noxfile (scripts/ci_matrix.py) into the step's outputs.
# Inputs come as environment variables, never spliced into the script: QUICK (true/false), STRATEGIES, PYTHONS,
# APPS (comma-separated, empty = all), ARTIFACT_PREFIX (the records artifacts' names start with it). A failing nox or an empty matrix fails the step: the assignment below is
# its own command, so `set -e` sees the substitution's exit status (inside `echo "...$(...)"` it would not).
set -euo pipefail
args=()
[ "${QUICK:-false}" = true ] && args+=(--quick)
[ -n "${STRATEGIES:-}" ] && args+=(--strategies "$STRATEGIES")
[ -n "${PYTHONS:-}" ] && args+=(--pythons "$PYTHONS")
[ -n "${APPS:-}" ] && args+=(--apps "$APPS")
[ -n "${ARTIFACT_PREFIX:-}" ] && args+=(--artifact-prefix "$ARTIFACT_PREFIX")
matrix=$(python "$(dirname "$0")/ci_matrix.py" "${args[@]}")
echo "matrix=$matrix" >>"${GITHUB_OUTPUT:?the plan step writes to GITHUB_OUTPUT}"
echo "ci-plan: $(python -c 'import json, sys; print(len(json.loads(sys.argv[1])["include"]))' "$matrix") jobs"
