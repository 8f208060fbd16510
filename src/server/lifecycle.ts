/**
 * Starting the server and stopping it gracefully: on SIGTERM or SIGINT the
 * server stops accepting connections, lets the requests in flight finish
 * (`app.close()`), closes the databases and the model sessions (the app's
 * onClose hook), and the process exits 0.
 */
import type { App } from './app.js';

export interface SignalSource {
  once(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface ShutdownOptions {
  /** Where the signals come from (default: the process). */
  signals?: SignalSource;
  /** Called with the exit code once closed (default: process.exit). */
  exit?: (code: number) => void;
  /** Exit 1 if closing takes longer than this (default 25 s: under a container's 30 s stop timeout). */
  timeoutMs?: number;
}

/** Installs the SIGTERM/SIGINT handlers; returns a function that removes them. */
export function handleShutdownSignals(app: App, o: ShutdownOptions = {}): () => void {
  const signals: SignalSource = o.signals ?? process;
  const exit = o.exit ?? ((code: number) => process.exit(code));
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    remove();
    app.log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    const timer = setTimeout(() => {
      app.log.error({ timeoutMs: o.timeoutMs ?? 25_000 }, 'shutdown timed out');
      exit(1);
    }, o.timeoutMs ?? 25_000);
    timer.unref();
    app.close().then(
      () => {
        clearTimeout(timer);
        app.log.info('server stopped');
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(timer);
        app.log.error({ err }, 'error while shutting down');
        exit(1);
      },
    );
  };
  const remove = (): void => {
    signals.off('SIGTERM', onSignal);
    signals.off('SIGINT', onSignal);
  };
  signals.once('SIGTERM', onSignal);
  signals.once('SIGINT', onSignal);
  return remove;
}

/** Listens on host:port; returns the base URL (the real port when port is 0). */
export async function listen(app: App, host: string, port: number): Promise<string> {
  await app.listen({ host, port });
  const addr = app.server.address();
  const realPort = typeof addr === 'object' && addr ? addr.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return `http://${shownHost}:${realPort}`;
}
