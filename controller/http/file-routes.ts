// GET /v1/files/:id, its content (Range, ETag) and its thumbnail: the gallery's reads of stored files.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { Context, Hono } from 'hono';
import type { Clock } from '../../common/clock.js';
import { AppError } from '../../common/errors.js';
import type { Catalog, FileDetail } from '../catalog/catalog.js';
import { THUMB_SIZES, type ThumbSize, type Thumbnailer } from './thumbnails.js';

const TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  avi: 'video/x-msvideo',
  flac: 'audio/flac',
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  wav: 'audio/wav',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json',
};

/** The content type for a stored file's name; unknown kinds are offered as bytes to download. */
export function contentTypeOf(path: string): string {
  const ext = /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  return TYPES[ext] ?? 'application/octet-stream';
}

/**
 * The byte range a `Range` header asks for in a file of `size` bytes: null for the whole file (no
 * header, or one we do not serve such as several ranges), 'unsatisfiable' for a range past the end.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return null;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

function fileId(c: Context): number {
  const raw = c.req.param('id') ?? '';
  if (!/^\d{1,15}$/.test(raw))
    throw new AppError('E_BAD_REQUEST', `file id: expected a whole number, got "${raw}"`);
  return Number(raw);
}

/** Adds the routes to `app`, which has already put auth in front of /v1/*. */
export function mountFileRoutes(
  app: Hono,
  deps: {
    catalog: Pick<Catalog, 'getFile' | 'setStarred'>;
    destRoot: string;
    thumbnails: Thumbnailer;
    clock: Clock;
  },
): void {
  const root = resolve(deps.destRoot);
  const load = async (c: Context): Promise<FileDetail> => {
    const id = fileId(c);
    const file = await deps.catalog.getFile(id);
    if (!file) throw new AppError('E_NOT_FOUND', `no stored file with id ${id}`);
    return file;
  };
  const hostPath = (file: FileDetail): string => {
    const path = resolve(root, ...file.storedPath.split('/'));
    // The catalog is ours, but a shared PostgreSQL catalog could name paths of another destination.
    if (!path.startsWith(root + sep))
      throw new AppError('E_UNSAFE_PATH', `stored path ${file.storedPath} leaves --dest`);
    return path;
  };

  app.get('/v1/files/:id', async (c) => {
    const file = await load(c);
    // On a shared catalog a copy may be under another controller's destination: say where.
    const where = file.destPath ? join(file.destPath, ...file.storedPath.split('/')) : hostPath(file);
    return c.json({ ...file, hostPath: where });
  });

  // A star is a favourite kept in the catalog, so every controller sharing it sees the same stars.
  for (const [method, starred] of [
    ['put', true],
    ['delete', false],
  ] as const) {
    app[method]('/v1/files/:id/star', async (c) => {
      const id = fileId(c);
      if (!(await deps.catalog.setStarred(id, starred, new Date(deps.clock.now())))) {
        throw new AppError('E_NOT_FOUND', `no stored file with id ${id}`);
      }
      return c.body(null, 204);
    });
  }

  app.get('/v1/files/:id/content', async (c) => {
    const file = await load(c);
    const path = hostPath(file);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) {
      throw new AppError('E_NOT_FOUND', `the stored copy of file ${file.id} is gone from ${file.storedPath}`);
    }
    const etag = `"${file.xxh64}"`;
    const headers: Record<string, string> = {
      'content-type': contentTypeOf(file.storedPath),
      'accept-ranges': 'bytes',
      etag,
      'cache-control': 'private, max-age=0, must-revalidate',
      'x-content-type-options': 'nosniff',
      // Stored bytes are whatever a container wrote: never let them run as a page of this origin.
      'content-security-policy': "sandbox; default-src 'none'",
    };
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
    const range = parseRange(c.req.header('range'), info.size);
    if (range === 'unsatisfiable') {
      return c.body(null, 416, { ...headers, 'content-range': `bytes */${info.size}` });
    }
    const { start, end } = range ?? { start: 0, end: info.size - 1 };
    const length = info.size === 0 ? 0 : end - start + 1;
    const status = range ? 206 : 200;
    const sent = {
      ...headers,
      'content-length': String(length),
      ...(range ? { 'content-range': `bytes ${start}-${end}/${info.size}` } : {}),
    };
    if (length === 0) return c.body(null, status, sent);
    const body = Readable.toWeb(createReadStream(path, { start, end })) as ReadableStream<Uint8Array>;
    return c.body(body, status, sent);
  });

  app.get('/v1/files/:id/thumbnail', async (c) => {
    const sizeParam = c.req.query('size') ?? '256';
    const size = Number(sizeParam) as ThumbSize;
    if (!THUMB_SIZES.includes(size)) {
      throw new AppError(
        'E_BAD_REQUEST',
        `size: expected one of ${THUMB_SIZES.join(', ')}, got "${sizeParam}"`,
      );
    }
    const file = await load(c);
    hostPath(file);
    const etag = `"${file.xxh64}-${size}"`;
    const headers = {
      'content-type': 'image/webp',
      etag,
      'cache-control': 'private, max-age=86400',
      'x-content-type-options': 'nosniff',
    };
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
    const thumb = await deps.thumbnails.get(file.storedPath, file.xxh64, size);
    return c.body(new Uint8Array(thumb.body), 200, {
      ...headers,
      ...(thumb.real ? {} : { 'cache-control': 'no-store', 'x-forge-sync-placeholder': '1' }),
    });
  });
}
