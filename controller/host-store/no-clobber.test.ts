// Unit tests for withinNameLimits: Linux's NAME_MAX and PATH_MAX counted in UTF-8 bytes, not characters.
import { describe, expect, it } from 'vitest';
import { withinNameLimits } from './no-clobber.js';

const nested = (count: number, name: string): string =>
  `/${Array.from({ length: count }, () => name).join('/')}`;

describe('withinNameLimits', () => {
  it.each([
    ['x', 255],
    ['\u00e9', 127],
    ['\u{1f600}', 63],
  ])('holds a name of up to 255 bytes in %s, and not one more character', (char, count) => {
    expect(withinNameLimits(`/dest/${char.repeat(count)}/a.png`)).toBe(true);
    expect(withinNameLimits(`/dest/${char.repeat(count + 1)}/a.png`)).toBe(false);
    expect(withinNameLimits(`/dest/a/${char.repeat(count + 1)}`)).toBe(false);
  });

  it('holds a path of up to 4095 bytes', () => {
    // 16 names of 254 bytes and 16 slashes: 4080 bytes; one name more: 4335.
    expect(withinNameLimits(nested(16, 'x'.repeat(254)))).toBe(true);
    expect(withinNameLimits(nested(17, 'x'.repeat(254)))).toBe(false);
    expect(withinNameLimits(`/${'x'.repeat(200)}/`.repeat(20).slice(0, 4095))).toBe(true);
    // In characters the same path is short enough; in bytes it is not.
    expect(withinNameLimits(nested(17, '\u00e9'.repeat(127)))).toBe(false);
    expect(nested(17, '\u00e9'.repeat(127)).length).toBeLessThan(4095);
  });
});
