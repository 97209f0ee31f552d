#!/usr/bin/env bash
# Side by side with django-newsletter (issue 17): the shared peers/compare.sh, run with the
# product's own script for its half (benchmarks/peers/run_product.sh). From the checkout:
#   RUNS=3 WORKERS=5 bash benchmarks/compare.sh
#   RUNS=3 WORKERS=2 PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres bash benchmarks/compare.sh
# SHARED_PEERS: the shared peers folder (default: ../shared/peers beside the checkout).
# The peer is set up once in $PEERS (default $TMPDIR/peers) from PyPI if it is not there.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHARED_PEERS=${SHARED_PEERS:-$HERE/../../shared/peers}
export PEERS=${PEERS:-${TMPDIR:-/tmp}/peers}
scripts=$(mktemp -d)
trap 'rm -rf "$scripts"' EXIT
cp -r "$SHARED_PEERS/." "$scripts/"
cp "$HERE/peers/run_product.sh" "$scripts/product/run_bench.sh"
[[ -x "$PEERS/dn-venv/bin/gunicorn" ]] || bash "$scripts/django_newsletter/setup.sh"
bash "$scripts/compare.sh"
