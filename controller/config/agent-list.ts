// The agents named on the command line or in --config: NAME=URL specs and the JSON file, checked once at start.
import { readFileSync } from 'node:fs';
import { AppError } from '../../common/errors.js';
import { unsafeRootNameReason } from '../../common/path-safety.js';
import type { Provenance } from '../../common/search.js';

/** An agent the controller syncs: its catalog name (also its folder under --dest) and its URL. */
export interface AgentRef {
  name: string;
  url: string;
  /** A read token for this agent alone; the shared token is used when absent. */
  token?: string;
  /** A purge token for this agent alone; the shared purge token is used when absent. */
  purgeToken?: string;
  /** The container behind the agent, when a source knows it (Docker discovery). */
  provenance?: Omit<Provenance, 'host'>;
}

/** Parses `NAME=URL`. The name must be usable as one folder name. */
export function parseAgentSpec(spec: string, what = '--agent'): AgentRef {
  const eq = spec.indexOf('=');
  if (eq <= 0)
    throw new AppError('E_USAGE', `${what} ${spec}: expected NAME=URL, like gpu1=http://127.0.0.1:8484`);
  return checkAgent({ name: spec.slice(0, eq), url: spec.slice(eq + 1) }, `${what} ${spec}`);
}

function checkAgent(agent: AgentRef, what: string): AgentRef {
  const reason = unsafeRootNameReason(agent.name);
  if (reason) throw new AppError('E_USAGE', `${what}: bad agent name "${agent.name}": ${reason}`);
  let url: URL;
  try {
    url = new URL(agent.url);
  } catch {
    throw new AppError('E_USAGE', `${what}: "${agent.url}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('E_USAGE', `${what}: "${agent.url}" must be an http:// or https:// URL`);
  }
  return { ...agent, url: url.toString().replace(/\/$/, '') };
}

/**
 * Reads agents from a JSON config file:
 * `{ "agents": [{ "name": "gpu1", "url": "http://…", "token": "…", "purgeToken": "…" }] }`.
 */
export function readAgentsFile(path: string): AgentRef[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const why =
      err instanceof SyntaxError
        ? `not valid JSON (${err.message})`
        : `cannot read it (${(err as NodeJS.ErrnoException).code})`;
    throw new AppError('E_USAGE', `--config ${path}: ${why}`);
  }
  const agents = (parsed as { agents?: unknown } | null)?.agents;
  if (!Array.isArray(agents))
    throw new AppError('E_USAGE', `--config ${path}: expected {"agents": [{"name": …, "url": …}]}`);
  return agents.map((item: unknown, i) => {
    const { name, url, token, purgeToken } = (item ?? {}) as Record<string, unknown>;
    if (
      typeof name !== 'string' ||
      typeof url !== 'string' ||
      (token !== undefined && typeof token !== 'string') ||
      (purgeToken !== undefined && typeof purgeToken !== 'string')
    ) {
      throw new AppError(
        'E_USAGE',
        `--config ${path}: agents[${i}] needs string "name" and "url" (and optional "token", "purgeToken")`,
      );
    }
    if (purgeToken && purgeToken === token) {
      throw new AppError(
        'E_USAGE',
        `--config ${path}: agents[${i}]: "purgeToken" equals "token"; give it its own value`,
      );
    }
    return checkAgent(
      { name, url, ...(token ? { token } : {}), ...(purgeToken ? { purgeToken } : {}) },
      `--config ${path}: agents[${i}]`,
    );
  });
}

/** Rejects two agents with one name: they would share a folder and a catalog identity. */
export function assertUniqueNames(agents: readonly AgentRef[]): void {
  const seen = new Set<string>();
  for (const agent of agents) {
    if (seen.has(agent.name)) throw new AppError('E_USAGE', `agent name "${agent.name}" is given twice`);
    seen.add(agent.name);
  }
}
