/**
 * The integration tier's setup file (vitest.config.ts): every answer of a maintctl server that the
 * test process receives through `fetch` — the helpers' (`env.call`, `apiClient`, the agents') and the tests' own —
 * is checked against the OpenAPI document (`openapi-check.ts`), and a test during which one did not match fails.
 * Mismatches are collected, not thrown, so that code which retries or expects errors does not swallow them.
 */
import { afterAll, afterEach } from 'vitest';
import { responseProblems } from './openapi-check.js';

const LOCAL = new Set(['127.0.0.1', 'localhost', '[::1]']);

const realFetch = globalThis.fetch;
const problems: string[] = [];
/** How many native answers were checked (test/integration/openapi.test.ts shows the check is on). */
export const responseCheck = { checked: 0 };

globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
  const response = await realFetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  // Only maintctl's answers (every one carries x-request-id) from a server on this machine.
  if (!LOCAL.has(new URL(url).hostname) || !response.headers.has('x-request-id')) return response;
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const body = await response.clone().text();
  const found = responseProblems({ method, url, status: response.status, headers: response.headers, body });
  if (found) {
    responseCheck.checked++;
    problems.push(...found);
  }
  return response;
};

const report = () => {
  const found = problems.splice(0);
  if (found.length > 0)
    throw new Error(`answers that do not match docs/openapi.json (npm run openapi):\n${found.join('\n')}`);
};
afterEach(report);
afterAll(report);
