#!/usr/bin/env bash
# `npm run images`: bundles the CLI, then builds forge-media-sync/agent:dev and forge-media-sync/controller:dev.
# NODE_IMAGE (a Node base image) is passed through when set; the Dockerfiles default to node:20-slim.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build -- --images
args=(--build-arg "VERSION=$(node -p "require('./package.json').version")")
if [ -n "${NODE_IMAGE:-}" ]; then args+=(--build-arg "NODE_IMAGE=$NODE_IMAGE"); fi
# The classic builder: these hosts have no buildx, and the Dockerfiles need nothing newer.
export DOCKER_BUILDKIT=0
docker build -q "${args[@]}" -f Dockerfile.agent -t forge-media-sync/agent:dev .
docker build -q "${args[@]}" -f Dockerfile.controller -t forge-media-sync/controller:dev .
echo "built forge-media-sync/agent:dev and forge-media-sync/controller:dev"
