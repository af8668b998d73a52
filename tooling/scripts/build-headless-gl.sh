#!/usr/bin/env bash
# Builds headless-gl (the `gl` package, an optional dependency of gpu.js) from source, so the
# gpu.js `headlessgl` mode runs the real GLSL kernels in Node under `xvfb-run`. pnpm skips its build
# script on install (it takes minutes and is only needed for the GLSL conformance suite).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
gl_dir="$(ls -d "$root"/node_modules/.pnpm/gl@*/node_modules/gl | head -n 1)"
if [ -f "$gl_dir/build/Release/webgl.node" ]; then
  echo "headless-gl already built: $gl_dir"
  exit 0
fi
if ! dpkg -s libxi-dev libx11-dev libxext-dev libgl-dev pkg-config xvfb xauth >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxi-dev libx11-dev libxext-dev libgl-dev pkg-config xvfb xauth >/dev/null
fi
node_gyp="$(ls -d "$(dirname "$gl_dir")"/node-gyp/bin/node-gyp.js)"
cd "$gl_dir"
# node-gyp would download Node headers; the machine's own headers under /usr are the right ones.
npm_config_nodedir=/usr node "$node_gyp" rebuild --jobs=2 >/tmp/headless-gl-build.log 2>&1 || {
  tail -n 40 /tmp/headless-gl-build.log
  exit 1
}
echo "headless-gl built: $gl_dir"
