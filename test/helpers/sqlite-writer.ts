// Child process for the kill -9 test: creates keys in a loop and prints
// "ack N" after each write the store has acknowledged.
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';

const store = openSqliteStore(process.argv[2]);
for (let i = 0; ; i++) {
  await store.create(`/registry/crash/${String(i).padStart(8, '0')}`, JSON.stringify({ i, pad: 'x'.repeat(200) }));
  process.stdout.write(`ack ${i}\n`);
}
