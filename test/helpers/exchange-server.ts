/**
 * A local stand-in for the exchanges' archive servers (loopback, random port): serves a folder of generated
 * exchange files (src/demo/exchange-files.ts, `YYYY/MM/DD/<name>` + `masters/`) under the exchanges' own URL
 * paths, with failure modes queued per file name: a slow answer, 503s, 404s, an HTML page with status 200, a
 * truncated zip, a changed header; and a cookie the client must send back. Every request is recorded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, connect, type Server as NetServer } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

export type Mode = 'ok' | 'slow' | '503' | '404' | 'html' | 'truncated' | 'header-change' | 'empty' | 'labelled-html';

export interface SeenRequest {
  path: string;
  headers: IncomingMessage['headers'];
  at: number;
}

export interface ExchangeServer {
  base: string;
  requests: SeenRequest[];
  /** Queues failure modes for a file name (consumed one per request; then 'ok'). */
  queue(name: string, ...modes: Mode[]): void;
  /** Answers every request for the name with this mode. */
  always(name: string, mode: Mode): void;
  /** Require the cookie: the first request without it gets its answer and a Set-Cookie; later ones without it get 403. */
  requireCookie(name: string, value: string): void;
  close(): Promise<void>;
}

/** Where a request path's file lives in the generated folder, by its name. */
function locate(root: string, name: string): string | null {
  const ymd = (y: string, m: string, d: string): string => path.join(root, y, m, d, name);
  let m = /_(\d{4})(\d{2})(\d{2})_F_0000\./.exec(name);
  if (m) return ymd(m[1], m[2], m[3]);
  m = /^PR(\d{2})(\d{2})(\d{2})\.zip$/.exec(name);
  if (m) return ymd(`20${m[3]}`, m[2], m[1]);
  m = /_(\d{2})(\d{2})(\d{4})\.csv$/.exec(name);
  if (m) return ymd(m[3], m[2], m[1]);
  if (name === 'EQUITY_L.csv' || name === 'List_of_scrips.csv') return path.join(root, 'masters', name);
  return null;
}

export async function startExchangeServer(root: string): Promise<ExchangeServer> {
  const queues = new Map<string, Mode[]>();
  const always = new Map<string, Mode>();
  const requests: SeenRequest[] = [];
  let cookie: { name: string; value: string; issued: boolean } | null = null;
  const sockets = new Set<import('node:net').Socket>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ path: url.pathname, headers: req.headers, at: Date.now() });
    // The BSE list of scrips has no name in its URL (an API): it is served as List_of_scrips.csv.
    const name = /LitsOfScripCSVDownload/.test(url.pathname) ? 'List_of_scrips.csv' : path.posix.basename(url.pathname);
    if (cookie) {
      const sent = (req.headers.cookie ?? '').split(/;\s*/).includes(`${cookie.name}=${cookie.value}`);
      if (!sent) {
        if (cookie.issued) {
          res.writeHead(403, { 'content-type': 'text/html' }).end('<html><body>Access Denied</body></html>');
          return;
        }
        cookie.issued = true;
        res.setHeader('set-cookie', `${cookie.name}=${cookie.value}; Path=/; HttpOnly`);
      }
    }
    const q = queues.get(name);
    const mode: Mode = (q && q.length > 0 ? q.shift() : undefined) ?? always.get(name) ?? 'ok';
    const file = locate(root, name);
    const answer = (): void => {
      if (mode === '503') return void res.writeHead(503, { 'content-type': 'text/html' }).end('<html>Service Unavailable</html>');
      if (mode === '404' || file === null || !existsSync(file)) return void res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>');
      if (mode === 'html') return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('<!DOCTYPE html>\n<html><head><title>Resource not found</title></head><body>Please try later</body></html>');
      if (mode === 'empty') return void res.writeHead(200, { 'content-type': 'text/csv' }).end('');
      let body = readFileSync(file);
      if (mode === 'truncated') body = body.subarray(0, Math.floor(body.length / 2));
      if (mode === 'header-change') {
        const text = body.toString('utf8');
        body = Buffer.from(text.replace(/^([^\r\n]*?)\bCLOSE_PRICE\b/, '$1CLS_PRICE').replace(/^([^\r\n]*?)\bClsPric\b/, '$1ClosePric').replace(/^([^\r\n]*?)\bBand\b/, '$1PriceBand'));
      }
      const type = mode === 'labelled-html' ? 'text/html; charset=utf-8' : name.endsWith('.zip') ? 'application/zip' : 'text/csv';
      res.writeHead(200, { 'content-type': type, 'content-length': String(body.length) }).end(body);
    };
    if (mode === 'slow') setTimeout(answer, 1500);
    else answer();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    queue: (name, ...modes) => queues.set(name, [...(queues.get(name) ?? []), ...modes]),
    always: (name, mode) => always.set(name, mode),
    requireCookie: (name, value) => (cookie = { name, value, issued: false }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The fetch's URL variables pointing every source at the local servers (the configuration a user would set). */
export function fetchEnv(nse: string, bse: string): Record<string, string> {
  return {
    STOCKFLOW_FETCH_NSE_UDIFF_URL: `${nse}/content/cm/BhavCopy_NSE_CM_0_0_0_{YYYYMMDD}_F_0000.csv.zip`,
    STOCKFLOW_FETCH_NSE_PR_URL: `${nse}/archives/equities/bhavcopy/pr/PR{DDMMYY}.zip`,
    STOCKFLOW_FETCH_NSE_FULL_URL: `${nse}/products/content/sec_bhavdata_full_{DDMMYYYY}.csv`,
    STOCKFLOW_FETCH_NSE_SEC_LIST_URL: `${nse}/content/equities/sec_list_{DDMMYYYY}.csv`,
    STOCKFLOW_FETCH_NSE_EQUITY_LIST_URL: `${nse}/content/equities/EQUITY_L.csv`,
    STOCKFLOW_FETCH_BSE_UDIFF_URL: `${bse}/download/BhavCopy/Equity/BhavCopy_BSE_CM_0_0_0_{YYYYMMDD}_F_0000.CSV`,
    STOCKFLOW_FETCH_BSE_SCRIPS_URL: `${bse}/BseIndiaAPI/api/LitsOfScripCSVDownload/w?segment=Equity&status=Active`,
  };
}

/** A CONNECT proxy on loopback that counts the tunnels it opens (for HTTPS_PROXY / HTTP_PROXY). */
export async function startConnectProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server: NetServer = createNetServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.once('data', (chunk) => {
      const head = chunk.toString('latin1');
      const m = /^CONNECT ([^\s:]+):(\d+) HTTP\/1\.[01]\r\n/.exec(head);
      if (!m) {
        client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
        return;
      }
      tunnels.push(`${m[1]}:${m[2]}`);
      const upstream = connect(Number(m[2]), m[1], () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
