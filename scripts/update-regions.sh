#!/usr/bin/env bash
# Refresh Indonesia's administrative regions (province → regency/city → district →
# village, Kemendagri codes) from the maintained npm package idn-area-data, pinned and
# checked by hash. The data is ODbL: keep shared/regions_data/LICENSE-ODbL.md with it.
set -euo pipefail
VERSION="${1:-4.0.1}"
SHA256="${2:-8d47ffb2be39c08aacb0a2dd43193a1edb5754edb1022d57158341c702acc32d}"
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "idn-area-data@$VERSION" >/dev/null)
echo "$SHA256  $work/idn-area-data-$VERSION.tgz" | sha256sum -c -
tar -xzf "$work/idn-area-data-$VERSION.tgz" -C "$work"
for name in provinces regencies districts villages; do
  gzip -9 -n -c "$work/package/data/$name.csv" > "shared/regions_data/$name.csv.gz"
done
cp "$work/package/data/LICENSE.md" shared/regions_data/LICENSE-ODbL.md
echo "$VERSION" > shared/regions_data/VERSION
echo "regions updated to idn-area-data $VERSION"
