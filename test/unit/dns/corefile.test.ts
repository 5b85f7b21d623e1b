import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import '../../../src/dns/index.js';
import { parseCorefile, CorefileError, parseDuration } from '../../../src/dns/corefile.js';
import { orderDirectives, registerPlugin } from '../../../src/dns/registry.js';
import { defaultCorefile } from '../../../src/dns/addon.js';

/** kubeadm's default Corefile, as the DNS addon writes it. */
const KUBEADM = defaultCorefile('cluster.local');

/** Extracts the Corefile of a seed walkthrough (lines after "Corefile:" up to the closing brace). */
function seedCorefile(prefix: string): string {
  const dir = '/work/shared/seeds/';
  const files = readdirSync(dir).filter((f) => f.startsWith(prefix) && !f.includes('repaired'));
  const text = readFileSync(dir + files[0], 'utf8');
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^Corefile:/.test(l));
  const out: string[] = [];
  let depth = 0;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (depth === 0 && !l.includes('{')) continue;
    out.push(l);
    depth += (l.replace(/#.*/, '').match(/\{/g) ?? []).length - (l.replace(/#.*/, '').match(/\}/g) ?? []).length;
    if (depth === 0) break;
  }
  return out.join('\n');
}

test('parses kubeadm\'s default Corefile', () => {
  const [b, ...rest] = parseCorefile(KUBEADM);
  assert.equal(rest.length, 0);
  assert.deepEqual(b!.zones, ['.']);
  assert.equal(b!.port, 53);
  assert.deepEqual(b!.directives.map((d) => d.name), ['errors', 'health', 'ready', 'kubernetes', 'prometheus', 'forward', 'cache', 'loop', 'reload', 'loadbalance']);
  const k = b!.directives.find((d) => d.name === 'kubernetes')!;
  assert.deepEqual(k.args, ['cluster.local', 'in-addr.arpa', 'ip6.arpa']);
  assert.deepEqual(k.block, [['pods', 'insecure'], ['fallthrough', 'in-addr.arpa', 'ip6.arpa'], ['ttl', '30']]);
  assert.equal(k.location, 'Corefile:7');
  assert.deepEqual(b!.directives.find((d) => d.name === 'health')!.block, [['lameduck', '5s']]);
  assert.deepEqual(b!.directives.find((d) => d.name === 'forward')!.args, ['.', '/etc/resolv.conf']);
});

test('plugins run in plugin.cfg order, not Corefile order', () => {
  registerPlugin('kubernetes', () => ({ name: 'kubernetes', handler: (n) => n }));
  const [b] = parseCorefile(KUBEADM);
  const order = orderDirectives(b!.directives).map((x) => x.directive.name);
  assert.deepEqual(order, ['reload', 'ready', 'health', 'prometheus', 'errors', 'loadbalance', 'cache', 'kubernetes', 'loop', 'forward']);
});

for (const seed of ['002_', '003_']) {
  test(`parses the Corefile of seed ${seed}`, () => {
    const text = seedCorefile(seed);
    assert.match(text, /kubernetes cluster.local/);
    const [b] = parseCorefile(text);
    assert.deepEqual(b!.directives.map((d) => d.name), ['errors', 'health', 'ready', 'kubernetes', 'prometheus', 'forward', 'cache', 'loop', 'reload', 'loadbalance']);
    assert.deepEqual(b!.directives.find((d) => d.name === 'kubernetes')!.block[1], ['fallthrough', 'in-addr.arpa', 'ip6.arpa']);
    assert.deepEqual(b!.directives.find((d) => d.name === 'forward')!.block, [['max_concurrent', '1000']]);
  });
}

test('several blocks, ports, comments, quotes, env', () => {
  const text = `# top comment
example.org:1053 dns://other.org {
  hosts {
    10.0.0.1 "a.example.org"
    fallthrough
  }
  log {$K8TS_TEST_FMT}
}
10.0.0.0/8 {
  whoami
}
cluster.local:5300,svc.local:5300 {
  errors # trailing comment
}
`;
  const blocks = parseCorefile(text, { env: { K8TS_TEST_FMT: '{common}' } });
  assert.equal(blocks.length, 4);
  assert.deepEqual(blocks[0]!.zones, ['example.org.']);
  assert.equal(blocks[0]!.port, 1053);
  assert.deepEqual(blocks[1]!.zones, ['other.org.']);
  assert.equal(blocks[1]!.port, 53);
  assert.deepEqual(blocks[0]!.directives[0]!.block, [['10.0.0.1', 'a.example.org'], ['fallthrough']]);
  assert.deepEqual(blocks[0]!.directives[1]!.args, ['{common}']);
  assert.deepEqual(blocks[2]!.zones, ['10.in-addr.arpa.']);
  assert.deepEqual(blocks[3]!.zones, ['cluster.local.', 'svc.local.']);
  assert.equal(blocks[3]!.port, 5300);
});

test('line-numbered errors', () => {
  const cases: Array<[string, RegExp]> = [
    ['.:53 {\n  errors\n', /^Corefile:1 - Error during parsing: Unexpected EOF/],
    ['.:53 {\n  health {\n    lameduck 5s\n}\n', /^Corefile:1 - Error during parsing: Unexpected EOF/],
    ['.:53 {\n  errors\n}\n}\n', /^Corefile:4 - Error during parsing: Unexpected '}'/],
    ['.:53 {\n  hosts "unterminated\n}\n', /^Corefile:2 - Error during parsing: Unterminated quoted string/],
    ['.:99999 {\n}\n', /^Corefile:1 - Error during parsing: invalid port/],
    ['.:53 {\n}\n.:53 {\n}\n', /^Corefile:3 - Error during setup: cannot serve dns:\/\/.:53 - it is already defined/],
    ['.:53 {\n  a {\n    b {\n    }\n  }\n}\n', /^Corefile:3 - Error during parsing: Unexpected '\{'/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseCorefile(text), (e: unknown) => e instanceof CorefileError && re.test(e.message), text);
  }
});

test('unknown directive is reported with CoreDNS wording', () => {
  const [b] = parseCorefile('.:53 {\n  errors\n\n  frobnicate 1 2\n}\n');
  assert.throws(() => orderDirectives(b!.directives), { message: "Corefile:4 - Error during parsing: Unknown directive 'frobnicate'" });
});

test('durations', () => {
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1m30s'), 90000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('0.5s'), 500);
  assert.equal(parseDuration('30'), 30000);
  assert.equal(parseDuration('abc'), undefined);
});
