// What an agent's non-2xx answers become: the error code, and a message naming the token or the server to check.
import { describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors.js';
import { answerError, isPosition, notAnAgent } from './agent-answers.js';

const AGENT = { name: 'gpu1', url: 'http://127.0.0.1:8484' };

describe('answerError', () => {
  it.each<{
    name: string;
    status: number;
    purge?: boolean;
    agentProtocol?: boolean;
    retryAfter?: string;
    code: string;
    message: RegExp;
  }>([
    {
      name: '401 to a read names the read token',
      status: 401,
      code: 'E_AUTH',
      message: /^agent gpu1 rejected the token \(bad token\); check FORGE_SYNC_TOKEN or --token-file$/,
    },
    {
      name: '401 to a purge names the purge token',
      status: 401,
      purge: true,
      code: 'E_AUTH',
      message: /check FORGE_SYNC_PURGE_TOKEN or --purge-token-file$/,
    },
    {
      name: '403 names the route and the detail',
      status: 403,
      code: 'E_FORBIDDEN',
      message: /^agent gpu1 refused \/v1\/manifest: bad token$/,
    },
    {
      name: '429 says for how long, from Retry-After',
      status: 429,
      retryAfter: '30',
      code: 'E_RATE_LIMITED',
      message: /for 30 s after too many wrong tokens; check FORGE_SYNC_TOKEN/,
    },
    {
      name: '429 without Retry-After says a few seconds',
      status: 429,
      purge: true,
      code: 'E_RATE_LIMITED',
      message: /for a few s .*check FORGE_SYNC_PURGE_TOKEN/,
    },
    {
      name: 'another status from an agent is an HTTP error with the status',
      status: 500,
      code: 'E_AGENT_HTTP',
      message: /^agent gpu1 answered 500 to \/v1\/manifest: bad token$/,
    },
    {
      name: 'another status without the protocol header is not an agent',
      status: 404,
      agentProtocol: false,
      code: 'E_PROTOCOL_MISMATCH',
      message: /^http:\/\/127\.0\.0\.1:8484 answered 404 without a forge-sync protocol header/,
    },
    {
      // Auth answers are judged before the protocol header: a proxy's 401 still points at the token.
      name: '401 without the protocol header is still about the token',
      status: 401,
      agentProtocol: false,
      code: 'E_AUTH',
      message: /rejected the token/,
    },
  ])('$name', ({ status, purge = false, agentProtocol = true, retryAfter, code, message }) => {
    const error = answerError(AGENT, '/v1/manifest', status, 'bad token', {
      purge,
      agentProtocol,
      retryAfter,
    });
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });
});

describe('notAnAgent', () => {
  it('names the URL and the status, and asks whether it is an agent at all', () => {
    const error = notAnAgent(AGENT, 200);
    expect(error.code).toBe('E_PROTOCOL_MISMATCH');
    expect(error.message).toBe(
      'http://127.0.0.1:8484 answered 200 without a forge-sync protocol header; is it a forge-sync agent?',
    );
  });
});

describe('isPosition', () => {
  it.each<{ name: string; value: unknown; ok: boolean }>([
    { name: 'an epoch and generation 0', value: { epoch: 'a1b2', generation: 0 }, ok: true },
    { name: 'a large generation', value: { epoch: 'e', generation: 2 ** 40 }, ok: true },
    { name: 'an epoch of 64 characters', value: { epoch: 'e'.repeat(64), generation: 1 }, ok: true },
    { name: 'an epoch of 65 characters', value: { epoch: 'e'.repeat(65), generation: 1 }, ok: false },
    { name: 'an empty epoch', value: { epoch: '', generation: 1 }, ok: false },
    { name: 'an epoch that is a number', value: { epoch: 7, generation: 1 }, ok: false },
    { name: 'a negative generation', value: { epoch: 'e', generation: -1 }, ok: false },
    { name: 'a fractional generation', value: { epoch: 'e', generation: 1.5 }, ok: false },
    { name: 'a generation past safe integers', value: { epoch: 'e', generation: 2 ** 53 }, ok: false },
    { name: 'a generation as a string', value: { epoch: 'e', generation: '1' }, ok: false },
    { name: 'no generation', value: { epoch: 'e' }, ok: false },
    { name: 'null', value: null, ok: false },
    { name: 'undefined', value: undefined, ok: false },
    { name: 'a string', value: 'e:1', ok: false },
  ])('$name: $ok', ({ value, ok }) => {
    expect(isPosition(value)).toBe(ok);
  });
});
