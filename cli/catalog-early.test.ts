import { describe, expect, it } from 'vitest';
import { opensEmbeddedCatalog } from './catalog-early.js';

describe('opensEmbeddedCatalog', () => {
  it.each([
    { command: 'sync', rest: ['--dest', 'd'], env: {}, opens: true },
    { command: 'purge', rest: ['--dest', 'd'], env: {}, opens: true },
    { command: 'search', rest: ['duck', '--dest', 'd'], env: {}, opens: true },
    { command: 'reindex', rest: ['--dest', 'd'], env: {}, opens: true },
    { command: 'sync', rest: ['--catalog', 'postgres://x'], env: {}, opens: false },
    { command: 'search', rest: ['--catalog=postgres://x'], env: {}, opens: false },
    { command: 'sync', rest: [], env: { FORGE_SYNC_CATALOG_URL: 'postgres://x' }, opens: false },
    { command: 'agent', rest: ['--root', 'r'], env: {}, opens: false },
    { command: 'watch', rest: [], env: {}, opens: false },
    { command: 'controller', rest: ['--dest', 'd'], env: {}, opens: false },
  ])('$command $rest with $env: $opens', ({ command, rest, env, opens }) => {
    expect(opensEmbeddedCatalog(command, rest, env)).toBe(opens);
  });
});
