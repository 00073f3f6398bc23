// Unit tests for the exact JSON parser: same values as JSON.parse, except big integers stay exact.
import { describe, expect, it } from 'vitest';
import { parseJsonExact } from './json-exact.js';

describe('parseJsonExact', () => {
  it.each([
    '{}',
    '[]',
    ' { "a" : [1, -2.5, 3e2, 0, -0, true, false, null, "x\\n\\u00e9\\"" ], "b": {"c": {}} } ',
    '"just a string"',
    '12',
    JSON.stringify({
      '3': { inputs: { seed: 280823642470253, cfg: 8.0, model: ['4', 0] }, class_type: 'KSampler' },
    }),
  ])('agrees with JSON.parse on %s', (text) => {
    expect(parseJsonExact(text)).toStrictEqual(JSON.parse(text));
  });

  it.each([
    ['18446744073709551615', 18446744073709551615n],
    ['-9007199254740993', -9007199254740993n],
    ['9007199254740992', 9007199254740992n],
    ['9007199254740991', 9007199254740991],
    ['1e300', 1e300],
    ['12345678901234567890.5', Number('12345678901234567890.5')],
  ] as const)('reads %s as %s', (text, want) => {
    expect(parseJsonExact(text)).toBe(want);
  });

  it('keeps a big seed inside a graph exact', () => {
    const text = '{"3": {"inputs": {"seed": 1125899906842624123, "steps": 20}}}';
    expect(parseJsonExact(text)).toStrictEqual({
      '3': { inputs: { seed: 1125899906842624123n, steps: 20 } },
    });
  });

  it('treats a "__proto__" key as data, like JSON.parse', () => {
    const parsed = parseJsonExact('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    expect(Object.keys(parsed)).toStrictEqual(['__proto__']);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each(['', '{', '{"a" 1}', '[1,]', '[1 2]', '"open', 'tru', '{"a":1} x', '01x'])('rejects %j', (text) => {
    expect(() => parseJsonExact(text)).toThrow(SyntaxError);
  });
});
