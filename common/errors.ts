// The one error family of forge-media-sync: every failure carries a stable literal code.

/** Stable error codes. Branch on these, never on messages. */
export const ErrorCodes = {
  E_USAGE: 'E_USAGE',
  E_CONFIG: 'E_CONFIG',
  E_AUTH: 'E_AUTH',
  E_FORBIDDEN: 'E_FORBIDDEN',
  E_RATE_LIMITED: 'E_RATE_LIMITED',
  E_NOT_FOUND: 'E_NOT_FOUND',
  E_BAD_REQUEST: 'E_BAD_REQUEST',
  E_UNSAFE_PATH: 'E_UNSAFE_PATH',
  E_AGENT_UNREACHABLE: 'E_AGENT_UNREACHABLE',
  E_AGENT_HTTP: 'E_AGENT_HTTP',
  E_AGENT_STALLED: 'E_AGENT_STALLED',
  E_AGENT_DEADLINE: 'E_AGENT_DEADLINE',
  E_AGENT_LIMIT: 'E_AGENT_LIMIT',
  E_PROTOCOL_MISMATCH: 'E_PROTOCOL_MISMATCH',
  E_PROTOCOL: 'E_PROTOCOL',
  E_DEST_NOT_WRITABLE: 'E_DEST_NOT_WRITABLE',
  E_DEST_LOCKED: 'E_DEST_LOCKED',
  E_DEST_FULL: 'E_DEST_FULL',
  E_CATALOG: 'E_CATALOG',
  E_HASH_MISMATCH: 'E_HASH_MISMATCH',
  E_SIZE_MISMATCH: 'E_SIZE_MISMATCH',
  E_UNREQUESTED_ENTRY: 'E_UNREQUESTED_ENTRY',
  E_BAD_ENTRY_TYPE: 'E_BAD_ENTRY_TYPE',
  E_DUPLICATE_ENTRY: 'E_DUPLICATE_ENTRY',
  E_STORED_CONFLICT: 'E_STORED_CONFLICT',
  E_FILE_CHANGED: 'E_FILE_CHANGED',
  E_FILE_VANISHED: 'E_FILE_VANISHED',
  E_FILE_MISSING_FROM_ARCHIVE: 'E_FILE_MISSING_FROM_ARCHIVE',
  E_IO: 'E_IO',
  E_DOCKER: 'E_DOCKER',
  E_PURGE_REFUSED: 'E_PURGE_REFUSED',
  E_PURGE_STOPPED: 'E_PURGE_STOPPED',
  E_HOST_COPY: 'E_HOST_COPY',
  E_INTERNAL: 'E_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}

/**
 * `err` as an AppError: itself when it is one, else wrapped with the `fallback` code the caller
 * chooses for what it was doing (E_IO around file work, E_INTERNAL around a whole pass).
 */
export function toAppError(err: unknown, fallback: ErrorCode): AppError {
  return err instanceof AppError ? err : new AppError(fallback, errorMessage(err), { cause: err });
}

/** A failure about one file: recorded and reported, never thrown. */
export interface Problem {
  code: ErrorCode;
  path: string;
  message: string;
}

/** The text of any thrown value, for logs and one-line CLI errors. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
