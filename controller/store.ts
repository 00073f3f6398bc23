// Opens what a sync writes to: the locked destination folder and the catalog inside it.
import type { Catalog } from './catalog/catalog.js';
import { PgliteCatalog } from './catalog/pglite-catalog.js';
import { type Destination, openDestination } from './destination.js';

export interface Store {
  destination: Destination;
  catalog: Catalog;
  close(): Promise<void>;
}

export async function openStore(dest: string): Promise<Store> {
  const destination = await openDestination(dest);
  let catalog: Catalog;
  try {
    catalog = await PgliteCatalog.open(destination.catalogDir);
  } catch (err) {
    await destination.release();
    throw err;
  }
  return {
    destination,
    catalog,
    close: async () => {
      await catalog.close();
      await destination.release();
    },
  };
}
