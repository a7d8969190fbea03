import { createMemoryStorage } from './memory-storage';
import { describeStorageContract } from './storage-contract';

describeStorageContract(
  'memory',
  async () => {
    const storage = createMemoryStorage();
    return { storage, cleanup: () => storage.close() };
  },
  { durable: false },
);
