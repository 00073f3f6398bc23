// `forge-sync reindex`: which destination's stored copies to re-read, and how many at a time.
import { AppError } from '../../common/errors.js';
import { METADATA_READER_VERSION } from '../../common/generation-metadata.js';
import { type CommandSpec, booleanValue, intValue, parseFlags, stringValue } from '../../lib/args.js';
import { CATALOG_FLAG, catalogUrlValue } from './target.js';

export const REINDEX_COMMAND: CommandSpec = {
  command: 'reindex',
  words: '',
  summary:
    'Re-reads the generation metadata of stored files whose catalog rows were written by an older\n' +
    `metadata reader (this one is version ${METADATA_READER_VERSION}), or of all with --all, in batches.`,
  flags: [
    {
      name: 'dest',
      type: 'string',
      value: 'DIR',
      help: 'the destination holding the stored copies (required)',
    },
    CATALOG_FLAG,
    { name: 'all', type: 'boolean', env: false, help: 're-read every stored file, not only older readings' },
    {
      name: 'batch',
      type: 'string',
      value: 'N',
      env: false,
      default: '200',
      help: 'rows per batch (1 to 10000)',
    },
    { name: 'json', type: 'boolean', env: false, help: 'print progress and the summary as JSON lines' },
  ],
};

export interface ReindexConfig {
  dest: string;
  catalogUrl: string | undefined;
  all: boolean;
  batchSize: number;
  json: boolean;
}

export function loadReindexConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): ReindexConfig {
  const values = parseFlags(REINDEX_COMMAND, argv, env);
  const dest = stringValue(values, 'dest');
  if (!dest) throw new AppError('E_USAGE', '--dest DIR is required: the stored copies are read from there');
  return {
    dest,
    catalogUrl: catalogUrlValue(values),
    all: booleanValue(values, 'all'),
    batchSize: intValue(values, 'batch', 1, 10_000)!,
    json: booleanValue(values, 'json'),
  };
}
