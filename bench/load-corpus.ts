// The load scenario's files: PNG-shaped bodies spread over each agent's folders, and waiting with deadlines.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The agent's folders: 100 files each, as Forge's dated folders hold many. */
export function agentFile(root: string, i: number): { dir: string; path: string } {
  const dir = join(root, 'txt2img-images', `batch-${String(Math.floor(i / 100)).padStart(4, '0')}`);
  return { dir, path: join(dir, `${String(i).padStart(6, '0')}-${1000 + i}.png`) };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/** A PNG-shaped file (signature, filler, IEND) whose bytes are distinct per (agent, index). */
export function fileBody(pool: Buffer, agent: number, i: number, bytes: number): Buffer {
  const body = Buffer.allocUnsafe(bytes);
  PNG_SIGNATURE.copy(body, 0);
  pool.copy(body, 8, (agent * 7919 + i) % 4096, ((agent * 7919 + i) % 4096) + bytes - 8 - 12 - 16);
  body.write(`${agent}:${i}`.padStart(16, '0'), bytes - 12 - 16, 'latin1');
  PNG_IEND.copy(body, bytes - 12);
  return body;
}

/** Writes agent `a`'s files, `concurrency` at a time. */
export async function writeFiles(
  root: string,
  a: number,
  options: { files: number; bytes: number },
  pool: Buffer,
): Promise<void> {
  const made = new Map<string, Promise<unknown>>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < options.files; i = next++) {
      const { dir, path } = agentFile(root, i);
      if (!made.has(dir)) made.set(dir, mkdir(dir, { recursive: true }));
      await made.get(dir);
      await writeFile(path, fileBody(pool, a, i, options.bytes));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

export async function until(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** `promise`, or a failure naming `what` once `deadline` (ms since the epoch) has passed. */
export async function within<T>(what: string, deadline: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${what}`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every file under `dir`, relative paths. */
export async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}
