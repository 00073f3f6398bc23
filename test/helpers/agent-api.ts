// Talking to a real agent the way a controller would, or a thief might: manifest, archive, ack and purge by hand.
import tar from 'tar-stream';
import type {
  AckResponse,
  ArchiveReport,
  PurgeFileResult,
  PurgeRequest,
  PurgeRequestFile,
} from '../../common/protocol.js';
import { PURGE_TOKEN, TOKEN } from './processes.js';

export const readAuth = { authorization: `Bearer ${TOKEN}` };
export const purgeAuth = { authorization: `Bearer ${PURGE_TOKEN}` };

/** The agent's manifest, as the purge request fields of each file. */
export async function manifestOf(url: string): Promise<Map<string, PurgeRequestFile>> {
  const response = await fetch(`${url}/v1/manifest`, { headers: readAuth });
  if (!response.ok) throw new Error(`manifest: ${response.status}`);
  const files = new Map<string, PurgeRequestFile>();
  for (const line of (await response.text()).trim().split('\n')) {
    const parsed = JSON.parse(line) as { type: string } & PurgeRequestFile;
    if (parsed.type === 'file') {
      const { path, size, mtimeMs, ino, xxh64 } = parsed;
      files.set(path, { path, size, mtimeMs, ino, xxh64 });
    }
  }
  return files;
}

/** Asks for an archive of `files` and reads it to the end; returns its report (with the archive id). */
export async function archiveReport(url: string, files: readonly PurgeRequestFile[]): Promise<ArchiveReport> {
  const response = await fetch(`${url}/v1/archive`, {
    method: 'POST',
    headers: { ...readAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ files: files.map(({ path, xxh64, size }) => ({ path, xxh64, size })) }),
  });
  if (!response.ok) throw new Error(`archive: ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  return new Promise((resolve, reject) => {
    const extract = tar.extract();
    let report: ArchiveReport | undefined;
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        if (header.name === '.forge-sync/report.json') {
          report = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ArchiveReport;
        }
        next();
      });
    });
    extract.on('finish', () => (report ? resolve(report) : reject(new Error('no report'))));
    extract.on('error', reject);
    extract.end(bytes);
  });
}

export async function ack(
  url: string,
  archiveId: string,
  files: readonly { path: string; xxh64: string }[],
): Promise<{ status: number; body: AckResponse }> {
  const response = await fetch(`${url}/v1/ack`, {
    method: 'POST',
    headers: { ...readAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ archiveId, files: files.map(({ path, xxh64 }) => ({ path, xxh64 })) }),
  });
  return { status: response.status, body: (await response.json()) as AckResponse };
}

/** POST /v1/purge with the given headers (the purge token unless told otherwise). */
export async function purgeDirect(
  url: string,
  request: Partial<PurgeRequest> & { files: PurgeRequestFile[] },
  headers: Record<string, string> = purgeAuth,
): Promise<{ status: number; results: PurgeFileResult[]; error?: { code: string; message: string } }> {
  const response = await fetch(`${url}/v1/purge`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ runId: 'direct01', dryRun: false, ...request }),
  });
  const body = (await response.json()) as {
    results?: PurgeFileResult[];
    error?: { code: string; message: string };
  };
  return {
    status: response.status,
    results: body.results ?? [],
    ...(body.error ? { error: body.error } : {}),
  };
}
