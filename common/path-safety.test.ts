// Unit tests for manifest path safety, root names, root/rest splitting and versioned stored names.
import { describe, expect, it } from 'vitest';
import { isAppError } from './errors.js';
import {
  assertSafePath,
  isSafePath,
  splitRootPath,
  unsafePathReason,
  unsafeRootNameReason,
  versionedPath,
} from './path-safety.js';

const H = '0123456789abcdef';

describe('unsafePathReason', () => {
  const longName = 'x'.repeat(255);
  it.each([
    ['plain', 'outputs/a.png', null],
    ['one segment', 'a', null],
    ['deep', 'outputs/txt2img-images/2024-01-01/00001-123.png', null],
    ['dots inside names', 'outputs/..a/b..png', null],
    ['three dots', 'outputs/.../x', null],
    ['hidden name', 'outputs/.hidden', null],
    ['unicode and spaces', 'outputs/ünïcödé 名前.png', null],
    ['colon after the first segment', 'outputs/a:b.png', null],
    ['255-byte segment', `outputs/${longName}`, null],
    ['empty', '', 'empty path'],
    ['4097 characters', 'x/'.repeat(2048) + 'x', 'path too long'],
    ['NUL inside', 'a\0b', 'NUL byte in path'],
    ['NUL at the end', 'outputs/a.png\0', 'NUL byte in path'],
    ['a lone high surrogate', 'outputs/a\ud800.png', 'not well-formed Unicode (a lone surrogate)'],
    ['a lone low surrogate', 'outputs/\udfffa.png', 'not well-formed Unicode (a lone surrogate)'],
    [
      'surrogates the wrong way round',
      'outputs/\ude00\ud83d.png',
      'not well-formed Unicode (a lone surrogate)',
    ],
    ['backslash', 'a\\b.png', 'backslash in path'],
    ['backslash traversal', '..\\etc\\passwd', 'backslash in path'],
    ['absolute', '/etc/x', 'absolute path'],
    ['root', '/', 'absolute path'],
    ['drive letter with slash', 'C:/Windows/x', 'drive-letter path'],
    ['drive-relative', 'c:x', 'drive-letter path'],
    ['bare drive', 'Z:', 'drive-letter path'],
    ['double slash', 'a//b', 'empty path segment'],
    ['trailing slash', 'a/', 'empty path segment'],
    ['trailing slash deep', 'a/b/', 'empty path segment'],
    ['dot-dot', '..', '".." segment'],
    ['leading dot-dot', '../x', '".." segment'],
    ['dot-dot escaping', 'a/../../etc/passwd', '".." segment'],
    ['trailing dot-dot', 'a/..', '".." segment'],
    ['dot', '.', '"." segment'],
    ['leading dot', './a', '"." segment'],
    ['inner dot', 'a/./b', '"." segment'],
    ['256-byte segment', `outputs/${longName}x`, 'path segment too long'],
    // 128 two-byte characters: 128 UTF-16 units but 256 bytes.
    ['256 bytes of two-byte characters', `outputs/${'é'.repeat(128)}`, 'path segment too long'],
  ])('%s', (_label, path, reason) => {
    expect(unsafePathReason(path)).toBe(reason);
    expect(isSafePath(path)).toBe(reason === null);
  });

  it('allows exactly 4096 characters', () => {
    const head = Array.from({ length: 16 }, () => 'x'.repeat(254)).join('/');
    const path = `${head}/${'y'.repeat(4096 - head.length - 1)}`;
    expect(path.length).toBe(4096);
    expect(unsafePathReason(path)).toBeNull();
    expect(unsafePathReason(`${path}y`)).toBe('path too long');
  });
});

describe('assertSafePath', () => {
  it('throws E_UNSAFE_PATH naming the path and the rule', () => {
    let caught: unknown;
    try {
      assertSafePath('a/../b');
    } catch (err) {
      caught = err;
    }
    expect(isAppError(caught, 'E_UNSAFE_PATH')).toBe(true);
    expect((caught as Error).message).toBe('unsafe path "a/../b": ".." segment');
  });

  it('returns quietly for a safe path', () => {
    expect(() => assertSafePath('a/b.png')).not.toThrow();
  });
});

describe('unsafeRootNameReason', () => {
  it.each([
    ['outputs', null],
    ['ComfyUI-output', null],
    ['out.v2', null],
    ['a/b', 'a root name is a single folder name, without "/"'],
    ['/outputs', 'a root name is a single folder name, without "/"'],
    ['outputs/', 'a root name is a single folder name, without "/"'],
    ['.forge-sync', 'a root name may not start with "."'],
    ['.', 'a root name may not start with "."'],
    ['..', 'a root name may not start with "."'],
    ['', 'empty path'],
    ['a\\b', 'backslash in path'],
    ['a\0', 'NUL byte in path'],
    ['C:', 'drive-letter path'],
  ])('%j → %j', (name, reason) => {
    expect(unsafeRootNameReason(name)).toBe(reason);
  });
});

describe('splitRootPath', () => {
  it.each([
    ['outputs/a.png', { root: 'outputs', rel: 'a.png' }],
    ['outputs/sub/dir/a.png', { root: 'outputs', rel: 'sub/dir/a.png' }],
    ['r/x', { root: 'r', rel: 'x' }],
    ['outputs', null],
    ['outputs/', null],
    ['/a.png', null],
    ['', null],
  ])('%j → %j', (path, expected) => {
    expect(splitRootPath(path)).toEqual(expected);
  });
});

describe('versionedPath', () => {
  it.each([
    ['dir/ComfyUI_00001_.png', `dir/ComfyUI_00001_~${H}.png`],
    ['agent/outputs/a/b/c.webp', `agent/outputs/a/b/c~${H}.webp`],
    ['a.png', `a~${H}.png`],
    ['dir/README', `dir/README~${H}`],
    ['README', `README~${H}`],
    ['dir.v2/file', `dir.v2/file~${H}`],
    ['a.b/c.d/file', `a.b/c.d/file~${H}`],
    ['a.b/c.d/file.png', `a.b/c.d/file~${H}.png`],
    ['dir/archive.tar.gz', `dir/archive.tar~${H}.gz`],
    ['dir/00001-123.0.5.png', `dir/00001-123.0.5~${H}.png`],
    ['dir/.hidden', `dir/.hidden~${H}`],
    ['dir/.hidden.png', `dir/.hidden~${H}.png`],
    ['dir/trailing.', `dir/trailing~${H}.`],
  ])('%j → %j', (path, expected) => {
    expect(versionedPath(path, H)).toBe(expected);
  });

  it('is deterministic and differs per hash', () => {
    expect(versionedPath('d/a.png', H)).toBe(versionedPath('d/a.png', H));
    expect(versionedPath('d/a.png', H)).not.toBe(versionedPath('d/a.png', 'fedcba9876543210'));
  });

  it('keeps a versioned name safe', () => {
    expect(unsafePathReason(versionedPath('agent/outputs/sub/a.png', H))).toBeNull();
  });
});
