/**
 * The silence rules (functions/domain/silences.ts): which claims an audit event starts, changes or ends (read from
 * its own before and after, whatever its action), the matchers a template gives (placeholders escaped in regexes,
 * nothing broader than asked), and when a silence ends (a claim's until, or a rolling end renewed in time).
 */
import { describe, expect, it } from 'vitest';
import {
  checkTemplate,
  claimChanges,
  parseMatcher,
  RENEW_BEFORE_MS,
  renderMatchers,
  ROLLING_SILENCE_MS,
  templateValues,
  wantedEnd,
} from '../../../functions/domain/silences.js';

const claim = (extra: Record<string, unknown> = {}) => ({
  mode: 'maintenance',
  force: false,
  actor: 'alice',
  since: 1000,
  onDeadline: 'force',
  ...extra,
});
const server = (claims: Record<string, unknown>) => ({ role: 'replica', dc: 'dc1', claims });

describe('claimChanges', () => {
  it('a new maintenance claim is live; a drain is not a maintenance', () => {
    const changes = claimChanges({
      target: 'server:db2',
      before: server({}),
      after: server({ manual: claim({ reason: 'patch' }), 'window:w1': claim({ mode: 'drain' }) }),
    });
    expect(changes).toEqual({
      live: [{ target: 'server:db2', holder: 'manual', since: 1000, actor: 'alice', reason: 'patch' }],
      ended: [],
    });
  });

  it('a claim removed, or the server removed, ends it; an untouched claim is neither', () => {
    const before = server({ manual: claim(), 'window:w1': claim({ since: 5 }) });
    expect(claimChanges({ target: 'server:db2', before, after: server({ 'window:w1': claim({ since: 5 }) }) })).toEqual(
      { live: [], ended: [expect.objectContaining({ holder: 'manual', since: 1000 })] },
    );
    expect(
      claimChanges({ target: 'server:db2', before, after: null })
        .ended.map((c) => c.holder)
        .sort(),
    ).toEqual(['manual', 'window:w1']);
  });

  it('a new reason or until is a change of the same claim; a new since is another claim (the old one ends)', () => {
    const before = server({ manual: claim() });
    expect(claimChanges({ target: 'server:db2', before, after: server({ manual: claim({ until: 9000 }) }) })).toEqual({
      live: [expect.objectContaining({ since: 1000, until: 9000 })],
      ended: [],
    });
    expect(claimChanges({ target: 'server:db2', before, after: server({ manual: claim({ since: 2000 }) }) })).toEqual({
      live: [expect.objectContaining({ since: 2000 })],
      ended: [expect.objectContaining({ since: 1000 })],
    });
    expect(claimChanges({ target: 'server:db2', before, after: server({ manual: claim({ force: true }) }) })).toEqual({
      live: [],
      ended: [],
    });
  });

  it('a server given a new address: its live claims again (their matchers may change); a new role alone is nothing', () => {
    const before = { ...server({ manual: claim() }), address: '10.0.0.2' };
    expect(claimChanges({ target: 'server:db2', before, after: { ...before, address: '10.0.9.2' } })).toEqual({
      live: [expect.objectContaining({ holder: 'manual', since: 1000 })],
      ended: [],
    });
    expect(claimChanges({ target: 'server:db2', before, after: { ...before, role: 'primary' } })).toEqual({
      live: [],
      ended: [],
    });
  });

  it('a maintenance turned into a drain ends the silence', () => {
    const changes = claimChanges({
      target: 'dc:dc1',
      before: { claims: { manual: claim() } },
      after: { claims: { manual: claim({ mode: 'drain' }) } },
    });
    expect(changes).toEqual({ live: [], ended: [expect.objectContaining({ target: 'dc:dc1', holder: 'manual' })] });
  });
});

describe('matchers', () => {
  it('parses the four operators and unescapes the value', () => {
    expect(parseMatcher('a="x\\"y"')).toEqual({ name: 'a', value: 'x"y', isRegex: false, isEqual: true });
    expect(parseMatcher('a!="x"')).toMatchObject({ isRegex: false, isEqual: false });
    expect(parseMatcher('a=~"x.*"')).toMatchObject({ isRegex: true, isEqual: true });
    expect(parseMatcher('a!~"x"')).toMatchObject({ isRegex: true, isEqual: false });
    expect(() => parseMatcher('a~"x"')).toThrow(/invalid matcher/);
    expect(() => parseMatcher('a="{rack}"')).toThrow(/unknown placeholder \{rack\}/);
    expect(() => parseMatcher('a=~"(db"')).toThrow(/the regex does not compile/);
    expect(parseMatcher('a=~"{server}-[0-9]{2}"')).toMatchObject({ value: '{server}-[0-9]{2}', isRegex: true });
  });

  it('escapes a name put into a regex, so it matches only itself', () => {
    const values = templateValues('shop', 'server:db.2', { address: '10.0.0.2', port: 3306, dc: 'dc1' });
    expect(values).toEqual({ cluster: 'shop', server: 'db.2', address: '10.0.0.2', port: '3306', dc: 'dc1' });
    const [m] = renderMatchers(['instance=~"{address}:{port}"'], values)!;
    expect(m!.value).toBe('10\\.0\\.0\\.2:3306');
    expect(new RegExp(`^${m!.value}$`).test('10.0.0.2:3306')).toBe(true);
    expect(new RegExp(`^${m!.value}$`).test('10x0x0x2:3306')).toBe(false);
    expect(renderMatchers(['server="{server}"'], values)![0]!.value).toBe('db.2');
  });

  it('gives no silence rather than a broader one: a missing placeholder, or matchers that match everything', () => {
    expect(renderMatchers(['instance=~"{address}:.*"'], { cluster: 'shop', server: 'db2' })).toBeUndefined();
    expect(renderMatchers(['instance=~".*"', 'x!="y"'], { cluster: 'shop' })).toBeUndefined();
    expect(renderMatchers(['cluster="{cluster}"'], { cluster: 'shop' })).toEqual([
      { name: 'cluster', value: 'shop', isRegex: false, isEqual: true },
    ]);
  });

  it('checks a template as the API takes it', () => {
    expect(() =>
      checkTemplate({ server: ['instance=~"{server}:.*"'], cluster: ['cluster="{cluster}"'] }),
    ).not.toThrow();
    expect(() => checkTemplate({ dc: ['dc!="{dc}"'] })).toThrow(/dc: at least one matcher/);
  });
});

describe('wantedEnd', () => {
  const now = 1_000_000_000;
  it('the claim’s until, once', () => {
    expect(wantedEnd(now + 5000, undefined, now)).toBe(now + 5000);
    expect(wantedEnd(now + 5000, now + 5000, now)).toBeUndefined();
  });
  it('without until: a rolling end, renewed only once less than RENEW_BEFORE is left', () => {
    expect(wantedEnd(undefined, undefined, now)).toBe(now + ROLLING_SILENCE_MS);
    expect(wantedEnd(undefined, now + RENEW_BEFORE_MS + 1, now)).toBeUndefined();
    expect(wantedEnd(undefined, now + RENEW_BEFORE_MS, now)).toBe(now + ROLLING_SILENCE_MS);
  });
});
