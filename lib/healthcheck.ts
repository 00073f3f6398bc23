// The images' HEALTHCHECK: asks the local agent or controller for /v1/health; exit 0 when it answers ok.
const port = process.env.FORGE_SYNC_PORT ?? process.argv[2] ?? '8484';

try {
  const response = await fetch(`http://127.0.0.1:${port}/v1/health`, { signal: AbortSignal.timeout(4000) });
  const body = (await response.json()) as { ok?: boolean };
  process.exitCode = response.ok && body.ok ? 0 : 1;
} catch {
  process.exitCode = 1;
}
