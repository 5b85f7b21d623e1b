// The busybox image: its applet directory, built in a temp dir, and a shell
// started through it the way the runtime starts a container.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readdir, readlink, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REQUIRED_APPLETS, containerArgv, findBusybox, prepareImage, resolveImage } from '../../../src/images/index.js';

const run = promisify(execFile);
const busybox = findBusybox();

test('prepareImage builds the applet directory idempotently and sh -c works through it', { skip: !busybox && 'no busybox on this host' }, async () => {
  const root = await mkdtemp(join(os.tmpdir(), 'k8ts-images-'));
  try {
    const img = await prepareImage(resolveImage('busybox:1.36')!, root);
    const dir = join(root, 'busybox', 'bin');
    assert.equal(img.applets?.dir, dir);
    const path = img.env.find((e) => e.name === 'PATH')!.value;
    assert.ok(path.startsWith(`${dir}:`), path);
    for (const a of REQUIRED_APPLETS.filter((x) => !(x === 'nslookup' && existsSync('/usr/bin/nslookup')))) {
      const st = await lstat(join(dir, a));
      assert.ok(st.isSymbolicLink(), a);
      assert.equal(await readlink(join(dir, a)), busybox);
    }

    // Again, and concurrently: same result, no leftovers.
    const before = (await readdir(dir)).sort();
    await Promise.all([prepareImage(img, root), prepareImage(img, root), prepareImage(resolveImage('busybox')!, root)]);
    assert.deepEqual((await readdir(dir)).sort(), before);
    assert.deepEqual(await readdir(join(root, 'busybox')), ['bin']);

    const argv = containerArgv(img, ['sh', '-c', 'echo ok; command -v wget; readlink /proc/$$/exe; command -v nslookup']);
    const { stdout } = await run(argv[0]!, argv.slice(1), { env: Object.fromEntries(img.env.map((e) => [e.name, e.value])) });
    const [ok, wget, exe, nslookup] = stdout.trim().split('\n');
    assert.equal(ok, 'ok');
    assert.equal(wget, join(dir, 'wget'));
    assert.equal(exe, await realpath(busybox!));
    // Where the host has BIND's nslookup (it honours the search list), the busybox applet steps aside.
    assert.equal(nslookup, existsSync('/usr/bin/nslookup') ? '/usr/bin/nslookup' : join(dir, 'nslookup'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('prepareImage leaves images without applets alone', async () => {
  const host = resolveImage('host')!;
  assert.equal(await prepareImage(host, '/nonexistent/never-created'), host);
});
