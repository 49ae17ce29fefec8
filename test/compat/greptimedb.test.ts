/**
 * GreptimeDB metasrv's admin API (docs/compat.md §3) on the wire: real HTTP on 127.0.0.1 over DynamoDB Local.
 * Maintenance mode is the `manual` claim on cluster maintenance (automatic failover paused); the procedure
 * manager's pause/resume is the cluster's `proceduresPaused` flag.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectJson, expectText, rawRequest } from '../support/compat.js';
import { clearClusterClaim, setClusterClaim } from '../../functions/domain/maintenance.js';
import { createToken, httpEnv, reportAll, seedCluster, type HttpEnv } from '../support/env.js';

const ENV_VAR = 'MAINTCTL_GREPTIMEDB_CLUSTER';
const MISSING = 'Missing required parameter, param: "enable"';
const NOT_BOOL = "Failed to parse bool: 'enable' must be 'true' or 'false'";
const ON = '{"enabled":true}';
const OFF = '{"enabled":false}';

let env: HttpEnv;
let operator: string;
let viewer: string;

const META = 'meta';
const OTHER = 'meta-other';
const NODES = ['datanode-0', 'datanode-1', 'datanode-2'];

const raw = (method: string, path: string, options: { token?: string | null; headers?: Record<string, string> } = {}) =>
  rawRequest(env.url, operator, method, path, options);

const revision = async (cluster = META) => (await env.call('GET', `/v1/clusters/${cluster}`)).body.revision as number;
const failoverView = async (cluster = META) => (await env.call('GET', `/v1/clusters/${cluster}/failover`)).body;
/** What an HA manager does: ask for an automatic election (a dry run, so nothing is recorded). */
const electDry = (cluster = META) => env.call('POST', `/v1/clusters/${cluster}/failover`, { dryRun: true });

/** A window's claim on cluster maintenance, written through the domain the way the scheduler would. */
const windowActor = { user: 'scheduler', isAdmin: false, source: 'window', requestId: 'test-window' };
const addWindow = (cluster = META) =>
  env.deps.store.mutate(cluster, (s) => setClusterClaim(s!, { holder: 'window:w1' }, windowActor, Date.now()), {
    actor: windowActor,
    result: () => null,
  });
const removeWindow = (cluster = META) =>
  env.deps.store.mutate(
    cluster,
    (s) => clearClusterClaim(s!, { holder: 'window:w1', override: false }, windowActor, Date.now()),
    { actor: windowActor, result: () => null },
  );

beforeAll(async () => {
  env = await httpEnv();
  operator = await createToken(env.deps, 'operator', undefined, 'gt-operator');
  viewer = await createToken(env.deps, 'viewer', undefined, 'gt-viewer');
  for (const cluster of [META, OTHER]) {
    await seedCluster(
      env,
      cluster,
      NODES.map((name) => ({ name, role: 'member' as const })),
      'greptimedb',
    );
    await reportAll(env, cluster, NODES);
  }
});
afterAll(async () => {
  delete process.env[ENV_VAR];
  await env?.close();
});
beforeEach(() => {
  process.env[ENV_VAR] = META;
});
// Every test leaves the default cluster out of maintenance.
afterEach(async () => {
  env.clock.now = undefined;
  expectJson(await raw('GET', '/admin/maintenance'), OFF);
});

describe('maintenance mode: every form', () => {
  it('GET /admin/maintenance and /admin/maintenance/status answer {"enabled":false} at first', async () => {
    expectJson(await raw('GET', '/admin/maintenance'), OFF);
    expectJson(await raw('GET', '/admin/maintenance/status'), OFF);
  });

  it('POST ?enable=true: {"enabled":true}, the manual claim, failover refused 409 Paused; ?enable=false undoes it', async () => {
    expectJson(await raw('POST', '/admin/maintenance?enable=true'), ON);
    expectJson(await raw('GET', '/admin/maintenance'), ON);
    expectJson(await raw('GET', '/admin/maintenance/status'), ON);

    const view = await failoverView();
    expect(view).toMatchObject({ paused: true, pausedBy: ['manual'] });
    const refused = await env.call('POST', `/v1/clusters/${META}/failover`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'Paused', details: { pausedBy: ['manual'] } });
    const claims = (await env.call('GET', `/v1/clusters/${META}/maintenance`)).body;
    expect(claims).toMatchObject({ paused: true, claims: [{ holder: 'manual', actor: 'gt-operator' }] });
    // a manual pause without `until` expires after 12 hours
    expect(Date.parse(claims.claims[0].until) - Date.parse(claims.claims[0].since)).toBe(12 * 3600 * 1000);

    // a repeat is a no-op with the same answer
    const rev = await revision();
    expectJson(await raw('POST', '/admin/maintenance?enable=true'), ON);
    expect(await revision()).toBe(rev);

    const disabled = await raw('POST', '/admin/maintenance?enable=false');
    expectJson(disabled, OFF);
    expect(disabled.headers.get('x-maintctl-reason')).toBeNull();
    expect(await failoverView()).toMatchObject({ paused: false, pausedBy: [] });
    expect((await electDry()).status).toBe(200);
    // disabling what is not enabled answers the same
    expectJson(await raw('POST', '/admin/maintenance?enable=false'), OFF);
  });

  it('PUT ?enable=true|false, the same', async () => {
    expectJson(await raw('PUT', '/admin/maintenance?enable=true'), ON);
    expectJson(await raw('GET', '/admin/maintenance/status'), ON);
    expect((await electDry()).body.error.code).toBe('Paused');
    expectJson(await raw('PUT', '/admin/maintenance?enable=false'), OFF);
    expectJson(await raw('GET', '/admin/maintenance/status'), OFF);
  });

  it('the legacy GET ?enable=true|false changes the mode too', async () => {
    expectJson(await raw('GET', '/admin/maintenance?enable=true'), ON);
    expectJson(await raw('GET', '/admin/maintenance'), ON);
    expect((await failoverView()).paused).toBe(true);
    expectJson(await raw('GET', '/admin/maintenance?enable=false'), OFF);
    expectJson(await raw('GET', '/admin/maintenance'), OFF);
  });

  it('POST /admin/maintenance/enable and /disable', async () => {
    expectJson(await raw('POST', '/admin/maintenance/enable'), ON);
    expectJson(await raw('GET', '/admin/maintenance'), ON);
    expect((await electDry()).body.error.code).toBe('Paused');
    expectJson(await raw('POST', '/admin/maintenance/disable'), OFF);
    expectJson(await raw('GET', '/admin/maintenance'), OFF);
    expect((await electDry()).status).toBe(200);
  });

  it('the manual claim lapses after 12 hours', async () => {
    expectJson(await raw('POST', '/admin/maintenance?enable=true'), ON);
    env.clock.now = Date.now() + 12 * 3600 * 1000 + 1000;
    expectJson(await raw('GET', '/admin/maintenance'), OFF);
    expect((await failoverView()).paused).toBe(false);
    env.clock.now = undefined;
    expectJson(await raw('POST', '/admin/maintenance?enable=false'), OFF);
  });
});

describe('the enable parameter', () => {
  it('missing: 400 with `Missing required parameter, param: "enable"`, changing nothing', async () => {
    const rev = await revision();
    for (const method of ['POST', 'PUT']) {
      expectText(await raw(method, '/admin/maintenance'), 400, MISSING);
      // another parameter is not `enable`
      expectText(await raw(method, '/admin/maintenance?enabled=true'), 400, MISSING);
    }
    expect(await revision()).toBe(rev);
  });

  it('anything but exactly true or false: 400 with `Failed to parse bool: ...`, changing nothing', async () => {
    const rev = await revision();
    for (const method of ['POST', 'PUT', 'GET']) {
      for (const query of [
        'enable=TRUE',
        'enable=1',
        'enable=yes',
        'enable=',
        'enable',
        'enable=False',
        'enable=0',
        'enable=true%20',
      ]) {
        expectText(await raw(method, `/admin/maintenance?${query}`), 400, NOT_BOOL);
      }
    }
    expect(await revision()).toBe(rev);
    expectJson(await raw('GET', '/admin/maintenance'), OFF);
  });
});

describe('wrong method: 405', () => {
  const wrong: [string, string][] = [
    ['GET', '/admin/maintenance/enable'],
    ['GET', '/admin/maintenance/disable'],
    ['PUT', '/admin/maintenance/enable'],
    ['DELETE', '/admin/maintenance/status'],
    ['POST', '/admin/maintenance/status'],
    ['PUT', '/admin/maintenance/status'],
    ['GET', '/admin/procedure-manager/pause'],
    ['GET', '/admin/procedure-manager/resume'],
    ['DELETE', '/admin/procedure-manager/resume'],
    ['POST', '/admin/procedure-manager/status'],
  ];

  it('answers 405 (plain text), with or without the /c/{cluster} prefix, and changes nothing', async () => {
    const rev = await revision();
    for (const [method, path] of wrong) {
      expectText(await raw(method, path), 405, /^.* is not allowed on this path\n$/);
      expectText(await raw(method, `/c/${META}${path}`), 405, /not allowed/);
      // nothing to protect in a refusal: the answer is the same without credentials
      expectText(await raw(method, path, { token: null }), 405, /not allowed/);
    }
    expect(await revision()).toBe(rev);
    expectJson(await raw('GET', '/admin/maintenance'), OFF);
    expectJson(await raw('GET', '/admin/procedure-manager/status'), '{"status":"running"}');
  });

  it('answers a wrong method on /admin/maintenance with 405 (plain text) and Allow, with or without the prefix, changing nothing', async () => {
    const rev = await revision();
    for (const method of ['DELETE', 'PATCH']) {
      for (const path of ['/admin/maintenance', `/c/${META}/admin/maintenance`, '/admin/maintenance?enable=true']) {
        for (const token of [undefined, null]) {
          const res = await raw(method, path, { token });
          expectText(res, 405, `${method} is not allowed here`);
          expect(res.headers.get('allow'), `${method} ${path}`).toBe('GET, POST, PUT');
        }
      }
    }
    expect(await revision()).toBe(rev);
    expectJson(await raw('GET', '/admin/maintenance'), OFF);
  });
});

describe('procedure manager', () => {
  it('status/pause/resume answer {"status":...} and toggle proceduresPaused in the failover view', async () => {
    expectJson(await raw('GET', '/admin/procedure-manager/status'), '{"status":"running"}');
    expect((await failoverView()).proceduresPaused).toBe(false);

    expectJson(await raw('POST', '/admin/procedure-manager/pause'), '{"status":"paused"}');
    expectJson(await raw('GET', '/admin/procedure-manager/status'), '{"status":"paused"}');
    const view = await failoverView();
    expect(view.proceduresPaused).toBe(true);
    // pausing procedures is not maintenance mode
    expect(view.paused).toBe(false);
    expectJson(await raw('GET', '/admin/maintenance'), OFF);
    const rev = await revision();
    expectJson(await raw('POST', '/admin/procedure-manager/pause'), '{"status":"paused"}');
    expect(await revision()).toBe(rev);

    expectJson(await raw('POST', '/admin/procedure-manager/resume'), '{"status":"running"}');
    expectJson(await raw('GET', '/admin/procedure-manager/status'), '{"status":"running"}');
    expect((await failoverView()).proceduresPaused).toBe(false);
    expectJson(await raw('POST', '/admin/procedure-manager/resume'), '{"status":"running"}');
  });
});

describe('disabling while a window or a rollout still holds cluster maintenance', () => {
  it('with no manual claim: 409 {"enabled":true} and X-Maintctl-Reason naming window:w1, for every disabling form', async () => {
    await addWindow();
    try {
      expectJson(await raw('GET', '/admin/maintenance'), ON);
      const rev = await revision();
      for (const [method, path] of [
        ['POST', '/admin/maintenance?enable=false'],
        ['PUT', '/admin/maintenance?enable=false'],
        ['GET', '/admin/maintenance?enable=false'],
        ['POST', '/admin/maintenance/disable'],
      ] as const) {
        const res = await raw(method, path);
        expectJson(res, ON, 409);
        expect(res.headers.get('x-maintctl-reason')).toMatch(/window:w1/);
        expect(res.headers.get('x-maintctl-reason')).not.toMatch(/manual/);
      }
      expect(await revision()).toBe(rev);
      expect(await failoverView()).toMatchObject({ paused: true, pausedBy: ['window:w1'] });
      expect((await electDry()).body.error.code).toBe('Paused');
    } finally {
      await removeWindow();
    }
  });

  it('with the manual claim: disabling removes it, yet answers 409 {"enabled":true} with the header, for every disabling form; failover stays paused', async () => {
    for (const [method, path] of [
      ['POST', '/admin/maintenance?enable=false'],
      ['PUT', '/admin/maintenance?enable=false'],
      ['GET', '/admin/maintenance?enable=false'],
      ['POST', '/admin/maintenance/disable'],
    ] as const) {
      expectJson(await raw('POST', '/admin/maintenance?enable=true'), ON);
      await addWindow();
      try {
        expect((await failoverView()).pausedBy).toEqual(['manual', 'window:w1']);
        const rev = await revision();
        const res = await raw(method, path);
        expectJson(res, ON, 409);
        expect(res.headers.get('x-maintctl-reason'), `${method} ${path}`).toMatch(/window:w1/);
        expect(res.headers.get('x-maintctl-reason')).not.toMatch(/manual/);
        // the manual claim is gone all the same
        expect(await revision()).toBe(rev + 1);
        expect(await failoverView()).toMatchObject({ paused: true, pausedBy: ['window:w1'] });
        expect((await electDry()).body.error.code).toBe('Paused');
        expectJson(await raw('GET', '/admin/maintenance/status'), ON);
      } finally {
        await removeWindow();
      }
      // the window gone, the cluster is out of maintenance: the manual claim was really removed
      expectJson(await raw('GET', '/admin/maintenance'), OFF);
      expect((await electDry()).status).toBe(200);
    }
  });

  it('with the manual claim and a rollout holding the cluster: 409 {"enabled":true} naming the rollout; 200 {"enabled":false} once maintenance really ends', async () => {
    const rolloutActor = { user: 'rollout', isAdmin: false, source: 'rollout', requestId: 'test-rollout' };
    const holder = 'rollout:r1';
    expectJson(await raw('POST', '/admin/maintenance?enable=true'), ON);
    await env.deps.store.mutate(META, (s) => setClusterClaim(s!, { holder }, rolloutActor, Date.now()), {
      actor: rolloutActor,
      result: () => null,
    });
    try {
      const res = await raw('POST', '/admin/maintenance?enable=false');
      expectJson(res, ON, 409);
      expect(res.headers.get('x-maintctl-reason')).toMatch(/rollout:r1/);
      expect(await failoverView()).toMatchObject({ paused: true, pausedBy: [holder] });
    } finally {
      await env.deps.store.mutate(
        META,
        (s) => clearClusterClaim(s!, { holder, override: false }, rolloutActor, Date.now()),
        { actor: rolloutActor, result: () => null },
      );
    }
    // nothing else holds it: enabling and disabling again is the plain 200 {"enabled":false}, no reason header
    expectJson(await raw('POST', '/admin/maintenance?enable=true'), ON);
    const off = await raw('POST', '/admin/maintenance?enable=false');
    expectJson(off, OFF);
    expect(off.headers.get('x-maintctl-reason')).toBeNull();
  });
});

describe('auth', () => {
  it('a viewer: 200 on the plain GETs and status routes, 403 (plain text) on every change, the legacy GET ?enable= included', async () => {
    expectJson(await raw('GET', '/admin/maintenance', { token: viewer }), OFF);
    expectJson(await raw('GET', '/admin/maintenance/status', { token: viewer }), OFF);
    expectJson(await raw('GET', '/admin/procedure-manager/status', { token: viewer }), '{"status":"running"}');
    const rev = await revision();
    for (const [method, path] of [
      ['GET', '/admin/maintenance?enable=true'],
      ['GET', '/admin/maintenance?enable=false'],
      ['POST', '/admin/maintenance?enable=true'],
      ['PUT', '/admin/maintenance?enable=true'],
      ['POST', '/admin/maintenance/enable'],
      ['POST', '/admin/maintenance/disable'],
      ['POST', '/admin/procedure-manager/pause'],
      ['POST', '/admin/procedure-manager/resume'],
    ] as const) {
      expectText(await raw(method, path, { token: viewer }), 403, /operator role/);
    }
    expect(await revision()).toBe(rev);
  });

  it('the legacy GET ?enable=true works for an operator', async () => {
    expectJson(await raw('GET', '/admin/maintenance?enable=true', { token: operator }), ON);
    expectJson(await raw('GET', '/admin/maintenance?enable=false', { token: operator }), OFF);
  });

  it('no credentials or wrong ones: 401', async () => {
    for (const [method, path] of [
      ['GET', '/admin/maintenance'],
      ['GET', '/admin/maintenance/status'],
      ['GET', '/admin/maintenance?enable=true'],
      ['POST', '/admin/maintenance?enable=true'],
      ['POST', '/admin/maintenance/enable'],
      ['GET', '/admin/procedure-manager/status'],
      ['POST', '/admin/procedure-manager/pause'],
    ] as const) {
      const res = await raw(method, path, { token: null });
      expectText(res, 401, 'Unauthorized');
      expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
      expectText(await raw(method, path, { token: 'mct_wrong' }), 401, 'Unauthorized');
    }
  });

  it('accepts Basic user:token', async () => {
    const headers = { authorization: `Basic ${Buffer.from(`gt-operator:${operator}`).toString('base64')}` };
    expectJson(await raw('POST', '/admin/maintenance?enable=true', { token: null, headers }), ON);
    expectJson(await raw('POST', '/admin/maintenance?enable=false', { token: null, headers }), OFF);
  });
});

describe('/c/{cluster} and the default cluster', () => {
  it('acts on a non-default cluster under /c/{cluster}, leaving the default alone', async () => {
    expectJson(await raw('POST', `/c/${OTHER}/admin/maintenance?enable=true`), ON);
    expectJson(await raw('GET', `/c/${OTHER}/admin/maintenance/status`), ON);
    expect((await failoverView(OTHER)).paused).toBe(true);
    expectJson(await raw('GET', '/admin/maintenance'), OFF);
    expect((await failoverView()).paused).toBe(false);
    // the default is read per request
    process.env[ENV_VAR] = OTHER;
    expectJson(await raw('GET', '/admin/maintenance'), ON);
    expectJson(await raw('POST', '/admin/maintenance/disable'), OFF);
    process.env[ENV_VAR] = META;
    expectJson(await raw('GET', `/c/${OTHER}/admin/maintenance`), OFF);

    expectJson(await raw('POST', `/c/${OTHER}/admin/procedure-manager/pause`), '{"status":"paused"}');
    expectJson(await raw('GET', '/admin/procedure-manager/status'), '{"status":"running"}');
    expectJson(await raw('POST', `/c/${OTHER}/admin/procedure-manager/resume`), '{"status":"running"}');
  });

  it('404 (plain text) for an unknown cluster, and when no default is configured', async () => {
    expectText(await raw('GET', '/c/no-such-cluster/admin/maintenance'), 404, /not found/);
    expectText(await raw('POST', '/c/no-such-cluster/admin/maintenance?enable=true'), 404, /not found/);
    delete process.env[ENV_VAR];
    expectText(
      await raw('GET', '/admin/maintenance'),
      404,
      'no default cluster is configured for greptimedb: use /c/<cluster>/...',
    );
    process.env[ENV_VAR] = META;
  });
});

describe('audit events', () => {
  it('carry source compat:greptimedb and the token user', async () => {
    expectJson(await raw('POST', '/admin/maintenance?enable=true'), ON);
    expectJson(await raw('POST', '/admin/maintenance?enable=false'), OFF);
    expectJson(await raw('POST', '/admin/procedure-manager/pause'), '{"status":"paused"}');
    expectJson(await raw('POST', '/admin/procedure-manager/resume'), '{"status":"running"}');
    const { events } = (await env.call('GET', `/v1/clusters/${META}/events?limit=4`)).body;
    expect(events.map((e: { action: string; target: string }) => [e.action, e.target])).toEqual([
      ['resume-procedures', 'cluster'],
      ['pause-procedures', 'cluster'],
      ['clear-maintenance', 'cluster'],
      ['set-maintenance', 'cluster'],
    ]);
    for (const e of events) expect(e).toMatchObject({ source: 'compat:greptimedb', actor: 'gt-operator' });
    const all = (await env.call('GET', `/v1/clusters/${META}/events?limit=200`)).body.events as {
      source: string;
      actor: string;
    }[];
    for (const e of all.filter((x) => x.actor === 'gt-operator')) expect(e.source).toBe('compat:greptimedb');
  });
});
