// Property tests for the infotext parser: it never throws, stays fast on hostile text, and round-trips what it understands.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInfotext } from './infotext.js';

/** Pieces infotext is made of, so generated text hits the parser's paths and not only its fallbacks. */
const fragment = fc.oneof(
  fc.constantFrom(
    'Negative prompt:',
    'Steps: 20',
    'Sampler: Euler a',
    'CFG scale: 7',
    'Seed: 123',
    'Size: 512x768',
    'Lora hashes: "a: 1, b: 2"',
    ', ',
    ': ',
    '"',
    '\\',
    '\\"',
    '\n',
    '\r\n',
    '\r',
    ' ',
    '__proto__: x',
    'constructor: y',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const infotextLike = fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join(''));

/** A1111's own regex, with no bound on the key: the oracle for text where keys are short. */
const A1111_PARAM = /\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;

describe('parseInfotext, on generated text', () => {
  it('never throws, and always gives strings where strings are promised', () => {
    fc.assert(
      fc.property(fc.oneof(infotextLike, fc.string({ unit: 'binary', maxLength: 300 })), (text) => {
        const info = parseInfotext(text);
        expect(typeof info.prompt).toBe('string');
        expect(typeof info.negativePrompt).toBe('string');
        for (const value of Object.values(info.params)) expect(typeof value).toBe('string');
        expect(Array.isArray(info.problems)).toBe(true);
        if (info.steps !== undefined) expect(Number.isSafeInteger(info.steps)).toBe(true);
        if (info.cfgScale !== undefined) expect(Number.isFinite(info.cfgScale)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads the parameters line as A1111 does, where keys are of a real length', () => {
    fc.assert(
      fc.property(infotextLike, (text) => {
        const last = text.trim().split(/\r?\n/).pop() ?? '';
        const theirs = [...last.matchAll(A1111_PARAM)];
        fc.pre(theirs.every((match) => match[1]!.length <= 128));
        const info = parseInfotext(text);
        if (theirs.length < 3) expect(info.params).toEqual({});
        else
          expect(Object.keys(info.params)).toEqual(
            [...new Set(theirs.map((match) => match[1]!))].filter((key) => key !== '__proto__'),
          );
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    // Under the 64 KiB bound of a parameters line: the bounded key keeps the regex linear.
    ['60 KiB of word characters without a colon', 'a'.repeat(60 << 10)],
    ['60 KiB of words and dashes without a colon', 'a b-'.repeat(15 << 10)],
    // Over it: not read as parameters at all.
    ['200 KiB of word characters after a prompt line', `prompt\n${'x/'.repeat(100 << 10)}`],
    ['1 MiB of unclosed quotes', `p\nSteps: 1, Sampler: x, CFG scale: 2, ${'k: "\\", '.repeat(1 << 17)}`],
    ['1 MiB of pairs', `p\n${'Key name: value, '.repeat(1 << 16)}`],
  ])('reads %s quickly', (_label, text) => {
    const started = performance.now();
    parseInfotext(text);
    // Unbounded, the first two took about 4 s each and the third about 20 s; the bound is loose for a busy machine.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

/** The fields A1111 writes, as the parser should give them back. */
const fields = fc.record({
  promptLines: fc.array(
    fc
      .string({ minLength: 1, maxLength: 40 })
      .map((line) => line.replace(/[\r\n]/g, ' ').trim())
      .filter((line) => line !== '' && !line.startsWith('Negative prompt:')),
    { maxLength: 3 },
  ),
  negativeLines: fc.array(
    fc
      .string({ minLength: 1, maxLength: 40 })
      .map((line) => line.replace(/[\r\n]/g, ' ').trim())
      .filter((line) => line !== ''),
    { maxLength: 2 },
  ),
  steps: fc.integer({ min: 1, max: 150 }),
  sampler: fc.constantFrom(
    'Euler a',
    'DPM++ 2M',
    'DPM++ 2M SDE',
    'UniPC',
    'LCM',
    'Sampler, with: odd "chars"',
  ),
  scheduleType: fc.option(fc.constantFrom('Karras', 'Exponential', 'SGM Uniform'), { nil: undefined }),
  cfgTenths: fc.integer({ min: 0, max: 300 }),
  seed: fc.bigInt({ min: 0n, max: 2n ** 64n }),
  width: fc.integer({ min: 64, max: 4096 }),
  height: fc.integer({ min: 64, max: 4096 }),
  model: fc
    .string({ minLength: 1, maxLength: 30 })
    .map((model) => model.replace(/[\r\n]/g, '_').trim() || 'm'),
  modelHash: fc.stringMatching(/^[0-9a-f]{10}$/),
  loras: fc.dictionary(
    fc.stringMatching(/^[A-Za-z][\w .-]{0,15}[A-Za-z0-9]$/),
    fc.stringMatching(/^[0-9a-f]{12}$/),
    { maxKeys: 4 },
  ),
  extra: fc.dictionary(
    fc.stringMatching(/^[A-Za-z][\w-]{1,10}( [\w-]{1,10}){0,2}$/),
    fc.string({ maxLength: 30 }).map((value) => value.replace(/[\r\n]/g, ' ')),
    { maxKeys: 4 },
  ),
});

/** A1111's quoting of a value: JSON when it holds a comma, colon or newline (and, here, when it would misread). */
function quote(value: string): string {
  const plain = !/[,:\n]/.test(value) && !value.startsWith('"') && value === value.trim();
  return plain ? value : JSON.stringify(value);
}

describe('parseInfotext, on infotext written from generated fields', () => {
  it('gives back every field it understands', () => {
    fc.assert(
      fc.property(fields, (f) => {
        const known = new Set([
          'Steps',
          'Sampler',
          'Schedule type',
          'CFG scale',
          'Seed',
          'Size',
          'Model hash',
          'Model',
          'Lora hashes',
        ]);
        const extra = Object.entries(f.extra).filter(([key]) => !known.has(key) && key !== '__proto__');
        const loras = Object.entries(f.loras);
        const cfg = f.cfgTenths / 10;
        const params: [string, string][] = [
          ['Steps', String(f.steps)],
          ['Sampler', f.sampler],
          ...(f.scheduleType ? [['Schedule type', f.scheduleType] as [string, string]] : []),
          ['CFG scale', String(cfg)],
          ['Seed', String(f.seed)],
          ['Size', `${f.width}x${f.height}`],
          ['Model hash', f.modelHash],
          ['Model', f.model],
          ...(loras.length
            ? [
                ['Lora hashes', loras.map(([name, hash]) => `${name}: ${hash}`).join(', ')] as [
                  string,
                  string,
                ],
              ]
            : []),
          ...extra,
        ];
        const text = [
          ...f.promptLines,
          ...(f.negativeLines.length ? [`Negative prompt: ${f.negativeLines.join('\n')}`] : []),
          params.map(([key, value]) => `${key}: ${quote(value)}`).join(', '),
        ].join('\n');

        const info = parseInfotext(text);
        expect(info.prompt).toBe(f.promptLines.join('\n'));
        expect(info.negativePrompt).toBe(f.negativeLines.join('\n'));
        expect(info.steps).toBe(f.steps);
        expect(info.sampler).toBe(f.sampler);
        expect(info.scheduleType).toBe(f.scheduleType);
        expect(info.cfgScale).toBe(cfg);
        expect(info.seed).toBe(f.seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(f.seed) : String(f.seed));
        expect([info.width, info.height]).toEqual([f.width, f.height]);
        expect(info.modelHash).toBe(f.modelHash);
        expect(info.model).toBe(f.model);
        if (loras.length) expect(info.loraHashes).toEqual(f.loras);
        expect(info.params).toEqual(Object.fromEntries(params));
        expect(info.problems).toEqual([]);
      }),
      { numRuns: 1500 },
    );
  });
});
