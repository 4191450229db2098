// Typed WebGPU errors. Each message says what to do next, because the user sees it as it is (a page in the app,
// one line from the CLI).

export class GpuError extends Error {
  override name = 'GpuError';
}

export class NoWebGpuError extends GpuError {
  override name = 'NoWebGpuError';
  constructor(where: 'browser' | 'node') {
    super(
      where === 'browser'
        ? 'This browser has no WebGPU. Use a recent Chrome, Edge or Chromium (on Linux start it with ' +
            '--enable-unsafe-webgpu, or enable chrome://flags/#enable-unsafe-webgpu), or Safari 26 / Firefox 141+.'
        : 'WebGPU for Node (the npm package "webgpu") could not be loaded; run `npm ci` in the project folder.',
    );
  }
}

export class NoAdapterError extends GpuError {
  override name = 'NoAdapterError';
  constructor(where: 'browser' | 'node') {
    super(
      where === 'browser'
        ? 'WebGPU is present but offered no GPU adapter. Check that hardware acceleration is on ' +
            '(chrome://settings/system) and that chrome://gpu lists WebGPU as enabled.'
        : 'Dawn found no Vulkan driver it accepts. On Debian 12 run `sudo bash scripts/setup-system.sh` ' +
            '(installs Mesa 25 lavapipe from bookworm-backports), or install your GPU vendor\'s Vulkan driver.',
    );
  }
}

export class DeviceLostError extends GpuError {
  override name = 'DeviceLostError';
  constructor(readonly reason: string, detail: string) {
    super(
      `The GPU device was lost (${reason}${detail ? `: ${detail}` : ''}). Work since the last checkpoint must be ` +
        'redone; reload the page or rerun the command to get a new device.',
    );
  }
}

export class AdapterTooSmallError extends GpuError {
  override name = 'AdapterTooSmallError';
  constructor(what: string, needed: number, available: number) {
    super(`This GPU adapter is too small: ${what} needs ${needed} but the adapter allows ${available}.`);
  }
}

/** A WGSL module or pipeline that did not compile; names the kernel and quotes the compiler. */
export class ShaderError extends GpuError {
  override name = 'ShaderError';
  constructor(kernel: string, messages: string) {
    super(`WGSL kernel ${kernel} failed to build:\n${messages}`);
  }
}
