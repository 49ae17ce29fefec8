/** rollout/input.ts: the rollout input (README "Rolling upgrades"), its defaults and the deployment's allowlists. */
import { describe, expect, it } from 'vitest';
import { OBJECT_ID } from '../../../functions/domain/names.js';
import { MAX_BATCH_SIZE } from '../../../functions/domain/rollout/model.js';
import { allowlistFromEnv, checkAllowed, type UpgradeAllowlist } from '../../../functions/rollout/allowlist.js';
import { newTimeId, parseRolloutInput, rolloutRef } from '../../../functions/rollout/input.js';
import { caught, NOW, SEC } from '.././domain/fixtures.js';

const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:upgrade-mariadb';
const ALLOW: UpgradeAllowlist = {
  webhookHosts: ['upgrader.example.com', 'Hooks.Example.NET:8443'],
  functionArns: [ARN],
};
const NONE: UpgradeAllowlist = { webhookHosts: [], functionArns: [] };

const parse = (value: unknown, allow = ALLOW) => parseRolloutInput(value, allow);

describe('parseRolloutInput', () => {
  it("applies the input's defaults: only cluster and targetVersion are required", () => {
    const { cluster, input } = parse({ cluster: 'prod-mariadb', targetVersion: '10.11.7' }, NONE);
    expect(cluster).toBe('prod-mariadb');
    expect(input).toEqual({
      targetVersion: '10.11.7',
      batchSize: 1,
      drainTimeoutSeconds: 300,
      onDrainTimeout: 'force',
      upgrade: { kind: 'wait-for-report', timeoutSeconds: 1800 },
      verify: { stableForSeconds: 30, timeoutSeconds: 600 },
      pauseAfterFirstBatch: false,
    });
    // absent optional fields are absent, not undefined
    expect('servers' in input).toBe(false);
    expect('order' in input).toBe(false);
    expect('maxReplicationLagSeconds' in input.verify).toBe(false);
  });

  it('the cluster may come from the path instead of the body', () => {
    const parsed = parse({ targetVersion: '1.2.3' });
    expect(parsed.cluster).toBeUndefined();
    expect('cluster' in parsed).toBe(false);
  });

  it('keeps a full example as given', () => {
    const body = {
      cluster: 'prod-mariadb',
      targetVersion: '10.11.7',
      servers: ['db2', 'db3', 'db1'],
      batchSize: 1,
      drainTimeoutSeconds: 300,
      onDrainTimeout: 'force',
      upgrade: { kind: 'wait-for-report', timeoutSeconds: 1800 },
      verify: { stableForSeconds: 30, maxReplicationLagSeconds: 10 },
      pauseAfterFirstBatch: false,
    };
    const { input } = parse(body);
    expect(input.servers).toEqual(['db2', 'db3', 'db1']);
    expect(input.verify).toEqual({ stableForSeconds: 30, maxReplicationLagSeconds: 10, timeoutSeconds: 600 });
  });

  it('takes every optional field it is given', () => {
    const { input } = parse({
      targetVersion: 'v0.9.5',
      servers: ['dn-1', 'meta-1'],
      batchSize: 3,
      order: ['datanode', 'metasrv', 'frontend'],
      drainTimeoutSeconds: 0,
      onDrainTimeout: 'fail',
      upgrade: { kind: 'lambda', functionArn: ARN, timeoutSeconds: 60 },
      verify: { stableForSeconds: 5, maxReplicationLagSeconds: 0, timeoutSeconds: 90 },
      pauseAfterFirstBatch: true,
    });
    expect(input).toEqual({
      targetVersion: 'v0.9.5',
      servers: ['dn-1', 'meta-1'],
      batchSize: 3,
      order: ['datanode', 'metasrv', 'frontend'],
      drainTimeoutSeconds: 0,
      onDrainTimeout: 'fail',
      upgrade: { kind: 'lambda', functionArn: ARN, timeoutSeconds: 60 },
      verify: { stableForSeconds: 5, maxReplicationLagSeconds: 0, timeoutSeconds: 90 },
      pauseAfterFirstBatch: true,
    });
  });

  it('a webhook or lambda upgrade without a timeout gets the 1800 s default', () => {
    expect(
      parse({ targetVersion: '1', upgrade: { kind: 'webhook', url: 'https://upgrader.example.com/hook' } }).input
        .upgrade,
    ).toEqual({
      kind: 'webhook',
      url: 'https://upgrader.example.com/hook',
      timeoutSeconds: 1800,
    });
    expect(parse({ targetVersion: '1', upgrade: { kind: 'lambda', functionArn: ARN } }).input.upgrade).toEqual({
      kind: 'lambda',
      functionArn: ARN,
      timeoutSeconds: 1800,
    });
  });

  it('refuses unknown fields, naming them (InvalidInput)', () => {
    const e = caught(() => parse({ targetVersion: '1', batchsize: 2, dryRun: true }));
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toContain('batchsize');
    expect(e.message).toContain('dryRun');
    const nested = caught(() => parse({ targetVersion: '1', verify: { stableFor: 30 } }));
    expect(nested.code).toBe('InvalidInput');
    expect(nested.message).toContain('verify');
    expect(nested.message).toContain('stableFor');
    const inUpgrade = caught(() =>
      parse({ targetVersion: '1', upgrade: { kind: 'wait-for-report', url: 'https://upgrader.example.com/' } }),
    );
    expect(inUpgrade.message).toContain('url');
  });

  it('requires targetVersion', () => {
    const e = caught(() => parse({ cluster: 'c1' }));
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toContain('targetVersion');
    expect(caught(() => parse({ targetVersion: '' })).code).toBe('InvalidInput');
  });

  it('refuses what is not an object', () => {
    for (const value of [null, 'x', 42, [], undefined]) expect(caught(() => parse(value)).code).toBe('InvalidInput');
  });

  it(`refuses a batchSize below 1 or above MAX_BATCH_SIZE (${MAX_BATCH_SIZE}), or not a whole number`, () => {
    for (const batchSize of [0, -1, MAX_BATCH_SIZE + 1, 1.5, '2']) {
      const e = caught(() => parse({ targetVersion: '1', batchSize }));
      expect(e.code).toBe('InvalidInput');
      expect(e.message).toContain('batchSize');
    }
    expect(parse({ targetVersion: '1', batchSize: 1 }).input.batchSize).toBe(1);
    expect(parse({ targetVersion: '1', batchSize: MAX_BATCH_SIZE }).input.batchSize).toBe(MAX_BATCH_SIZE);
  });

  it('refuses an unknown upgrade kind and an unknown onDrainTimeout', () => {
    const e = caught(() => parse({ targetVersion: '1', upgrade: { kind: 'ssh', host: 'db1' } }));
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toContain('upgrade');
    expect(caught(() => parse({ targetVersion: '1', upgrade: {} })).code).toBe('InvalidInput');
    const d = caught(() => parse({ targetVersion: '1', onDrainTimeout: 'hold' }));
    expect(d.message).toContain('onDrainTimeout');
  });

  it('refuses a webhook without a URL or with a URL that is not http(s)', () => {
    expect(caught(() => parse({ targetVersion: '1', upgrade: { kind: 'webhook' } })).message).toContain('upgrade.url');
    for (const url of ['ftp://upgrader.example.com/x', 'file:///etc/passwd', 'not a url']) {
      const e = caught(() => parse({ targetVersion: '1', upgrade: { kind: 'webhook', url } }));
      expect(e.code).toBe('InvalidInput');
      expect(e.message).toContain('upgrade.url');
    }
  });

  it('refuses a lambda upgrade whose functionArn is not a Lambda function ARN', () => {
    const e = caught(() =>
      parse({
        targetVersion: '1',
        upgrade: { kind: 'lambda', functionArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:x' },
      }),
    );
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toContain('functionArn');
  });

  it('refuses negative or over-long timeouts and malformed server names', () => {
    expect(caught(() => parse({ targetVersion: '1', drainTimeoutSeconds: -1 })).message).toContain(
      'drainTimeoutSeconds',
    );
    expect(caught(() => parse({ targetVersion: '1', drainTimeoutSeconds: 86401 })).message).toContain(
      'drainTimeoutSeconds',
    );
    expect(caught(() => parse({ targetVersion: '1', verify: { timeoutSeconds: 1.5 } })).message).toContain(
      'verify.timeoutSeconds',
    );
    expect(caught(() => parse({ targetVersion: '1', servers: [] })).message).toContain('servers');
    expect(caught(() => parse({ targetVersion: '1', servers: ['db 1'] })).message).toContain('servers');
    expect(caught(() => parse({ cluster: 'Prod_DB', targetVersion: '1' })).message).toContain('cluster');
  });

  describe('numbers DynamoDB can store: 0, or a magnitude from 1e-130 to 1e125 (beyond, a write fails: a 500)', () => {
    const STORABLE = 'must be 0 or of magnitude between 1e-130 and 1e125 (what DynamoDB can store)';
    const lag = (maxReplicationLagSeconds: unknown) =>
      parse({ targetVersion: '1', verify: { maxReplicationLagSeconds } });

    it('maxReplicationLagSeconds below 1e-130 is refused, naming the field and the limit', () => {
      for (const tiny of [1e-200, 1e-131, 9.999999999999999e-131, Number.MIN_VALUE]) {
        const e = caught(() => lag(tiny));
        expect(e.code).toBe('InvalidInput');
        expect(e.message).toBe(`verify.maxReplicationLagSeconds: ${STORABLE}`);
      }
    });

    it('0, 1e-130 exactly and fractions of a second are kept (a lag below a second makes sense)', () => {
      for (const value of [0, 1e-130, 1.0000000000000001e-130, 0.25, 86400])
        expect(lag(value).input.verify.maxReplicationLagSeconds).toBe(value);
    });

    it('over the field maximum gets that one message (not the storable one too); negative ones the minimum', () => {
      for (const value of [86400.5, 1e125, 1e300])
        expect(caught(() => lag(value)).message).toBe(
          'verify.maxReplicationLagSeconds: Too big: expected number to be <=86400',
        );
      for (const value of [-1e-200, -1])
        expect(caught(() => lag(value)).message).toBe(
          'verify.maxReplicationLagSeconds: Too small: expected number to be >=0',
        );
    });

    it('whole seconds stay whole: a fraction of a timeout, stable time or batch is refused', () => {
      expect(caught(() => parse({ targetVersion: '1', verify: { stableForSeconds: 1e-200 } })).message).toContain(
        'verify.stableForSeconds',
      );
      expect(caught(() => parse({ targetVersion: '1', drainTimeoutSeconds: 0.5 })).message).toContain(
        'drainTimeoutSeconds',
      );
      expect(
        caught(() => parse({ targetVersion: '1', upgrade: { kind: 'wait-for-report', timeoutSeconds: 1e-131 } }))
          .message,
      ).toContain('upgrade.timeoutSeconds');
      expect(caught(() => parse({ targetVersion: '1', batchSize: 1e-300 })).message).toContain('batchSize');
    });
  });

  it('refuses a webhook host not on the allowlist, naming it', () => {
    const e = caught(() =>
      parse({ targetVersion: '1', upgrade: { kind: 'webhook', url: 'https://evil.example.org/hook' } }),
    );
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toContain('evil.example.org');
    expect(e.message).toMatch(/allowlist/);
    // nothing is allowed when the deployment allows nothing
    expect(
      caught(() =>
        parse({ targetVersion: '1', upgrade: { kind: 'webhook', url: 'https://upgrader.example.com/' } }, NONE),
      ).code,
    ).toBe('InvalidInput');
  });

  it('checks the host the URL really goes to: user info does not pass; a host:port entry allows that port only', () => {
    const userInfo = caught(() =>
      parse({
        targetVersion: '1',
        upgrade: { kind: 'webhook', url: 'https://upgrader.example.com@evil.example.org/hook' },
      }),
    );
    expect(userInfo.message).toContain('evil.example.org');
    expect(
      parse({ targetVersion: '1', upgrade: { kind: 'webhook', url: 'https://upgrader.example.com:4443/hook' } }).input
        .upgrade.kind,
    ).toBe('webhook');
    const otherPort = caught(() =>
      parse({ targetVersion: '1', upgrade: { kind: 'webhook', url: 'https://hooks.example.net:9443/hook' } }),
    );
    expect(otherPort.message).toContain('hooks.example.net:9443');
    const suffix = caught(() =>
      parse({ targetVersion: '1', upgrade: { kind: 'webhook', url: 'https://upgrader.example.com.evil.org/' } }),
    );
    expect(suffix.code).toBe('InvalidInput');
  });

  it('allowlisted webhook hosts pass, case-insensitively, with the port they are listed with', () => {
    expect(
      parse({ targetVersion: '1', upgrade: { kind: 'webhook', url: 'https://upgrader.example.com/hook?x=1' } }).input
        .upgrade.kind,
    ).toBe('webhook');
    expect(
      parse({ targetVersion: '1', upgrade: { kind: 'webhook', url: 'http://UPGRADER.example.com/hook' } }).input.upgrade
        .kind,
    ).toBe('webhook');
    expect(
      parse({ targetVersion: '1', upgrade: { kind: 'webhook', url: 'https://hooks.example.net:8443/x' } }).input.upgrade
        .kind,
    ).toBe('webhook');
  });

  it('refuses a lambda ARN not on the allowlist, naming it; an allowlisted one passes', () => {
    const other = 'arn:aws:lambda:eu-west-1:123456789012:function:delete-everything';
    const e = caught(() => parse({ targetVersion: '1', upgrade: { kind: 'lambda', functionArn: other } }));
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toContain(other);
    expect(e.message).toMatch(/allowlist/);
    // a qualified ARN (an alias) is another function as far as the allowlist goes
    expect(
      caught(() => parse({ targetVersion: '1', upgrade: { kind: 'lambda', functionArn: `${ARN}:live` } })).code,
    ).toBe('InvalidInput');
    expect(parse({ targetVersion: '1', upgrade: { kind: 'lambda', functionArn: ARN } }).input.upgrade).toMatchObject({
      functionArn: ARN,
    });
  });

  it('wait-for-report needs no allowlist', () => {
    expect(() => checkAllowed({ kind: 'wait-for-report', timeoutSeconds: 1 }, NONE)).not.toThrow();
  });
});

describe('allowlistFromEnv', () => {
  it('reads comma-separated lists, trimming and dropping empty entries', () => {
    expect(
      allowlistFromEnv({
        MAINTCTL_WEBHOOK_HOSTS: ' a.example.com, ,b.example.com:8443 ',
        MAINTCTL_UPGRADE_FUNCTIONS: ARN,
      }),
    ).toEqual({
      webhookHosts: ['a.example.com', 'b.example.com:8443'],
      functionArns: [ARN],
    });
    expect(allowlistFromEnv({})).toEqual({ webhookHosts: [], functionArns: [] });
  });
});

describe('rolloutRef', () => {
  it('is what a started execution carries: a cluster and a rollout id', () => {
    expect(rolloutRef.safeParse({ cluster: 'c1', rolloutId: '20300101-000000-00ff' }).success).toBe(true);
    expect(rolloutRef.safeParse({ cluster: 'c1' }).success).toBe(false);
    expect(rolloutRef.safeParse({ cluster: 'c1', rolloutId: 'a.b' }).success).toBe(false);
  });
});

describe('newTimeId', () => {
  it('is the UTC time to the millisecond and 4 hex digits, and matches OBJECT_ID', () => {
    const id = newTimeId(NOW + 4 * 3600 * SEC + 11 * 60 * SEC + 7 * SEC + 999);
    expect(id).toMatch(/^20300101-041107999-[0-9a-f]{4}$/);
    expect(id).toMatch(OBJECT_ID);
  });

  it('sorts by creation time', () => {
    const times = [
      NOW,
      NOW + 1,
      NOW + SEC,
      NOW + 59 * SEC,
      NOW + 3600 * SEC,
      NOW + 86400 * SEC,
      NOW + 40 * 86400 * SEC,
      Date.UTC(2031, 0, 1),
    ];
    for (let round = 0; round < 20; round++) {
      const ids = times.map((t) => newTimeId(t));
      expect([...ids].sort()).toEqual(ids);
      for (const id of ids) expect(id).toMatch(OBJECT_ID);
    }
  });

  it('two ids in the same second differ (almost always)', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newTimeId(NOW)));
    expect(ids.size).toBeGreaterThan(40);
  });
});
