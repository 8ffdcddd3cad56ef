#!/usr/bin/env bash
# What the tests need from the system, on Debian 12 as root: installs the apt packages and starts Docker Engine.
# `npm run test:all` and .ci/run call this; scripts/test-preflight.ts checks for the same tools and names this script.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
# chromium: HTML reports and /dashboard tests (playwright-core drives it); docker.io + docker-compose: the docker
# driver and the compose-file check; prometheus: promtool and a real scrape; redis-server: shared limits and budgets;
# iproute2: `ip netns` for the multi-host test; cmake + g++ + make + git: building llama.cpp's llama-server for the
# real-engine suites.
APT_PACKAGES=(chromium docker.io docker-compose prometheus redis-server iproute2 cmake g++ make git)
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: installing ${missing[*]} needs root (apt-get); run as root or: sudo npm run test:deps" >&2
    exit 1
  fi
  echo "test-deps: apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian prometheus package starts its own service on :9090 on some machines; tests run their own instances.

# Docker Engine without a bridge (the default bridge's private range must not be used here); tests use host networking.
if ! docker info >/dev/null 2>&1; then
  echo "test-deps: starting dockerd (log: /tmp/switchyard-dockerd.log)"
  nohup dockerd --host unix:///var/run/docker.sock --bridge=none --iptables=false --ip6tables=false \
    >/tmp/switchyard-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -n 30 /tmp/switchyard-dockerd.log; exit 1; }
fi
# llama.cpp's llama-server from the source node-llama-cpp ships (7–9 min on 2 idle cores the first time; the
# machine-level engine cache makes later runs reuse it). Under CI=true the real-engine suites fail when it is missing.
node bin/switchyard.js engine build llamacpp
echo "test-deps: chromium, Docker Engine, docker-compose, promtool, redis-server and llama-server are ready"
