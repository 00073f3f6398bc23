// The bounds on what an agent may send and how slowly: fixed, smaller only in tests.
import { AppError } from '../../common/errors.js';

/**
 * How much an agent may send, and how slowly, before the controller gives up on it. Every bound
 * is far beyond what an honest agent needs; each one exceeded fails that agent, not the pass.
 */
export interface AgentLimits {
  /**
   * A body that delivers fewer than `stallBytes` over `stallMs` of waiting has stalled. A
   * manifest sends a scan line (about 170 bytes) every half second and an archive streams files,
   * so a live agent sends far more; one byte now and then keeps nothing alive.
   */
  stallMs: number;
  stallBytes: number;
  /** An archive must be read within `archiveBaseMs` plus its requested bytes at `minBytesPerSecond`. */
  archiveBaseMs: number;
  minBytesPerSecond: number;
  /** A manifest, the agent's scan included, must be read within this; the agent's scan goes on. */
  manifestMs: number;
  /** A manifest may be at most this long, and list at most this many files. */
  manifestBytes: number;
  manifestFiles: number;
}

export const AGENT_LIMITS: AgentLimits = {
  stallMs: 60_000,
  stallBytes: 4096,
  archiveBaseMs: 60_000,
  minBytesPerSecond: 1_000_000,
  manifestMs: 3_600_000,
  manifestBytes: 4 * 2 ** 30,
  manifestFiles: 5_000_000,
};

/**
 * The limits, with any set by FORGE_SYNC_INTERNAL_AGENT_LIMITS (a JSON object of AgentLimits
 * fields). Internal: it lets tests meet the bounds in seconds; it is not an operator setting.
 */
export function agentLimitsFrom(env: NodeJS.ProcessEnv): AgentLimits {
  const raw = env.FORGE_SYNC_INTERNAL_AGENT_LIMITS;
  if (!raw) return AGENT_LIMITS;
  const limits = { ...AGENT_LIMITS };
  let given: Record<string, unknown>;
  try {
    given = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new AppError('E_CONFIG', 'FORGE_SYNC_INTERNAL_AGENT_LIMITS: expected a JSON object');
  }
  for (const key of Object.keys(limits) as (keyof AgentLimits)[]) {
    const value = given[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) <= 0) {
      throw new AppError('E_CONFIG', `FORGE_SYNC_INTERNAL_AGENT_LIMITS: ${key} must be a positive integer`);
    }
    limits[key] = value as number;
  }
  return limits;
}
