// Opens what a sync writes to: the locked destination folder, and the catalog inside it or on a PostgreSQL server.
import { hostname } from 'node:os';
import type { Catalog, DestinationRef } from '../catalog/catalog.js';
import { openPgliteClient } from '../catalog/pglite-client.js';
import { openPostgresClient } from '../catalog/postgres-client.js';
import { SqlCatalog } from '../catalog/sql-catalog.js';
import { type Destination, openDestination } from './destination.js';
import { type HostStore, LocalHostStore } from './host-store.js';
import { recoverInflight } from './batch-journal.js';

export interface Store {
  destination: Destination;
  /** The destination as the pipelines use it. */
  host: HostStore;
  catalog: Catalog;
  close(): Promise<void>;
}

/**
 * Takes the destination's lock, then opens the catalog: PostgreSQL at `catalogUrl` when given,
 * else the embedded PGlite under <dest>/.forge-sync/catalog.
 */
export async function openStore(dest: string, catalogUrl?: string): Promise<Store> {
  const destination = await openDestination(dest);
  let catalog: Catalog;
  try {
    catalog = await openCatalog(
      catalogUrl,
      destination.catalogDir,
      { host: hostname(), path: destination.root },
      dest,
    );
  } catch (err) {
    await destination.release();
    throw err;
  }
  try {
    // What an interrupted batch created in place but never catalogued goes: the agent still has it.
    await recoverInflight(destination.journalDir, destination.root, catalog);
  } catch (err) {
    await catalog.close();
    await destination.release();
    throw err;
  }
  return {
    destination,
    host: new LocalHostStore(destination),
    catalog,
    close: async () => {
      await catalog.close();
      await destination.release();
    },
  };
}

/**
 * The catalog at `catalogUrl`, else the embedded one in `pgliteDir`. With the `destination` it
 * stores into, its rows record that destination; the embedded catalog serves that one alone.
 */
export async function openCatalog(
  catalogUrl: string | undefined,
  pgliteDir: string,
  destination?: DestinationRef,
  /** --dest as given, for the message of a full disk. */
  destName?: string,
): Promise<Catalog> {
  const client = catalogUrl
    ? await openPostgresClient(catalogUrl)
    : await openPgliteClient(pgliteDir, destName);
  return SqlCatalog.open(client, { destination, ownsAllRows: !catalogUrl });
}
