// The policy text and the GENPI_HUB_ORIGIN parsing: a value that could smuggle a directive in is refused.
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, HubOriginError, parseHubOrigins, policyOfHtml } from './csp';

describe('contentSecurityPolicy', () => {
  it('allows the page and the hub hosts only, with nothing for a dev server in a build', () => {
    const policy = contentSecurityPolicy();
    expect(policy).toContain("connect-src 'self' https://huggingface.co https://*.huggingface.co https://*.hf.co;");
    expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval';");
    expect(policy).toContain("object-src 'none';");
    expect(policy).not.toContain('ws:');
    expect(policy).not.toContain('frame-ancestors'); // ignored in a <meta> policy
  });

  it('adds extra hub origins, and the HMR websocket in dev', () => {
    const policy = contentSecurityPolicy({ hubOrigins: ['http://127.0.0.1:8080'], dev: true });
    expect(policy).toContain('https://*.hf.co http://127.0.0.1:8080 ws: wss:;');
  });
});

describe('parseHubOrigins', () => {
  it('reads space-separated origins, ports as numbers or *', () => {
    expect(parseHubOrigins(undefined)).toEqual([]);
    expect(parseHubOrigins('  ')).toEqual([]);
    expect(parseHubOrigins('https://hub.example.org/ http://127.0.0.1:*')).toEqual([
      'https://hub.example.org',
      'http://127.0.0.1:*',
    ]);
  });

  it('refuses anything that is not scheme://host[:port]', () => {
    for (const bad of ['hub.example.org', "https://a.org; script-src 'unsafe-eval'", 'https://a.org/path', 'ftp://a.org', '*']) {
      expect(() => parseHubOrigins(bad), bad).toThrow(HubOriginError);
    }
  });
});

it('reads back the policy written into index.html', () => {
  const policy = contentSecurityPolicy();
  expect(policyOfHtml(`<head><meta http-equiv="Content-Security-Policy" content="${policy}" /></head>`)).toBe(policy);
  expect(policyOfHtml('<head></head>')).toBeUndefined();
});
