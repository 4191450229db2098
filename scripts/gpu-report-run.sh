#!/usr/bin/env bash
# Runs the GPU check from build/gpu-report.tar.xz (scripts/gpu-report-bundle.sh) on a machine with no npm and no
# network, from the repository's root: `bash scripts/gpu-report-run.sh --out gpu-report.json`. It unpacks into
# /tmp, uses the bundled Vulkan loader when the system has none, and NVIDIA's Vulkan driver where a container mounts
# it outside the loader's search path. Other flags go to scripts/gpu-report.ts (--quick, --budget).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=/tmp/genpi-gpu-report
rm -rf "$dir" && mkdir -p "$dir"
tar -xJf build/gpu-report.tar.xz -C "$dir"
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || export LD_LIBRARY_PATH="$dir/gpu-report/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES="$icd"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true
exec "$dir/gpu-report/node" "$dir/gpu-report/gpu-report.mjs" "$@"
