import { openMemoryStore } from '../../../src/storage/memory/memory-store.js';
import { storeConformance } from './conformance.js';

const store = openMemoryStore();
storeConformance('memory', { open: async () => store });
