// Binding and closing Node stream servers (TCP input, HTTP) the same way.
/// <reference types="node" preserve="true" />
import type * as net from 'node:net';

/**
 * Binds `server`. A bind failure rejects with an Error that keeps Node's
 * `code` (EADDRINUSE, EACCES …) and names the URL, as the native datagram
 * input's does. Once listening, later errors (accept failing for want of file
 * descriptors: EMFILE, ENFILE) go to `onError`: without a listener Node would
 * throw them and end the process.
 */
export function listen(server: net.Server, url: string, port: number, address: string, onError: (error: Error) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(Object.assign(new Error(`cannot listen on ${url}: ${error.code}`, { cause: error }), { code: error.code, errno: error.errno }));
    server.once('error', failed);
    server.listen(port, address, () => {
      server.off('error', failed);
      server.on('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Stops accepting and resolves once every connection is closed (at once if not listening). */
export function close(server: net.Server | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** `host` as it goes in a URL: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
