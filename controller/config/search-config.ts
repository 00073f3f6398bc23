// Searching the catalog: `forge-sync search` and GET /v1/files share one parser for their parameters.
import { AppError } from '../../common/errors.js';
import { parseDuration } from '../../common/duration.js';
import { type CommandSpec, booleanValue, parseFlags, stringValue } from '../../lib/args.js';
import { MEDIA_KINDS, type MediaKind } from '../../common/generation-metadata.js';
import type { SearchQuery } from '../../common/search.js';
import { CATALOG_FLAG, catalogUrlValue } from './target.js';

export const SEARCH_COMMAND: CommandSpec = {
  command: 'search',
  words: 'QUERY',
  summary:
    'Finds synced files by words or word starts of their prompt (also model, sampler, LoRAs, raw metadata,\n' +
    'ComfyUI graph texts and file name; "quoted phrases", OR, -word), and by model, seed, LoRA, sampler, media kind,\n' +
    'agent, age and the dates they were made. Prints where each file is on the host, newest first.',
  flags: [
    { name: 'dest', type: 'string', value: 'DIR', help: 'the destination whose embedded catalog to search' },
    CATALOG_FLAG,
    { name: 'model', type: 'string', value: 'M', env: false, help: 'part of the checkpoint name' },
    { name: 'seed', type: 'string', value: 'N', env: false, help: 'exact seed' },
    { name: 'lora', type: 'string', value: 'L', env: false, help: 'words or word starts of a LoRA name' },
    { name: 'sampler', type: 'string', value: 'S', env: false, help: 'sampler name, any case' },
    {
      name: 'kind',
      type: 'string',
      value: 'K',
      env: false,
      help: `media kind: ${MEDIA_KINDS.join(', ')}`,
    },
    { name: 'agent', type: 'string', value: 'A', env: false, help: 'only files from this agent' },
    {
      name: 'since',
      type: 'string',
      value: 'D',
      env: false,
      help: 'only files synced within this time, like 2d',
    },
    {
      name: 'from',
      type: 'string',
      value: 'DATE',
      env: false,
      help: 'only files made (modified) on or after this day or time, like 2026-11-01 or 2026-11-01T18:00',
    },
    {
      name: 'to',
      type: 'string',
      value: 'DATE',
      env: false,
      help: 'only files made on or before this day (all of it) or time',
    },
    {
      name: 'limit',
      type: 'string',
      value: 'N',
      env: false,
      default: '20',
      help: 'results per page (at most 1000)',
    },
    {
      name: 'cursor',
      type: 'string',
      value: 'C',
      env: false,
      help: 'the next page, from a previous --json answer',
    },
    { name: 'starred', type: 'boolean', env: false, help: 'only starred (favourite) files' },
    { name: 'json', type: 'boolean', env: false, help: 'print the page as JSON' },
  ],
};

/** Search parameters as they arrive, from flags or a query string: all text, all optional. */
export interface SearchParams {
  q?: string;
  model?: string;
  seed?: string;
  lora?: string;
  sampler?: string;
  /** image, animated, video, audio or other. */
  kind?: string;
  agent?: string;
  since?: string;
  /** Made (modified) on or after: a day (YYYY-MM-DD, from its start) or a time (ISO 8601). */
  from?: string;
  /** Made on or before: a day (to its end) or a time. */
  to?: string;
  limit?: string;
  cursor?: string;
  /** `1` or `true`: only starred files. */
  starred?: string;
}

/** Validates search parameters once; `what` prefixes names in errors (`--` for flags, `` for a query string). */
export function toSearchQuery(params: SearchParams, nowMs: number, what = '--'): SearchQuery {
  const query: SearchQuery = { limit: 20 };
  if (params.q?.trim()) query.text = params.q.trim();
  if (params.model) query.model = params.model;
  if (params.agent) query.agent = params.agent;
  if (params.lora) query.lora = params.lora;
  if (params.sampler) query.sampler = params.sampler;
  if (params.kind !== undefined) {
    const kind = params.kind.toLowerCase();
    if (!(MEDIA_KINDS as readonly string[]).includes(kind))
      throw new AppError(
        'E_USAGE',
        `${what}kind: expected one of ${MEDIA_KINDS.join(', ')}, got "${params.kind}"`,
      );
    query.kind = kind as MediaKind;
  }
  if (params.seed !== undefined) {
    if (!/^\d{1,20}$/.test(params.seed))
      throw new AppError('E_USAGE', `${what}seed: expected a whole number, got "${params.seed}"`);
    query.seed = params.seed.replace(/^0+(?=\d)/, '');
  }
  if (params.since !== undefined) query.since = new Date(nowMs - parseDuration(params.since, `${what}since`));
  if (params.from !== undefined) query.madeFrom = dayOrTime(params.from, 'start', `${what}from`);
  if (params.to !== undefined) query.madeTo = dayOrTime(params.to, 'end', `${what}to`);
  if (query.madeFrom && query.madeTo && query.madeFrom > query.madeTo) {
    throw new AppError('E_USAGE', `${what}from is after ${what}to: nothing can match`);
  }
  if (params.starred !== undefined) {
    if (!/^(1|true|0|false)$/.test(params.starred))
      throw new AppError('E_USAGE', `${what}starred: expected true or false, got "${params.starred}"`);
    if (/^(1|true)$/.test(params.starred)) query.starred = true;
  }
  if (params.limit !== undefined) {
    const limit = Number(params.limit);
    if (!/^\d+$/.test(params.limit) || limit < 1 || limit > 1000) {
      throw new AppError(
        'E_USAGE',
        `${what}limit: expected a whole number from 1 to 1000, got "${params.limit}"`,
      );
    }
    query.limit = limit;
  }
  if (params.cursor !== undefined) {
    if (!/^\d+$/.test(params.cursor))
      throw new AppError(
        'E_USAGE',
        `${what}cursor: expected the nextCursor of a previous page, got "${params.cursor}"`,
      );
    query.cursor = params.cursor;
  }
  return query;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * A day (the start or the end of it, in this machine's time zone, where `forge-sync search` runs and
 * the gallery sends times with their offset) or an ISO 8601 time; without an offset, local time.
 */
function dayOrTime(text: string, edge: 'start' | 'end', name: string): Date {
  const day = DAY.exec(text);
  let date: Date | undefined;
  if (day) {
    const [year, month, dayOfMonth] = [Number(day[1]), Number(day[2]) - 1, Number(day[3])];
    date =
      edge === 'start'
        ? new Date(year, month, dayOfMonth)
        : new Date(new Date(year, month, dayOfMonth + 1).getTime() - 1);
    // 2026-02-31 rolls over into March: not a day.
    if (new Date(year, month, dayOfMonth).getDate() !== dayOfMonth) date = undefined;
  } else if (TIME.test(text)) {
    date = new Date(text);
  }
  if (!date || Number.isNaN(date.getTime())) {
    throw new AppError(
      'E_USAGE',
      `${name}: expected a day like 2026-11-30 or a time like 2026-11-30T18:00, got "${text}"`,
    );
  }
  return date;
}

export interface SearchConfig {
  dest: string | undefined;
  catalogUrl: string | undefined;
  params: SearchParams;
  json: boolean;
}

export function loadSearchConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): SearchConfig {
  const values = parseFlags(SEARCH_COMMAND, argv, env);
  const dest = stringValue(values, 'dest');
  const catalogUrl = catalogUrlValue(values);
  if (!dest && !catalogUrl) {
    throw new AppError(
      'E_USAGE',
      'nothing to search: pass --dest DIR (embedded catalog) or --catalog postgres://…',
    );
  }
  const params: SearchParams = {};
  for (const name of [
    'model',
    'seed',
    'lora',
    'sampler',
    'kind',
    'agent',
    'since',
    'from',
    'to',
    'limit',
    'cursor',
  ] as const) {
    const value = stringValue(values, name);
    if (value !== undefined) params[name] = value;
  }
  const q = stringValue(values, '_');
  if (q !== undefined) params.q = q;
  if (booleanValue(values, 'starred')) params.starred = 'true';
  return {
    dest,
    catalogUrl,
    params,
    json: booleanValue(values, 'json'),
  };
}
