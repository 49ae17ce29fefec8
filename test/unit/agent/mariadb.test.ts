/** The version the agent reports: what rollouts name, out of what the server says of itself. */
import { describe, expect, it } from 'vitest';
import { releaseOf } from '../../../agent/mariadb.js';

describe('releaseOf', () => {
  it.each([
    ['10.11.6-MariaDB-0+deb12u1', '10.11.6'],
    ['10.11.6-MariaDB-0+deb12u1-log', '10.11.6'],
    ['11.4.2-MariaDB', '11.4.2'],
    ['8.0.36', '8.0.36'],
    ['8.4.0-commercial', '8.4.0'],
    ['10.11.99', '10.11.99'],
    ['custom', 'custom'],
  ])('%s → %s', (version, release) => expect(releaseOf(version)).toBe(release));
});
