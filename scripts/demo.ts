// `npm run demo`: two agents serve demo Forge and ComfyUI output folders; one sync pulls them into ./synced;
// then it prints the command that serves the gallery over that catalog.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const REPO = resolve(import.meta.dirname, '..');
const BIN = join(REPO, 'bin/forge-sync.js');
const FIXTURES = join(REPO, 'test/fixtures/sd-parsers');
const DEMO = join(REPO, 'demo-output');
const DEST = join(REPO, 'synced');
const TOKEN = randomBytes(16).toString('hex');
const env = { ...process.env, FORGE_SYNC_TOKEN: TOKEN };

/** Where the sample files go, laid out the way Forge and ComfyUI name their outputs. */
const LAYOUT: Record<string, string> = {
  'forge/outputs/txt2img-images/2026-11-24/00000-235284042.png': 'AUTOMATIC1111/automatic1111_cropped.png',
  'forge/outputs/txt2img-images/2026-11-24/00001-235284043.jpg': 'AUTOMATIC1111/automatic1111_cropped.jpg',
  'forge/outputs/txt2img-images/2026-11-24/00002-235284044.png': 'AUTOMATIC1111/automatic1111_stealth.png',
  'forge/outputs/extras-images/00003.png': 'bad_images/text_after_idat.png',
  'comfyui/output/ComfyUI_00001_.png': 'ComfyUI/img2img_cropped.png',
  'comfyui/output/ComfyUI_00002_.png': 'ComfyUI/night_evening_day_morning_cropped.png',
  'comfyui/output/ComfyUI_00003_.png': 'ComfyUI/noisy_latents_3_subjects_cropped.png',
  'comfyui/output/upscaled/ComfyUI_00001_.png': 'ComfyUI/unclip_2pass_cropped.png',
};

async function buildDemoFolders(): Promise<void> {
  await rm(DEMO, { recursive: true, force: true });
  const old = new Date(Date.now() - 3_600_000);
  for (const [target, source] of Object.entries(LAYOUT)) {
    const path = join(DEMO, target);
    await mkdir(dirname(path), { recursive: true });
    await copyFile(join(FIXTURES, source), path);
    await utimes(path, old, old);
  }
  const sidecar = join(DEMO, 'forge/outputs/txt2img-images/2026-11-24/00000-235284042.txt');
  await writeFile(
    sidecar,
    'photo of a duck\nNegative prompt: monochrome\nSteps: 15, Sampler: UniPC, CFG scale: 5, Seed: 235284042\n',
  );
  await utimes(sidecar, old, old);
  // A half-written ComfyUI image and a Forge temp file: neither may be synced.
  await writeFile(
    join(DEMO, 'comfyui/output/ComfyUI_00004_.png'),
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]),
  );
  await writeFile(join(DEMO, 'forge/outputs/txt2img-images/2026-11-24/00004-1.tmp'), 'partial');
}

async function startAgent(name: string, root: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'agent', '--root', root, '--port', '0', '--settle', '2s'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = createInterface({ input: child.stderr! });
  const url = await new Promise<string>((resolveUrl, reject) => {
    lines.on('line', (line) => {
      if (line.includes('"agent listening"')) resolveUrl((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`agent ${name} exited with ${code}`)));
  });
  console.log(`agent ${name.padEnd(8)} serves ${relative(REPO, root)} at ${url}`);
  return { child, url };
}

async function listStored(dir: string, out: string[] = []): Promise<string[]> {
  for (const dirent of await readdir(dir, { withFileTypes: true })) {
    if (dirent.name === '.forge-sync') continue;
    const path = join(dir, dirent.name);
    if (dirent.isDirectory()) await listStored(path, out);
    else out.push(relative(REPO, path));
  }
  return out.sort();
}

const GALLERY_PORT = 8787;

/** Keeps the demo's token for the gallery (owner-only), and says how to open it. */
async function printGalleryCommand(): Promise<void> {
  const tokenFile = join(DEST, '.forge-sync/gallery-token');
  await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  console.log(
    [
      '',
      'See them in the gallery (search by prompt or seed, open one for its parameters). Run:',
      '',
      `  node bin/forge-sync.js controller --serve-only --dest ./synced --port ${GALLERY_PORT} --token-file ./synced/.forge-sync/gallery-token`,
      '',
      // The token rides in the #fragment, which the browser never sends to the server.
      `and open http://127.0.0.1:${GALLERY_PORT}/gallery#token=${TOKEN}`,
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  await buildDemoFolders();
  console.log(
    `demo outputs written under ${relative(REPO, DEMO)}/ (sample generations with real metadata)\n`,
  );
  const agents = [
    await startAgent('forge', join(DEMO, 'forge/outputs')),
    await startAgent('comfyui', join(DEMO, 'comfyui/output')),
  ];
  try {
    const sync = spawn(
      process.execPath,
      [
        BIN,
        'sync',
        '--dest',
        DEST,
        '--agent',
        `forge=${agents[0]!.url}`,
        '--agent',
        `comfyui=${agents[1]!.url}`,
        '--log-level',
        'warn',
      ],
      { env, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    console.log(`\n$ forge-sync sync --dest ./synced --agent forge=… --agent comfyui=…`);
    const [code] = (await once(sync, 'exit')) as [number | null];
    console.log(`\nstored under ./synced (catalog in ./synced/.forge-sync/catalog):`);
    for (const path of await listStored(DEST)) console.log(`  ${path}`);
    console.log(
      '\nRun `npm run demo` again: nothing is transferred twice. The .tmp file and the unfinished PNG were not synced.',
    );
    process.exitCode = code ?? 1;
    if (code === 0) await printGalleryCommand();
  } finally {
    for (const agent of agents) agent.child.kill('SIGTERM');
    await Promise.all(agents.map((agent) => once(agent.child, 'exit')));
  }
}

await main();
