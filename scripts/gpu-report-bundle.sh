#!/usr/bin/env bash
# Builds the GPU check for a machine without npm or a network (Linux x86-64): one archive, build/gpu-report.tar.xz
# (under 64 MiB), holding scripts/gpu-report.ts bundled with its JavaScript dependencies, the native modules it loads
# (Dawn's webgpu, onnxruntime-node for the peer), this machine's node binary and the Vulkan loader. The shaders are
# not in it: scripts/gpu-report-run.sh runs it from the repository's root, which has them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/gpu-report
rm -rf "$out" build/gpu-report.tar.xz
mkdir -p "$out/node_modules/webgpu/dist/linux-x64" "$out/node_modules/onnxruntime-node/bin/napi-v6/linux" "$out/lib"
# sharp (transformers.js' image loading) is never reached by a text model; the native modules stay files of their own.
npx esbuild scripts/gpu-report.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --external:webgpu --external:onnxruntime-node --external:onnxruntime-common --external:sharp \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
  --outfile="$out/gpu-report.mjs"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$out/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$out/node_modules/webgpu/dist/linux-x64/"
cp -r node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist "$out/node_modules/onnxruntime-node/"
cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 "$out/node_modules/onnxruntime-node/bin/napi-v6/linux/"
cp -r node_modules/onnxruntime-common "$out/node_modules/"
# transformers.js imports sharp at load time; a text model never calls it, so a stub that refuses stands in.
mkdir -p "$out/node_modules/sharp"
echo '{ "name": "sharp", "type": "module", "main": "index.js" }' > "$out/node_modules/sharp/package.json"
echo "export default function sharp() { throw new Error('sharp is not in the GPU report bundle'); }" > "$out/node_modules/sharp/index.js"
cp "$(readlink -f "$(command -v node)")" "$out/node"
cp "$(readlink -f /lib/x86_64-linux-gnu/libvulkan.so.1)" "$out/lib/libvulkan.so.1"
XZ_OPT="-6 -T2" tar -cJf build/gpu-report.tar.xz -C build gpu-report
ls -l build/gpu-report.tar.xz
