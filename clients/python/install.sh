#!/bin/sh
# Generate the Python client `fanout_client` from openapi.json (beside this script) and
# install it with PYTHON's pip (default: python3). The one recipe of `make install`,
# `make client` and the container image (deploy/Dockerfile); the generated project goes
# to $1 (default: clients/python/fanout-client, which git ignores).
# openapi-python-client formats what it writes with ruff when ruff is on PATH.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
out=${1:-$here/fanout-client}
"$python" -m openapi_python_client generate --meta setup --overwrite \
  --path "$here/openapi.json" --config "$here/config.yml" --output-path "$out"
"$python" -m pip install -q --no-deps "$out"
