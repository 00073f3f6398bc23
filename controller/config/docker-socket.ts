// Where the Docker Engine is, without loading a Docker client: enough to decide whether discovery is on.
import { existsSync } from 'node:fs';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** Whether a Docker Engine is plausibly reachable: DOCKER_HOST is set or the socket exists. */
export function dockerReachable(env: NodeJS.ProcessEnv, socketPath = DEFAULT_DOCKER_SOCKET): boolean {
  return Boolean(env.DOCKER_HOST) || existsSync(socketPath);
}
