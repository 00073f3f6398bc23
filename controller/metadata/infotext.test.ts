// Unit tests for the infotext parser: prompt and negative lines, the parameters line, quoting and normalizing.
import { describe, expect, it } from 'vitest';
import { type Infotext, parseInfotext, parseNameHashes, toSeed } from './infotext.js';

const DUCK =
  'photo of a duck\nNegative prompt: monochrome\nSteps: 15, Sampler: UniPC, CFG scale: 5, Seed: 235284042, ' +
  'Size: 512x400, Model hash: c0d1994c73, Model: realistic_realisticVisionV20_v20';

const cases: { name: string; text: string; want: Partial<Infotext> }[] = [
  {
    name: 'the DOMAIN.md example',
    text: DUCK,
    want: {
      prompt: 'photo of a duck',
      negativePrompt: 'monochrome',
      steps: 15,
      sampler: 'UniPC',
      cfgScale: 5,
      seed: 235284042,
      width: 512,
      height: 400,
      modelHash: 'c0d1994c73',
      model: 'realistic_realisticVisionV20_v20',
      params: {
        Steps: '15',
        Sampler: 'UniPC',
        'CFG scale': '5',
        Seed: '235284042',
        Size: '512x400',
        'Model hash': 'c0d1994c73',
        Model: 'realistic_realisticVisionV20_v20',
      },
      problems: [],
    },
  },
  {
    name: 'multi-line prompt and negative prompt, Forge schedule type, fractional CFG',
    text:
      'a cat,\nsitting on a mat\nNegative prompt: blurry,\nlowres\n' +
      'Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 42, Size: 1024x768',
    want: {
      prompt: 'a cat,\nsitting on a mat',
      negativePrompt: 'blurry,\nlowres',
      steps: 30,
      sampler: 'DPM++ 2M',
      scheduleType: 'Karras',
      cfgScale: 6.5,
      seed: 42,
      width: 1024,
      height: 768,
    },
  },
  {
    name: 'JSON-quoted Lora hashes and an escaped newline in a quoted value',
    text:
      'portrait <lora:detail:0.6>\nSteps: 20, Sampler: Euler a, CFG scale: 7, ' +
      'Lora hashes: "detail: 1234abcd, styleX: 5678ef90", Note: "line one\\nline two: yes", Version: v1.10.1',
    want: {
      prompt: 'portrait <lora:detail:0.6>',
      negativePrompt: '',
      loraHashes: { detail: '1234abcd', styleX: '5678ef90' },
      params: {
        Steps: '20',
        Sampler: 'Euler a',
        'CFG scale': '7',
        'Lora hashes': 'detail: 1234abcd, styleX: 5678ef90',
        Note: 'line one\nline two: yes',
        Version: 'v1.10.1',
      },
      problems: [],
    },
  },
  {
    name: 'a last line with fewer than 3 pairs is prompt, not parameters',
    text: 'hello\nstyle: anime, mood: calm',
    want: { prompt: 'hello\nstyle: anime, mood: calm', negativePrompt: '', params: {} },
  },
  {
    name: 'parameters only, CRLF line ends, surrounding blank lines',
    text: '\r\nSteps: 4, Sampler: Euler, Seed: 7\r\n',
    want: { prompt: '', negativePrompt: '', steps: 4, sampler: 'Euler', seed: 7 },
  },
  {
    name: 'a seed past 2^53 stays an exact decimal string',
    text: 'x\nSteps: 1, Sampler: Euler, Seed: 18446744073709551615',
    want: { seed: '18446744073709551615' },
  },
  {
    name: 'a quoted value that is not a JSON string is kept and reported',
    text: 'x\nSteps: 1, Sampler: Euler, Bad: "\\x41"',
    want: {
      params: { Steps: '1', Sampler: 'Euler', Bad: '"\\x41"' },
      problems: ['infotext value of "Bad" is quoted but is not a JSON string'],
    },
  },
  {
    name: 'non-numeric values are left in params only',
    text: 'x\nSteps: many, CFG scale: high, Seed: -1x, Size: big',
    want: { params: { Steps: 'many', 'CFG scale': 'high', Seed: '-1x', Size: 'big' } },
  },
];

describe('parseInfotext', () => {
  it.each(cases)('$name', ({ text, want }) => {
    const got = parseInfotext(text);
    // exact on every field the case names (toMatchObject would accept extra params)
    const picked = Object.fromEntries(Object.keys(want).map((key) => [key, got[key as keyof Infotext]]));
    expect(picked).toStrictEqual(want);
  });

  it('omits normalized fields that are absent', () => {
    const got = parseInfotext('just a prompt');
    expect(got).toStrictEqual({ prompt: 'just a prompt', negativePrompt: '', params: {}, problems: [] });
  });
});

describe('parseNameHashes', () => {
  it.each([
    ['a: 1234, b: 5678', { a: '1234', b: '5678' }],
    ['name:with:colon: abcd', { 'name:with:colon': 'abcd' }],
    ['', {}],
    ['nohash, : x', {}],
  ])('%j', (value, want) => {
    expect(parseNameHashes(value)).toStrictEqual(want);
  });
});

describe('toSeed', () => {
  it.each([
    ['235284042', 235284042],
    [' 12 ', 12],
    ['9007199254740991', 9007199254740991],
    ['9007199254740993', '9007199254740993'],
    [280823642470253, 280823642470253],
    [2n ** 64n - 1n, '18446744073709551615'],
    [12n, 12],
    ['1.5', undefined],
    [Number.NaN, undefined],
  ] as const)('%s', (value, want) => {
    expect(toSeed(value)).toBe(want);
  });
});
