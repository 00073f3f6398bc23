// A stand-in for Forge or ComfyUI in the compose stack and the Docker tests: writes PNGs (with
// ComfyUI-style metadata) into an output folder in bursts, the way a busy GPU does.
// Usage: node fake-generator.js [DIR] [--bursts N] [--per-burst N] [--every 2s]
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { parseDuration } from '../common/duration.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    bursts: { type: 'string', default: '0' },
    'per-burst': { type: 'string', default: '5' },
    every: { type: 'string', default: '5s' },
    prefix: { type: 'string', default: 'ComfyUI' },
    bytes: { type: 'string', default: '200000' },
  },
});
const dir = positionals[0] ?? process.env.OUTPUT_DIR ?? '/output';
const bursts = Number(values.bursts);
const perBurst = Number(values['per-burst']);
const everyMs = parseDuration(values.every!, '--every');
const bytes = Number(values.bytes);

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buffer: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buffer) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid PNG of noise with a ComfyUI `prompt` text chunk. */
function png(seed: number): Buffer {
  const width = 64;
  const height = Math.max(1, Math.floor(bytes / (width * 3 + 1)));
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = randomBytes(height * (width * 3 + 1));
  for (let row = 0; row < height; row++) raw[row * (width * 3 + 1)] = 0;
  const prompt = JSON.stringify({
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed,
        steps: 20,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
      },
    },
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: `a lighthouse in a storm, seed ${seed}` } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry' } },
  });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('tEXt', Buffer.from(`prompt\0${prompt}`, 'latin1')),
    chunk('IDAT', deflateSync(raw, { level: 0 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

await mkdir(dir, { recursive: true });
let counter = 1;
for (let burst = 0; bursts === 0 || burst < bursts; burst++) {
  for (let i = 0; i < perBurst; i++, counter++) {
    const name = `${values.prefix}_${String(counter).padStart(5, '0')}_.png`;
    // Written aside and renamed, so a reader never sees half a file under the final name.
    await writeFile(join(dir, `.${name}.tmp`), png(1000 + counter));
    await rename(join(dir, `.${name}.tmp`), join(dir, name));
  }
  console.log(`wrote ${perBurst} image(s) into ${dir}`);
  if (bursts !== 0 && burst === bursts - 1) break;
  await new Promise((resolve) => setTimeout(resolve, everyMs));
}
