#!/usr/bin/env bash
# Opt-in: rebuild hnswlib-node's native addon for THIS machine's CPU (default flags "-O3 -march=native").
#
# `npm ci` compiles hnswlib-node with node-gyp's default flags, which give hnswlib only its SSE distance kernels and
# run on any x86-64. Built with -march=native, hnswlib uses its AVX/AVX-512 kernels (1.3-1.4x more queries/s at
# 100k x 384 on an AVX-512 machine, see retrieval/README.md). The result only runs on CPUs with the same instruction
# sets: build it on the machine (or image) that serves, never ship it to another CPU model.
#
#   retrieval/native/build-simd.sh            build in a temp dir, check it loads and answers, then install it
#   retrieval/native/build-simd.sh --restore  put the portable addon back (so does `npm rebuild hnswlib-node`/`npm ci`)
#   SWITCHYARD_HNSW_CXXFLAGS="-O3 -march=x86-64-v3" retrieval/native/build-simd.sh   other flags
#
# Installing keeps the portable addon as build/Release/addon.portable.node and writes build/Release/switchyard-build.json
# (flags, CPU, compiler, sha256 of the addon): retrieval/native/hnswlib-build.ts reads it, so the benchmark can say
# which build it ran and compare against the portable one in the same run. A later `npm rebuild`/`npm ci` deletes the
# build folder, marker and backup included, so the marker never describes an addon it did not write.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
package_dir="$(node -p "require('node:path').dirname(require.resolve('hnswlib-node/package.json'))")"
release_dir="$package_dir/build/Release"
addon="$release_dir/addon.node"
backup="$release_dir/addon.portable.node"
marker="$release_dir/switchyard-build.json"

if [[ ! -f "$addon" ]]; then
  echo "build-simd: no $addon; install dependencies first (npm ci)" >&2
  exit 1
fi

# Replace by rename: node-gyp hard-links addon.node to its object folder, and running processes keep the old file.
install_file() {
  cp "$1" "$addon.switchyard-tmp"
  mv -f "$addon.switchyard-tmp" "$addon"
}

if [[ "${1:-}" == "--restore" ]]; then
  if [[ ! -f "$backup" ]]; then
    echo "build-simd: no portable backup at $backup; nothing to restore (npm rebuild hnswlib-node rebuilds it)" >&2
    exit 1
  fi
  install_file "$backup"
  rm -f "$backup" "$marker"
  echo "build-simd: portable hnswlib-node addon restored"
  exit 0
fi
if [[ $# -gt 0 ]]; then
  echo "usage: $0 [--restore]" >&2
  exit 2
fi

flags="${SWITCHYARD_HNSW_CXXFLAGS:--O3 -march=native}"

# npm's own node-gyp (npm sets npm_config_node_gyp inside `npm run`), else the one bundled next to the npm on PATH.
node_gyp="${npm_config_node_gyp:-}"
if [[ -z "$node_gyp" || ! -f "$node_gyp" ]]; then
  npm_root="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  node_gyp="$npm_root/node_modules/node-gyp/bin/node-gyp.js"
fi
if [[ ! -f "$node_gyp" ]]; then
  echo "build-simd: cannot find node-gyp (looked at $node_gyp); needs npm, python3, make and a C++ compiler" >&2
  exit 1
fi

# Node's headers: node-gyp downloads them unless told where they are; a Node installed with its include/ dir (distro
# packages, official tarballs) has them, so builds work offline.
gyp_args=(rebuild --release)
node_prefix="$(node -p "require('node:path').resolve(process.execPath, '..', '..')")"
if [[ -z "${npm_config_nodedir:-}" && -f "$node_prefix/include/node/node_version.h" ]]; then
  gyp_args+=("--nodedir=$node_prefix")
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-hnswlib-simd.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp -r "$package_dir/binding.gyp" "$package_dir/package.json" "$package_dir/src" "$work/"
# binding.gyp asks node for node-addon-api's include dir: let the copy resolve packages where hnswlib-node does.
if [[ -d "$package_dir/node_modules/node-addon-api" ]]; then
  ln -s "$package_dir/node_modules" "$work/node_modules"
else
  ln -s "$(dirname "$package_dir")" "$work/node_modules"
fi

echo "build-simd: compiling hnswlib-node with CXXFLAGS=\"$flags\" (about 10-60 s)"
(cd "$work" && CXXFLAGS="$flags" node "$node_gyp" "${gyp_args[@]}" >"$work/build.log" 2>&1) || {
  tail -n 30 "$work/build.log" >&2
  exit 1
}
built="$work/build/Release/addon.node"

# Refuse to install an addon that does not load or answer on this CPU.
node -e '
  const { HierarchicalNSW } = require(process.argv[1]);
  const index = new HierarchicalNSW("ip", 64);
  index.initIndex({ maxElements: 8, m: 4, efConstruction: 16 });
  for (let key = 0; key < 8; key += 1) index.addPoint(Array.from({ length: 64 }, (_, i) => Math.sin(key * 64 + i)), key);
  const probe = Array.from({ length: 64 }, (_, i) => Math.sin(5 * 64 + i));
  if (index.searchKnn(probe, 1).neighbors[0] !== 5) throw new Error("smoke search returned the wrong neighbour");
' "$built"

if [[ ! -f "$marker" ]]; then
  cp "$addon" "$backup" # the addon npm built: the baseline the benchmark compares against
fi
install_file "$built"

cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
cpu_flags="$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2- | tr ' ' '\n' | grep -E '^(sse4_2|avx|avx2|fma|avx512f|avx512bw|avx512vl)$' | tr '\n' ' ' || true)"
compiler="$(${CXX:-c++} --version 2>/dev/null | head -n 1 || true)"
FLAGS="$flags" CPU_MODEL="$cpu_model" CPU_FLAGS="$cpu_flags" COMPILER="$compiler" node -e '
  const { createHash } = require("node:crypto");
  const { readFileSync, writeFileSync } = require("node:fs");
  const [addon, marker, version] = process.argv.slice(1);
  const env = process.env;
  writeFileSync(marker, JSON.stringify({
    format: "switchyard-hnswlib-build",
    version: 1,
    cxxflags: env.FLAGS,
    builtAt: new Date().toISOString(),
    cpuModel: env.CPU_MODEL,
    cpuFlags: env.CPU_FLAGS.trim().split(/\s+/).filter(Boolean),
    compiler: env.COMPILER,
    hnswlibNode: version,
    sha256: createHash("sha256").update(readFileSync(addon)).digest("hex"),
  }, null, 2) + "\n");
' "$addon" "$marker" "$(node -p "require('$package_dir/package.json').version")"

echo "build-simd: installed $addon (CXXFLAGS=\"$flags\"); portable copy kept at $backup"
echo "build-simd: undo with: $0 --restore"
