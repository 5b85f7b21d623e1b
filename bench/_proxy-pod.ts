// The "pod" of the proxy benchmark: a TCP server run inside a pod network
// namespace (by bench/proxy.ts, through `ip netns exec`), listening on every
// address of the namespace.
//
// Protocol (one connection = one exchange):
//  - on accept, the server writes the local address the client reached
//    followed by "\n" (so the client learns which endpoint answered);
//  - a client that wants to stream first sends a 20-byte ASCII decimal length
//    header (space padded), then that many bytes; the server discards them
//    and writes "done\n" when it has them all. No half-close is needed, so the
//    exchange also works through the userspace proxy's relay.
//
// Usage: node _proxy-pod.js <port>. Prints {"listening":port} on stdout once bound.
import net from 'node:net';

export const HEADER_BYTES = 20;

function serve(port: number): void {
  const server = net.createServer({ noDelay: true }, (sock) => {
    sock.on('error', () => {});
    sock.write(`${sock.localAddress?.replace(/^::ffff:/, '') ?? '?'}\n`);
    let header = '';
    let want = -1;
    let got = 0;
    sock.on('data', (chunk: Buffer) => {
      let body = chunk;
      if (want < 0) {
        const need = HEADER_BYTES - header.length;
        header += chunk.subarray(0, need).toString('latin1');
        body = chunk.subarray(need);
        if (header.length < HEADER_BYTES) return;
        want = Number(header.trim());
      }
      got += body.length;
      if (got >= want && want >= 0) {
        sock.write('done\n');
        want = Number.POSITIVE_INFINITY; // answer once
      }
    });
  });
  server.listen({ port, host: '0.0.0.0', backlog: 4096 }, () => {
    process.stdout.write(JSON.stringify({ listening: port }) + '\n');
  });
  const bye = () => process.exit(0);
  process.once('SIGTERM', bye);
  process.once('SIGINT', bye);
}

if (process.argv[1]?.endsWith('_proxy-pod.js')) serve(Number(process.argv[2] ?? 8080));
