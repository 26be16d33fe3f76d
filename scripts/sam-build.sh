#!/usr/bin/env bash
# Build the SAM application (.aws-sam/build) without Docker.
#
# The SAM CLI lives in its own virtualenv (.venv-sam), never in the dev .venv. `sam build`
# for python3.13 needs a python3.13 interpreter on PATH; pyenv's 3.13 is used when present.
# Extra arguments go to `sam build` (e.g. scripts/sam-build.sh --no-cached).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SAM_VENV="$ROOT/.venv-sam"
if [[ ! -x "$SAM_VENV/bin/sam" ]]; then
  echo "creating $SAM_VENV with aws-sam-cli ..." >&2
  python3 -m venv "$SAM_VENV"
  "$SAM_VENV/bin/pip" install --quiet --upgrade pip
  "$SAM_VENV/bin/pip" install --quiet aws-sam-cli
fi

if ! command -v python3.13 >/dev/null 2>&1 || ! python3.13 --version >/dev/null 2>&1; then
  PY313="${PYENV_ROOT:-$HOME/.pyenv}/versions/3.13.0/bin"
  for candidate in "$PY313" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13.*/bin; do
    if [[ -x "$candidate/python3.13" ]]; then
      PATH="$candidate:$PATH"
      break
    fi
  done
  export PATH
fi
if ! python3.13 --version >/dev/null 2>&1; then
  echo "sam build needs python3.13 on PATH (e.g. pyenv install 3.13)" >&2
  exit 1
fi

export SAM_CLI_TELEMETRY=0
echo "sam build with $(python3.13 --version) from $(command -v python3.13)" >&2
exec "$SAM_VENV/bin/sam" build --template-file template.yaml "$@"
