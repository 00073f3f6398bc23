// Docker label keys that mark and describe agent containers.

export const LABEL_PREFIX = 'forge-sync';

export const Labels = {
  /** `true` on a container that runs a forge-sync agent. */
  agent: `${LABEL_PREFIX}.agent`,
  /** The agent's name in the catalog and under the destination; defaults to the compose service or container name. */
  name: `${LABEL_PREFIX}.name`,
  /** The port the agent listens on inside the container. */
  port: `${LABEL_PREFIX}.port`,
  /** The generator container (Forge or ComfyUI) whose outputs this agent serves. */
  serves: `${LABEL_PREFIX}.serves`,
} as const;
