// A stand-in for the Hugging Face hub on 127.0.0.1 (the real one is unreachable here): serves local folders in the
// hub's URL layout with HEAD, GET and Range, can misbehave on purpose, and logs every request for privacy checks.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve, sep } from 'node:path';

export interface HubServerOptions {
  /** Cut the connection after `bytes` bytes of `file` (of model `id`, or any model), on its first GET only. */
  cut?: { file: string; bytes: number; id?: string };
  /** Ignore Range headers and always answer 200 with the whole file, like a server without range support. */
  ignoreRange?: boolean;
  /** Model ids answered with 401, as the hub does for gated, private or missing repositories. */
  unauthorized?: string[];
}

export interface LoggedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface HubServer {
  /** Base URL to pass as `baseUrl`, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  requests: LoggedRequest[];
  close(): Promise<void>;
}

const ROUTE = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/;

export async function serveHub(folders: Record<string, string>, opts: HubServerOptions = {}): Promise<HubServer> {
  const requests: LoggedRequest[] = [];
  let cutDone = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    // The page fetches the hub cross-origin, as it does huggingface.co, so answer CORS like the hub does.
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Length, Content-Range, Accept-Ranges, X-Error-Code');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Headers': 'Range, Authorization', 'Access-Control-Allow-Methods': 'GET, HEAD' });
      return void res.end();
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const m = ROUTE.exec(path);
    if (!m) return fail(res, 404, 'RepoNotFound', 'Repository not found');
    const [, id, file] = m;
    if (opts.unauthorized?.includes(id)) return fail(res, 401, 'GatedRepo', 'Access to this model is restricted');
    const folder = folders[id];
    if (!folder) return fail(res, 404, 'RepoNotFound', 'Repository not found');
    const full = resolve(folder, file);
    if (!full.startsWith(resolve(folder) + sep)) return fail(res, 404, 'EntryNotFound', 'Entry not found');
    const size = await stat(full).then(
      (s) => (s.isFile() ? s.size : -1),
      () => -1,
    );
    if (size < 0) return fail(res, 404, 'EntryNotFound', 'Entry not found');

    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Type', 'application/octet-stream');
    let start = 0;
    let end = size - 1;
    const range = opts.ignoreRange ? undefined : req.headers.range;
    if (range) {
      const r = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!r || Number(r[1]) >= size) {
        res.setHeader('Content-Range', `bytes */${size}`);
        return fail(res, 416, 'RangeNotSatisfiable', 'Range not satisfiable');
      }
      start = Number(r[1]);
      end = r[2] ? Math.min(Number(r[2]), size - 1) : size - 1;
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    } else {
      res.statusCode = 200;
    }
    const length = Math.max(end - start + 1, 0);
    res.setHeader('Content-Length', length);
    if (req.method === 'HEAD' || length === 0) return void res.end();

    const cut = opts.cut;
    if (req.method === 'GET' && cut && !cutDone && cut.file === file && (!cut.id || cut.id === id)) {
      cutDone = true;
      // Send the first bytes, then drop the socket mid-body, as a lost connection would. The pause lets the client
      // see those bytes first (a browser may discard data that arrives together with the error).
      const head = (await readFile(full)).subarray(start, start + Math.min(cut.bytes, length));
      res.write(head, () => setTimeout(() => res.socket?.destroy(), 300));
      return;
    }
    createReadStream(full, { start, end }).pipe(res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) fail(res, 500, 'ServerError', String(e));
      else res.destroy();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((ok, ko) => {
        server.close((e) => (e ? ko(e) : ok()));
        server.closeAllConnections();
      }),
  };
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: message });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Error-Code': code });
  res.end(body);
}
