// Transports an emitter sends packets over: UDP (v4/v6), TCP and unix stream
// (newline-framed, reconnecting, bounded queue), and unix datagram (native).
// None of them throws on network trouble: failures reach `events`.
import type { Endpoint } from './endpoint';
import { StreamTransport } from './stream-transport';
import { type Transport, type TransportEvents, type TransportOptions, endpointUrl } from './transport-common';
import { UdpTransport } from './udp-transport';
import { UnixDatagramTransport } from './unix-datagram-transport';

export { Idle, countLines, endpointUrl, errnoError } from './transport-common';
export type { Transport, TransportEvents, TransportOptions } from './transport-common';

export function createTransport(endpoint: Endpoint, events: TransportEvents, options: TransportOptions): Transport {
  switch (endpoint.transport) {
    case 'udp':
      return new UdpTransport(endpoint, events, options);
    case 'tcp':
      return new StreamTransport({ host: endpoint.host, port: endpoint.port }, endpointUrl(endpoint), events, options);
    case 'unixstream':
      return new StreamTransport({ path: endpoint.path }, endpointUrl(endpoint), events, options);
    case 'unix':
      return new UnixDatagramTransport(endpoint.path, events, options);
  }
}
