// Unit tests for declarative flag parsing: argv, FORGE_SYNC_* environment fallback, defaults and typed readers.
import { describe, expect, it } from 'vitest';
import { AppError } from '../common/errors.js';
import {
  booleanValue,
  bytesValue,
  durationValue,
  envName,
  intValue,
  listValue,
  parseFlags,
  stringValue,
  wantsHelp,
  type CommandSpec,
  type FlagValues,
} from './args.js';

const SPEC: CommandSpec = {
  command: 'agent',
  summary: 'test command',
  flags: [
    { name: 'listen', type: 'string', help: 'address', default: '0.0.0.0:8787' },
    { name: 'state-dir', type: 'string', help: 'state folder' },
    { name: 'root', type: 'list', help: 'roots' },
    { name: 'verbose', type: 'boolean', help: 'more logs', default: false },
    { name: 'token-file', type: 'string', help: 'token', env: 'MY_TOKEN_FILE' },
    { name: 'secret', type: 'string', help: 'no env', env: false },
  ],
};

/** The AppError a call throws; fails the test when it does not throw one. */
function appErrorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError, but nothing was thrown');
}

const DEFAULTS: FlagValues = {
  listen: '0.0.0.0:8787',
  'state-dir': undefined,
  root: undefined,
  verbose: false,
  'token-file': undefined,
  secret: undefined,
};

describe('parseFlags', () => {
  it.each<{ name: string; argv: string[]; env: NodeJS.ProcessEnv; values: Partial<FlagValues> }>([
    { name: 'nothing given: defaults', argv: [], env: {}, values: {} },
    {
      name: 'string from argv',
      argv: ['--listen', '127.0.0.1:0'],
      env: {},
      values: { listen: '127.0.0.1:0' },
    },
    { name: 'string with =', argv: ['--state-dir=/var/x'], env: {}, values: { 'state-dir': '/var/x' } },
    {
      name: 'repeated list flag',
      argv: ['--root', 'a=/x', '--root', 'b=/y'],
      env: {},
      values: { root: ['a=/x', 'b=/y'] },
    },
    { name: 'boolean flag', argv: ['--verbose'], env: {}, values: { verbose: true } },
    {
      name: 'string from FORGE_SYNC_<NAME>',
      argv: [],
      env: { FORGE_SYNC_STATE_DIR: '/state' },
      values: { 'state-dir': '/state' },
    },
    { name: 'env overrides default', argv: [], env: { FORGE_SYNC_LISTEN: ':1' }, values: { listen: ':1' } },
    { name: 'empty env is ignored', argv: [], env: { FORGE_SYNC_LISTEN: '' }, values: {} },
    {
      name: 'list env split on commas and trimmed',
      argv: [],
      env: { FORGE_SYNC_ROOT: 'a=/x, b=/y,,c=/z ,' },
      values: { root: ['a=/x', 'b=/y', 'c=/z'] },
    },
    {
      name: 'argv wins over env (string)',
      argv: ['--listen', ':2'],
      env: { FORGE_SYNC_LISTEN: ':1' },
      values: { listen: ':2' },
    },
    {
      name: 'argv wins over env (list)',
      argv: ['--root', 'a=/argv'],
      env: { FORGE_SYNC_ROOT: 'b=/env,c=/env' },
      values: { root: ['a=/argv'] },
    },
    {
      name: 'argv wins over env (boolean)',
      argv: ['--verbose'],
      env: { FORGE_SYNC_VERBOSE: 'false' },
      values: { verbose: true },
    },
    { name: 'custom env name', argv: [], env: { MY_TOKEN_FILE: '/t' }, values: { 'token-file': '/t' } },
    {
      name: 'default env name unused when a custom one is set',
      argv: [],
      env: { FORGE_SYNC_TOKEN_FILE: '/t' },
      values: {},
    },
    { name: 'env: false reads no variable', argv: [], env: { FORGE_SYNC_SECRET: 's' }, values: {} },
    {
      name: 'last of a repeated string wins',
      argv: ['--listen', ':1', '--listen', ':2'],
      env: {},
      values: { listen: ':2' },
    },
  ])('$name', ({ argv, env, values }) => {
    expect(parseFlags(SPEC, argv, env)).toEqual({ ...DEFAULTS, ...values });
  });

  it.each([
    ['1', true],
    ['true', true],
    ['TRUE', true],
    ['yes', true],
    ['On', true],
    ['0', false],
    ['false', false],
    ['No', false],
    ['off', false],
  ])('boolean env %j → %s', (raw, expected) => {
    expect(parseFlags(SPEC, [], { FORGE_SYNC_VERBOSE: raw }).verbose).toBe(expected);
  });

  it.each(['maybe', '2', 'y', 'truee', ' true'])(
    'bad boolean env %j is E_USAGE naming the variable',
    (raw) => {
      const err = appErrorOf(() => parseFlags(SPEC, [], { FORGE_SYNC_VERBOSE: raw }));
      expect(err.code).toBe('E_USAGE');
      expect(err.message).toBe(`FORGE_SYNC_VERBOSE: expected true or false, got "${raw}"`);
    },
  );

  it.each([
    [['--lisen', ':1'], 'unknown flag --lisen (see forge-sync agent --help)'],
    [['--listen', ':1', '--bogus'], 'unknown flag --bogus (see forge-sync agent --help)'],
    [['-x'], 'unknown flag -x (see forge-sync agent --help)'],
    [['--listen'], 'flag --listen needs a value (see forge-sync agent --help)'],
    [['--verbose', '--state-dir'], 'flag --state-dir needs a value (see forge-sync agent --help)'],
    [['--root'], 'flag --root needs a value (see forge-sync agent --help)'],
    [['stray'], 'unexpected argument "stray" (see forge-sync agent --help)'],
    [['--verbose', 'stray', 'more'], 'unexpected argument "stray" (see forge-sync agent --help)'],
    [['--', '--listen'], 'unexpected argument "--listen" (see forge-sync agent --help)'],
  ])('%j is E_USAGE: %s', (argv, message) => {
    const err = appErrorOf(() => parseFlags(SPEC, argv, {}));
    expect(err.code).toBe('E_USAGE');
    expect(err.message).toBe(message);
  });

  it.each([
    [['--verbose=yes'], '--verbose'],
    [['--listen', '--verbose'], '--listen'],
  ])('%j is E_USAGE naming %s', (argv, flag) => {
    const err = appErrorOf(() => parseFlags(SPEC, argv, {}));
    expect(err.code).toBe('E_USAGE');
    expect(err.message).toContain(flag);
    expect(err.message).toMatch(/\(see forge-sync agent --help\)$/);
  });
});

describe('envName', () => {
  it.each<[Parameters<typeof envName>[0], string | undefined]>([
    [{ name: 'dest', type: 'string', help: '' }, 'FORGE_SYNC_DEST'],
    [{ name: 'batch-bytes', type: 'string', help: '' }, 'FORGE_SYNC_BATCH_BYTES'],
    [{ name: 'x', type: 'string', help: '', env: 'CUSTOM' }, 'CUSTOM'],
    [{ name: 'x', type: 'string', help: '', env: false }, undefined],
  ])('%o → %s', (flag, expected) => {
    expect(envName(flag)).toBe(expected);
  });
});

describe('wantsHelp', () => {
  it.each([
    [['--help'], true],
    [['-h'], true],
    [['--listen', ':1', '--help'], true],
    [['--listen', ':1'], false],
    [['--helpme'], false],
    [[], false],
  ])('%j → %s', (argv, expected) => {
    expect(wantsHelp(argv)).toBe(expected);
  });
});

describe('typed readers', () => {
  it('stringValue, listValue and booleanValue', () => {
    const values: FlagValues = { s: 'x', l: ['a', 'b'], b: true, f: false, n: undefined };
    expect(stringValue(values, 's')).toBe('x');
    expect(stringValue(values, 'l')).toBeUndefined();
    expect(stringValue(values, 'n')).toBeUndefined();
    expect(listValue(values, 'l')).toEqual(['a', 'b']);
    expect(listValue(values, 's')).toEqual(['x']);
    expect(listValue(values, 'n')).toEqual([]);
    expect(booleanValue(values, 'b')).toBe(true);
    expect(booleanValue(values, 'f')).toBe(false);
    expect(booleanValue(values, 's')).toBe(false);
  });

  it.each([
    ['0', 0],
    ['1', 1],
    ['64', 64],
    [' 7 ', 7],
  ])('intValue %j → %d', (raw, expected) => {
    expect(intValue({ jobs: raw }, 'jobs', 0, 64)).toBe(expected);
  });

  it.each(['-1', '65', '1.5', '1e1', 'abc', '', '0x10', '10abc'])(
    'intValue %j is E_USAGE naming the flag',
    (raw) => {
      const err = appErrorOf(() => intValue({ jobs: raw }, 'jobs', 0, 64));
      expect(err.code).toBe('E_USAGE');
      expect(err.message).toBe(`--jobs: expected a whole number from 0 to 64, got "${raw}"`);
    },
  );

  it('intValue is undefined when the flag has no value', () => {
    expect(intValue({}, 'jobs', 0, 64)).toBeUndefined();
  });

  it.each([
    ['1048576', 1_048_576],
    ['100B', 100],
    ['1KB', 1_000],
    ['1KiB', 1_024],
    ['1.5KiB', 1_536],
    ['64MiB', 67_108_864],
    ['64mib', 67_108_864],
    ['10 MB', 10_000_000],
    ['1GB', 1_000_000_000],
    ['2GiB', 2_147_483_648],
  ])('bytesValue %j → %d', (raw, expected) => {
    expect(bytesValue({ 'batch-bytes': raw }, 'batch-bytes')).toBe(expected);
  });

  it.each(['', 'MiB', '-1MiB', '1TB', '1 M', 'lots', '1,000'])(
    'bytesValue %j is E_USAGE naming the flag',
    (raw) => {
      const err = appErrorOf(() => bytesValue({ 'batch-bytes': raw }, 'batch-bytes'));
      expect(err.code).toBe('E_USAGE');
      expect(err.message).toBe(`--batch-bytes: expected a size like 64MiB or 1GB, got "${raw}"`);
    },
  );

  it.each([
    ['10s', 10_000],
    ['1.5h', 5_400_000],
    ['0s', 0],
  ])('durationValue %j → %d', (raw, expected) => {
    expect(durationValue({ settle: raw }, 'settle')).toBe(expected);
  });

  it.each(['10', 'soon', '-1s'])('durationValue %j is E_USAGE naming the flag', (raw) => {
    const err = appErrorOf(() => durationValue({ settle: raw }, 'settle'));
    expect(err.code).toBe('E_USAGE');
    expect(err.message).toBe(`--settle: expected a duration like 10s, 5m, 24h or 500ms, got "${raw}"`);
  });

  it('bytesValue refuses zero, and durationValue refuses it when asked for a positive limit', () => {
    expect(appErrorOf(() => bytesValue({ 'batch-bytes': '0MiB' }, 'batch-bytes')).message).toBe(
      '--batch-bytes: expected a size above zero, got "0MiB"',
    );
    expect(durationValue({ settle: '0s' }, 'settle')).toBe(0);
    expect(
      appErrorOf(() => durationValue({ 'older-than': '0s' }, 'older-than', { positive: true })).message,
    ).toBe('--older-than: expected a duration above zero, got "0s"');
  });

  it('durationValue and bytesValue are undefined when the flag has no value', () => {
    expect(durationValue({}, 'settle')).toBeUndefined();
    expect(bytesValue({}, 'batch-bytes')).toBeUndefined();
  });
});

describe('parseFlags with free words', () => {
  const SEARCH: CommandSpec = {
    command: 'search',
    summary: 'test search',
    words: 'QUERY',
    flags: [
      { name: 'seed', type: 'string', help: 'seed', env: false },
      { name: 'json', type: 'boolean', help: 'json', env: false },
    ],
  };

  it.each<{ argv: string[]; words: string; seed?: string; json?: boolean }>([
    // `-wings` excludes a word; it was refused as "unknown flag -w".
    { argv: ['victorian', '-wings'], words: 'victorian -wings' },
    { argv: ['-wings', 'victorian', '--json'], words: '-wings victorian', json: true },
    { argv: ['a', '--seed', '5', '-b', 'OR', 'c'], words: 'a -b OR c', seed: '5' },
    { argv: ['--seed=7', '"a phrase"', '-x'], words: '"a phrase" -x', seed: '7' },
    { argv: ['a', '--', '--json'], words: 'a --json' },
  ])('$argv', ({ argv, words, seed, json }) => {
    const values = parseFlags(SEARCH, argv, {});
    expect(values._).toBe(words);
    expect(values.seed).toBe(seed);
    expect(values.json).toBe(json ?? undefined);
  });

  it('still refuses an unknown long flag', () => {
    expect(appErrorOf(() => parseFlags(SEARCH, ['a', '--nope'], {})).message).toContain(
      'unknown flag --nope',
    );
  });
});
