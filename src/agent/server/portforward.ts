// Port forwarding over WebSocket, as upstream kubelet's WebSocket
// port-forward (subprotocols portforward.k8s.io / v4.channel.k8s.io):
// the ports come as ?port=P (repeated; kubectl's ?ports= is accepted too).
// Port i gets channel 2i for data and 2i+1 for errors; the first message the
// server sends on each carries the port as a uint16, little-endian. Data
// messages on 2i go to one TCP connection to the pod's port; what the pod
// sends comes back on 2i; a failure is written as text on 2i+1. The session
// ends when every port's connection has closed.
import type net from 'node:net';
import type { WebSocket } from 'ws';
import { sendChannel } from './remotecommand.js';

/** SPDY/3.1 tunneled in WebSocket messages (kubectl 1.31+ port-forward), then upstream kubelet's WebSocket protocols. */
export const SPDY_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';
export const PORTFORWARD_PROTOCOLS = [SPDY_TUNNEL_PROTOCOL, 'v4.channel.k8s.io', 'portforward.k8s.io', 'v5.channel.k8s.io'];

export class PortForwardError extends Error {}

/** The ports a request asks for (each 1..65535). */
export function parsePorts(q: URLSearchParams): number[] {
  const raw = [...q.getAll('port'), ...q.getAll('ports')].flatMap((v) => v.split(',')).filter((v) => v !== '');
  if (!raw.length) throw new PortForwardError('at least one port must be specified');
  return raw.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new PortForwardError(`invalid port: ${JSON.stringify(v)}`);
    return n;
  });
}

function portFrame(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port);
  return b;
}

export async function servePortForward(
  ws: WebSocket,
  ports: number[],
  dial: (port: number) => net.Socket | Promise<net.Socket>,
  describe: string,
): Promise<void> {
  const sockets = new Map<number, net.Socket>();
  const pending = new Map<number, Buffer[]>();
  let live = ports.length;
  const doneOne = () => {
    if (--live <= 0 && ws.readyState === ws.OPEN) ws.close(1000);
  };
  ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (!isBinary || buf.length === 0) return;
    const ch = buf[0];
    if (ch % 2 !== 0 || ch / 2 >= ports.length) return;
    const data = buf.subarray(1);
    if (!data.length) return;
    const i = ch / 2;
    const s = sockets.get(i);
    if (s) s.write(data);
    else pending.get(i)?.push(data);
  });
  ws.on('close', () => {
    for (const s of sockets.values()) s.destroy();
  });

  for (let i = 0; i < ports.length; i++) {
    await sendChannel(ws, 2 * i, portFrame(ports[i]));
    await sendChannel(ws, 2 * i + 1, portFrame(ports[i]));
    pending.set(i, []);
  }
  await Promise.all(
    ports.map(async (port, i) => {
      let sock: net.Socket;
      try {
        sock = await dial(port);
        await new Promise<void>((resolve, reject) => {
          if (!sock.connecting) return resolve();
          sock.once('connect', () => resolve());
          sock.once('error', reject);
        });
      } catch (e) {
        await sendChannel(ws, 2 * i + 1, `error forwarding port ${port} to pod ${describe}: ${(e as Error).message}`);
        doneOne();
        return;
      }
      sockets.set(i, sock);
      for (const d of pending.get(i) ?? []) sock.write(d);
      pending.delete(i);
      sock.on('data', (d: Buffer) => {
        sock.pause();
        sendChannel(ws, 2 * i, d).then(() => sock.resume());
      });
      sock.on('error', (e) => {
        void sendChannel(ws, 2 * i + 1, `error forwarding port ${port} to pod ${describe}: ${e.message}`);
      });
      sock.on('close', doneOne);
    }),
  );
}
