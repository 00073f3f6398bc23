// Unit tests for include/exclude path filters: the default media set, exclusions and globs with a slash.
import { describe, expect, it } from 'vitest';
import { createFilter, DEFAULT_INCLUDE } from './filters.js';

describe('createFilter with the default include', () => {
  const filter = createFilter([], []);

  it.each([
    ['a.png', true],
    ['a.jpg', true],
    ['a.jpeg', true],
    ['a.webp', true],
    ['a.gif', true],
    ['a.avif', true],
    ['a.mp4', true],
    ['a.webm', true],
    ['a.mov', true],
    ['a.mkv', true],
    ['a.flac', true],
    ['a.mp3', true],
    ['a.opus', true],
    ['00001-1234.txt', true],
    ['txt2img-images/2024-01-01/00001-1234.png', true],
    ['a/b/c/d/e/f/ComfyUI_00001_.webp', true],
    ['A.PNG', true],
    ['sub/Clip.MP4', true],
    ['x.JpEg', true],
    ['folder.png/inner.txt', true],
    ['a.json', false],
    ['a.safetensors', false],
    ['a.png.tmp', false],
    ['a.pngx', false],
    ['png', false],
    ['sub/workflow.json', false],
    ['a.tiff', false],
    ['.hidden.png', false],
    ['sub/.hidden.png', false],
  ])('%j → %s', (path, expected) => {
    expect(filter(path)).toBe(expected);
  });

  it('is the same as passing DEFAULT_INCLUDE explicitly', () => {
    const explicit = createFilter(DEFAULT_INCLUDE, []);
    for (const path of ['a.png', 'x/y.MP4', 'a.json', 'z/.h.png']) expect(explicit(path)).toBe(filter(path));
  });
});

describe('createFilter with includes and excludes', () => {
  it.each<{ name: string; include: string[]; exclude: string[]; path: string; expected: boolean }>([
    {
      name: 'exclude by name at any depth',
      include: [],
      exclude: ['*.txt'],
      path: 'a/b/00001.txt',
      expected: false,
    },
    {
      name: 'exclude keeps the rest',
      include: [],
      exclude: ['*.txt'],
      path: 'a/b/00001.png',
      expected: true,
    },
    { name: 'exclude ignores case', include: [], exclude: ['*.TXT'], path: 'x.txt', expected: false },
    {
      name: 'exclude with a slash matches the path below the root',
      include: [],
      exclude: ['grids/**'],
      path: 'grids/2024/g.png',
      expected: false,
    },
    {
      name: 'exclude with a slash does not match deeper folders of that name',
      include: [],
      exclude: ['grids/**'],
      path: 'txt2img/grids/g.png',
      expected: true,
    },
    {
      name: 'exclude by folder name at any depth',
      include: [],
      exclude: ['**/temp/**'],
      path: 'a/temp/b.png',
      expected: false,
    },
    {
      name: 'custom include replaces the default',
      include: ['*.json'],
      exclude: [],
      path: 'a/w.json',
      expected: true,
    },
    {
      name: 'custom include drops defaults',
      include: ['*.json'],
      exclude: [],
      path: 'a/i.png',
      expected: false,
    },
    {
      name: 'include with a slash matches the whole path',
      include: ['txt2img-images/**'],
      exclude: [],
      path: 'txt2img-images/2024/a.png',
      expected: true,
    },
    {
      name: 'include with a slash does not match elsewhere',
      include: ['txt2img-images/**'],
      exclude: [],
      path: 'img2img-images/2024/a.png',
      expected: false,
    },
    {
      name: 'include with a slash is anchored at the root',
      include: ['txt2img-images/**'],
      exclude: [],
      path: 'nested/txt2img-images/a.png',
      expected: false,
    },
    {
      name: 'include with a slash and a name pattern',
      include: ['videos/*.mp4'],
      exclude: [],
      path: 'videos/a.MP4',
      expected: true,
    },
    {
      name: 'include with a slash and a name pattern, one level only',
      include: ['videos/*.mp4'],
      exclude: [],
      path: 'videos/sub/a.mp4',
      expected: false,
    },
    {
      name: 'include with a slash ignores case',
      include: ['Txt2Img-Images/**'],
      exclude: [],
      path: 'txt2img-images/a.png',
      expected: true,
    },
    {
      name: 'any include of several',
      include: ['*.png', '*.json'],
      exclude: [],
      path: 'w.json',
      expected: true,
    },
    {
      name: 'exclude beats include',
      include: ['*.png'],
      exclude: ['*_mask.png'],
      path: 'a/b_mask.png',
      expected: false,
    },
    {
      name: 'slash include with a name exclude',
      include: ['outputs/**'],
      exclude: ['*.txt'],
      path: 'outputs/a/p.txt',
      expected: false,
    },
  ])('$name', ({ include, exclude, path, expected }) => {
    expect(createFilter(include, exclude)(path)).toBe(expected);
  });
});
