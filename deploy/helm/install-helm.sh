#!/bin/sh
# Builds the Helm CLI that renders deploy/helm/fanout (tests/deploy) from the Go module
# proxy with the machine's Go, once, into ~/.cache/fanout/tools/helm-<version>/helm, and
# prints that path. The first build takes a few minutes; later calls return at once.
set -eu

HELM_VERSION=v3.22.0
dir="${FANOUT_CACHE_DIR:-$HOME/.cache/fanout}/tools/helm-$HELM_VERSION"
helm="$dir/helm"

if [ ! -x "$helm" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "install-helm: Go is needed to build helm $HELM_VERSION (https://go.dev/doc/install)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  echo "install-helm: building helm $HELM_VERSION into $dir (once)" >&2
  GOBIN="$dir" GOFLAGS=-buildvcs=false go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$helm"
