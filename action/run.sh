#!/usr/bin/env bash
# The steps of the topogen GitHub Action (action.yml), runnable anywhere:
#   TOPOGEN_FILES="compose.yaml" TOPOGEN_BASE=origin/main bash action/run.sh
# 1. install topogen from this checkout of the action (unless TOPOGEN_PYTHON names a Python
#    that has it already); 2. validate every file: GitHub annotations, or topogen.sarif when
#    TOPOGEN_SARIF=true and this topogen writes SARIF; 3. diff each file against TOPOGEN_BASE
#    and append the Markdown table to $GITHUB_STEP_SUMMARY (stdout when unset).
# Exit 1 when validation fails or the diff meets TOPOGEN_FAIL_ON; 2 for a usage error.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
files="${TOPOGEN_FILES:-}"
base="${TOPOGEN_BASE:-}"
fail_on="${TOPOGEN_FAIL_ON:-}"
sarif="${TOPOGEN_SARIF:-false}"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then exec 3>>"$GITHUB_STEP_SUMMARY"; else exec 3>&1; fi

if [ -z "${files//[[:space:]]/}" ]; then
  echo "::error::topogen action: the files input is empty"
  exit 2
fi
read -r -d '' -a list <<<"$files"

py="${TOPOGEN_PYTHON:-}"
if [ -z "$py" ]; then
  venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/topogen-action-venv"
  python3 -m venv "$venv" && "$venv/bin/python" -m pip install --quiet "$here" || exit 2
  py="$venv/bin/python"
fi
topogen() { "$py" -m topogen "$@"; }

status=0

# --- validate
if [ "$sarif" = "true" ] && topogen validate --help | grep -q sarif; then
  topogen validate --format sarif "${list[@]}" > topogen.sarif || status=1
else
  if [ "$sarif" = "true" ]; then
    echo "::warning::this topogen cannot write SARIF (validate --format sarif): annotating instead"
  fi
  topogen validate --format github "${list[@]}" || status=1
fi

# --- diff against the base
if [ -n "$base" ]; then
  if ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
    git fetch --quiet --depth=1 origin "$base" || true
  fi
  for f in "${list[@]}"; do
    if ! git rev-parse --verify --quiet "$base:./$f" >/dev/null; then
      printf '### topogen diff: `%s`\n\nNew file: not at %s.\n\n' "$f" "$base" >&3
      continue
    fi
    topogen diff --base "$base" "$f" --format markdown ${fail_on:+--fail-on "$fail_on"} >&3
    code=$?
    [ "$code" -eq 0 ] || status=$(( code > status ? code : status ))
    echo >&3
  done
fi
exit "$status"
