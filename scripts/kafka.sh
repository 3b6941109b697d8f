#!/usr/bin/env bash
# Make sure the Apache Kafka broker that docker-compose.yml runs is on this machine, for
# the tests in tests/kafka/: kafka_2.13 and its dependencies, at the version pinned in
# deploy/kafka/pom.xml, copied from Maven Central into a cache kept between runs
# ($DINSOS_CACHE_DIR, default ~/.cache/dinsos/kafka-<version>/). Installs Java and Maven
# with apt when missing. Prints the cache directory; its libs/ is the class path.
set -euo pipefail
cd "$(dirname "$0")/.."
POM=deploy/kafka/pom.xml
VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
CACHE_ROOT="${DINSOS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dinsos}"
TARGET="$CACHE_ROOT/kafka-$VERSION"
# The pom's digest is part of the stamp: a changed dependency list fetches again.
STAMP="$TARGET/.complete-$(sha256sum "$POM" | cut -c1-16)"
if [ -f "$STAMP" ]; then
  echo "$TARGET"
  exit 0
fi
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  echo "==> installing Java and Maven (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq default-jre-headless maven >&2
fi
echo "==> fetching Apache Kafka $VERSION from Maven Central into $TARGET" >&2
mkdir -p "$CACHE_ROOT"
PARTIAL=$(mktemp -d "$CACHE_ROOT/kafka-$VERSION.partial.XXXXXX")
trap 'rm -rf "$PARTIAL"' EXIT
mvn -q -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="$PARTIAL/libs" >&2
touch "$PARTIAL/.complete-$(sha256sum "$POM" | cut -c1-16)"
# Swap the finished copy in whole: a run stopped half-way never leaves a broken class path.
rm -rf "$TARGET"
if ! mv -T "$PARTIAL" "$TARGET" 2>/dev/null && [ ! -f "$STAMP" ]; then
  echo "could not move $PARTIAL to $TARGET" >&2
  exit 1
fi
echo "$TARGET"
