// Unit tests for the search-box-to-tsquery translation.
import { describe, expect, it } from 'vitest';
import { toPrefixTsquery } from './search-text.js';

describe('toPrefixTsquery', () => {
  it.each([
    ['girl', 'girl:*'],
    ['1girl Solo', '1girl:* & solo:*'],
    ['blue_hair', '(blue:* <-> hair:*)'],
    ['(masterpiece:1.2)', '(masterpiece:* <-> 1.2:*)'],
    ['cat -dog', 'cat:* & !dog:*'],
    ['"red fox" forest', '(red:* <-> fox:*) & forest:*'],
    ['cat OR dog bird', '(cat:* | dog:*) & bird:*'],
    ['OR cat', 'cat:*'],
    ['whale or jumping', '(whale:* | jumping:*)'],
    ["it's & | ! <-> :*", '(it:* <-> s:*)'],
    ['東京の夜景', '東京の夜景:*'],
    ['!!! ---', null],
    ['', null],
  ])('%j → %j', (text, want) => {
    expect(toPrefixTsquery(text)).toBe(want);
  });
});
