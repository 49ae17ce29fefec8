/**
 * The Cassandra operator's maintenance API (docs/compat.md §2) on the wire: real HTTP on 127.0.0.1 over
 * DynamoDB Local, every row and bullet with its exact status, Content-Type and body bytes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectJson, expectText, rawRequest } from '../support/compat.js';
import { setServerClaim } from '../../functions/domain/maintenance.js';
import { createToken, httpEnv, seedCluster, type HttpEnv } from '../support/env.js';

const ENV_VAR = 'MAINTCTL_CASSANDRA_CLUSTER';

let env: HttpEnv;
let operator: string;
let viewer: string;

/** The default cluster: two dcs whose names are a prefix of one another (the original's substring-match bug). */
const RING = 'ring';
const DC1 = ['ring-dc1-0', 'ring-dc1-1', 'ring-dc1-2'];
const DC10 = ['ring-dc10-0', 'ring-dc10-1', 'ring-dc10-2'];
/** A single-dc cluster: a dc request would take it down. */
const SOLO = 'solo';
const SOLO_PODS = ['solo-0', 'solo-1', 'solo-2'];
/** A non-default cluster, reached through `/c/other/...`. */
const OTHER = 'other';

const raw = (method: string, path: string, options: { token?: string | null; headers?: Record<string, string> } = {}) =>
  rawRequest(env.url, operator, method, path, options);

const configMap = (cluster: string, pods: string[]) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${cluster}-maintenance-configmap` },
    data: Object.fromEntries(pods.map((p) => [p, 'true'])),
  });

const revision = async (cluster: string) => (await env.call('GET', `/v1/clusters/${cluster}`)).body.revision as number;

beforeAll(async () => {
  env = await httpEnv();
  operator = await createToken(env.deps, 'operator', undefined, 'cass-operator');
  viewer = await createToken(env.deps, 'viewer', undefined, 'cass-viewer');
  await seedCluster(
    env,
    RING,
    [...DC1.map((name) => ({ name, dc: 'dc1' })), ...DC10.map((name) => ({ name, dc: 'dc10' }))].map((s) => ({
      ...s,
      role: 'member' as const,
    })),
    'cassandra',
  );
  await seedCluster(
    env,
    SOLO,
    SOLO_PODS.map((name) => ({ name, dc: 'dc1', role: 'member' as const })),
    'cassandra',
  );
  await seedCluster(
    env,
    OTHER,
    [
      { name: 'other-0', dc: 'east', role: 'member' },
      { name: 'other-1', dc: 'east', role: 'member' },
      { name: 'other-2', dc: 'west', role: 'member' },
      { name: 'other-3', dc: 'west', role: 'member' },
    ],
    'cassandra',
  );
});
afterAll(async () => {
  delete process.env[ENV_VAR];
  await env?.close();
});
// The family reads its default cluster per request; each test starts from the same default.
beforeEach(() => {
  process.env[ENV_VAR] = RING;
});

describe('/pods/{pod}', () => {
  it('PUT answers {"<pod>":true}, GET {"inMaintenance":true}, DELETE {"<pod>":false}, GET {"inMaintenance":false}', async () => {
    expectJson(await raw('GET', '/pods/ring-dc1-0'), '{"inMaintenance":false}');
    expectJson(await raw('PUT', '/pods/ring-dc1-0'), '{"ring-dc1-0":true}');
    expectJson(await raw('GET', '/pods/ring-dc1-0'), '{"inMaintenance":true}');
    // a repeat is a no-op with the same answer
    const rev = await revision(RING);
    expectJson(await raw('PUT', '/pods/ring-dc1-0'), '{"ring-dc1-0":true}');
    expect(await revision(RING)).toBe(rev);
    expectJson(await raw('DELETE', '/pods/ring-dc1-0'), '{"ring-dc1-0":false}');
    expectJson(await raw('GET', '/pods/ring-dc1-0'), '{"inMaintenance":false}');
    // clearing what is not there answers the same
    expectJson(await raw('DELETE', '/pods/ring-dc1-0'), '{"ring-dc1-0":false}');
  });

  it('is the manual claim the native API shows', async () => {
    expectJson(await raw('PUT', '/pods/ring-dc10-1'), '{"ring-dc10-1":true}');
    const native = await env.call('GET', `/v1/clusters/${RING}/servers/ring-dc10-1`);
    expect(native.body).toMatchObject({
      maintenance: true,
      routable: false,
      claims: [{ holder: 'manual', scope: 'server', mode: 'maintenance', actor: 'cass-operator' }],
    });
    expectJson(await raw('DELETE', '/pods/ring-dc10-1'), '{"ring-dc10-1":false}');
    expect((await env.call('GET', `/v1/clusters/${RING}/servers/ring-dc10-1`)).body).toMatchObject({
      maintenance: false,
      claims: [],
    });
  });

  it('answers an unknown pod with 404 text `Pod <pod> does not exist.` for every method', async () => {
    const rev = await revision(RING);
    for (const method of ['PUT', 'DELETE', 'GET'])
      expectText(await raw(method, '/pods/cassandra-dc9-0'), 404, 'Pod cassandra-dc9-0 does not exist.');
    expect(await revision(RING)).toBe(rev);
  });

  it('refuses, with the budget, a second pod of a three-pod dc (409 plain text naming why), changing nothing', async () => {
    expectJson(await raw('PUT', '/pods/ring-dc1-0'), '{"ring-dc1-0":true}');
    const rev = await revision(RING);
    const refused = await raw('PUT', '/pods/ring-dc1-1');
    expectText(
      refused,
      409,
      /^refused by the disruption budget: dc dc1 allows 1 unavailable of 3; this would make 2 \(unavailable: ring-dc1-0, ring-dc1-1\)\n$/,
    );
    expect(await revision(RING)).toBe(rev);
    expectJson(await raw('GET', '/pods/ring-dc1-1'), '{"inMaintenance":false}');
    // another dc has its own budget
    expectJson(await raw('PUT', '/pods/ring-dc10-0'), '{"ring-dc10-0":true}');
    expectJson(await raw('DELETE', '/pods/ring-dc10-0'), '{"ring-dc10-0":false}');
    expectJson(await raw('DELETE', '/pods/ring-dc1-0'), '{"ring-dc1-0":false}');
  });

  it('refuses DELETE of a pod held by a window (409 plain text naming window:w1), state unchanged', async () => {
    const actor = { user: 'scheduler', isAdmin: false, source: 'window', requestId: 'test-window' };
    await env.deps.store.mutate(
      RING,
      (s) =>
        setServerClaim(
          s!,
          'ring-dc10-2',
          {
            holder: 'window:w1',
            mode: 'maintenance',
            force: false,
            onDeadline: 'force',
            override: false,
            dryRun: false,
          },
          actor,
          Date.now(),
        ),
      { actor, result: () => null },
    );
    const rev = await revision(RING);
    expectText(await raw('DELETE', '/pods/ring-dc10-2'), 409, /^still in maintenance: held by window:w1\n$/);
    expect(await revision(RING)).toBe(rev);
    expectJson(await raw('GET', '/pods/ring-dc10-2'), '{"inMaintenance":true}');
    // an admin can lift the window's claim through the native API (override); the pod is then back
    expect(
      (await env.call('DELETE', `/v1/clusters/${RING}/servers/ring-dc10-2/maintenance?override=true`)).status,
    ).toBe(200);
    expectJson(await raw('GET', '/pods/ring-dc10-2'), '{"inMaintenance":false}');
  });
});

describe('/dcs/{dc}', () => {
  it('PUT sets the dc claim and lists every pod of that dc, and only that dc (dc1 is not dc10)', async () => {
    expectJson(await raw('GET', '/dcs/dc1'), '{"dc1":false}');
    const rev = await revision(RING);
    expectJson(await raw('PUT', '/dcs/dc1'), '[{"ring-dc1-0":true},{"ring-dc1-1":true},{"ring-dc1-2":true}]');
    // one dc-level record, one write: the revision moves by one whatever the dc's size
    expect(await revision(RING)).toBe(rev + 1);
    expectJson(await raw('GET', '/dcs/dc1'), '{"dc1":true}');
    for (const pod of DC1) expectJson(await raw('GET', `/pods/${pod}`), '{"inMaintenance":true}');
    // exact matching: dc10's pods are untouched
    expectJson(await raw('GET', '/dcs/dc10'), '{"dc10":false}');
    for (const pod of DC10) expectJson(await raw('GET', `/pods/${pod}`), '{"inMaintenance":false}');
    expectJson(await raw('GET', '/config'), configMap(RING, DC1));
    const native = await env.call('GET', `/v1/clusters/${RING}`);
    expect(native.body.dcs).toEqual([
      expect.objectContaining({ name: 'dc1', maintenance: true, unavailable: DC1 }),
      expect.objectContaining({ name: 'dc10', maintenance: false, unavailable: [] }),
    ]);
  });

  it('DELETE /pods/{pod} of a pod held only by its dc: 409 plain text naming the dc, state unchanged', async () => {
    const rev = await revision(RING);
    expectText(await raw('DELETE', '/pods/ring-dc1-1'), 409, /^still in maintenance: held by dc \(manual\)\n$/);
    expect(await revision(RING)).toBe(rev);
    expectJson(await raw('GET', '/pods/ring-dc1-1'), '{"inMaintenance":true}');
    expectJson(await raw('GET', '/dcs/dc1'), '{"dc1":true}');
  });

  it('GET /dcs/{dc} is true only if every pod of the dc is in maintenance', async () => {
    expectJson(await raw('PUT', '/pods/ring-dc10-0'), '{"ring-dc10-0":true}');
    expectJson(await raw('GET', '/dcs/dc10'), '{"dc10":false}');
    expectJson(await raw('DELETE', '/pods/ring-dc10-0'), '{"ring-dc10-0":false}');
  });

  it('DELETE lists every pod of the dc as false', async () => {
    expectJson(await raw('DELETE', '/dcs/dc1'), '[{"ring-dc1-0":false},{"ring-dc1-1":false},{"ring-dc1-2":false}]');
    expectJson(await raw('GET', '/dcs/dc1'), '{"dc1":false}');
    for (const pod of DC1) expectJson(await raw('GET', `/pods/${pod}`), '{"inMaintenance":false}');
    // a dc that has no claim: a no-op, same shape
    expectJson(await raw('DELETE', '/dcs/dc10'), '[{"ring-dc10-0":false},{"ring-dc10-1":false},{"ring-dc10-2":false}]');
    expectJson(await raw('GET', '/config'), configMap(RING, []));
  });

  it('a pod in maintenance through both its own claim and its dc stays true after the dc is cleared', async () => {
    expectJson(await raw('PUT', '/pods/ring-dc10-2'), '{"ring-dc10-2":true}');
    // the dc claim may still be set: dc1 is within its budget
    expectJson(await raw('PUT', '/dcs/dc10'), '[{"ring-dc10-0":true},{"ring-dc10-1":true},{"ring-dc10-2":true}]');
    expectJson(await raw('DELETE', '/dcs/dc10'), '[{"ring-dc10-0":false},{"ring-dc10-1":false},{"ring-dc10-2":true}]');
    expectJson(await raw('DELETE', '/pods/ring-dc10-2'), '{"ring-dc10-2":false}');
  });

  it('answers an unknown dc with 404 `No matches found for dc <dc>.` for every method, with no prefix or substring match', async () => {
    const rev = await revision(RING);
    for (const dc of ['dc2', 'dc', 'c1', 'dc100']) {
      for (const method of ['PUT', 'DELETE', 'GET'])
        expectText(await raw(method, `/dcs/${dc}`), 404, `No matches found for dc ${dc}.`);
    }
    expect(await revision(RING)).toBe(rev);
  });
});

describe('the disruption budget refuses what would take the cluster down', () => {
  it('refuses the only dc of a single-dc cluster (409 plain text naming why), changing nothing', async () => {
    const rev = await revision(SOLO);
    const refused = await raw('PUT', `/c/${SOLO}/dcs/dc1`);
    expectText(
      refused,
      409,
      /^refused by the disruption budget: taking dc dc1 out needs another dc within its budget, and there is none\n$/,
    );
    expect(await revision(SOLO)).toBe(rev);
    expectJson(await raw('GET', `/c/${SOLO}/dcs/dc1`), '{"dc1":false}');
    expectJson(await raw('GET', `/c/${SOLO}/config`), configMap(SOLO, []));
  });

  it('refuses a dc while the other dc is already out, naming the unavailable pods; allows it again once that dc is back', async () => {
    expectJson(await raw('PUT', '/dcs/dc10'), '[{"ring-dc10-0":true},{"ring-dc10-1":true},{"ring-dc10-2":true}]');
    const rev = await revision(RING);
    const refused = await raw('PUT', '/dcs/dc1');
    expectText(
      refused,
      409,
      /^refused by the disruption budget: taking dc dc1 out needs another dc within its budget, and there is none \(unavailable: ring-dc10-0, ring-dc10-1, ring-dc10-2\)\n$/,
    );
    expect(await revision(RING)).toBe(rev);
    expectJson(await raw('GET', '/dcs/dc1'), '{"dc1":false}');
    for (const pod of DC1) expectJson(await raw('GET', `/pods/${pod}`), '{"inMaintenance":false}');
    expectJson(await raw('GET', '/config'), configMap(RING, DC10));

    expectJson(await raw('DELETE', '/dcs/dc10'), '[{"ring-dc10-0":false},{"ring-dc10-1":false},{"ring-dc10-2":false}]');
    expectJson(await raw('PUT', '/dcs/dc1'), '[{"ring-dc1-0":true},{"ring-dc1-1":true},{"ring-dc1-2":true}]');
    expectJson(await raw('DELETE', '/dcs/dc1'), '[{"ring-dc1-0":false},{"ring-dc1-1":false},{"ring-dc1-2":false}]');
  });
});

describe('/config', () => {
  it('GET and PUT both answer the ConfigMap document listing every pod in maintenance', async () => {
    expectJson(await raw('GET', '/config'), configMap(RING, []));
    expectJson(await raw('PUT', '/config'), configMap(RING, []));
    expectJson(await raw('PUT', '/pods/ring-dc10-1'), '{"ring-dc10-1":true}');
    expectJson(await raw('PUT', '/pods/ring-dc1-2'), '{"ring-dc1-2":true}');
    const expected =
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ring-maintenance-configmap"},"data":{"ring-dc1-2":"true","ring-dc10-1":"true"}}';
    expectJson(await raw('GET', '/config'), expected);
    const rev = await revision(RING);
    expectJson(await raw('PUT', '/config'), expected);
    // PUT /config is a read: it changes nothing
    expect(await revision(RING)).toBe(rev);
    expectJson(await raw('DELETE', '/pods/ring-dc10-1'), '{"ring-dc10-1":false}');
    expectJson(await raw('DELETE', '/pods/ring-dc1-2'), '{"ring-dc1-2":false}');
    expectJson(await raw('PUT', '/config'), configMap(RING, []));
  });
});

describe('auth', () => {
  it('a viewer token: 403 (plain text) on PUT and DELETE of pods and dcs, 200 on the GETs and on PUT /config', async () => {
    const rev = await revision(RING);
    for (const [method, path] of [
      ['PUT', '/pods/ring-dc1-0'],
      ['DELETE', '/pods/ring-dc1-0'],
      ['PUT', '/dcs/dc1'],
      ['DELETE', '/dcs/dc1'],
    ] as const) {
      expectText(await raw(method, path, { token: viewer }), 403, /operator role/);
    }
    expect(await revision(RING)).toBe(rev);
    expectJson(await raw('GET', '/pods/ring-dc1-0', { token: viewer }), '{"inMaintenance":false}');
    expectJson(await raw('GET', '/dcs/dc1', { token: viewer }), '{"dc1":false}');
    expectJson(await raw('GET', '/config', { token: viewer }), configMap(RING, []));
    expectJson(await raw('PUT', '/config', { token: viewer }), configMap(RING, []));
  });

  it('no credentials, or wrong ones: 401 on every route, reads included', async () => {
    for (const [method, path] of [
      ['PUT', '/pods/ring-dc1-0'],
      ['DELETE', '/pods/ring-dc1-0'],
      ['GET', '/pods/ring-dc1-0'],
      ['PUT', '/dcs/dc1'],
      ['GET', '/dcs/dc1'],
      ['GET', '/config'],
      ['PUT', '/config'],
    ] as const) {
      const res = await raw(method, path, { token: null });
      expectText(res, 401, 'Unauthorized');
      expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
      expectText(await raw(method, path, { token: 'mct_not-a-token' }), 401, 'Unauthorized');
    }
    expectJson(await raw('GET', '/pods/ring-dc1-0'), '{"inMaintenance":false}');
  });

  it('accepts Basic user:token as well as Bearer', async () => {
    const basic = (user: string, token: string) => ({
      authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`,
    });
    expectJson(
      await raw('PUT', '/pods/ring-dc1-2', { token: null, headers: basic('cass-operator', operator) }),
      '{"ring-dc1-2":true}',
    );
    expectJson(
      await raw('DELETE', '/pods/ring-dc1-2', { token: null, headers: basic('cass-operator', operator) }),
      '{"ring-dc1-2":false}',
    );
    expectText(
      await raw('GET', '/pods/ring-dc1-2', { token: null, headers: basic('someone-else', operator) }),
      401,
      'Unauthorized',
    );
  });
});

describe('/c/{cluster}/... and the default cluster', () => {
  it('acts on a non-default cluster under /c/{cluster}, leaving the default cluster alone', async () => {
    const ringRev = await revision(RING);
    expectJson(await raw('PUT', `/c/${OTHER}/pods/other-0`), '{"other-0":true}');
    expectJson(await raw('GET', `/c/${OTHER}/pods/other-0`), '{"inMaintenance":true}');
    expectJson(await raw('GET', `/c/${OTHER}/config`), configMap(OTHER, ['other-0']));
    expectJson(await raw('PUT', `/c/${OTHER}/config`), configMap(OTHER, ['other-0']));
    // other-0 is not a pod of the default cluster
    expectText(await raw('GET', '/pods/other-0'), 404, 'Pod other-0 does not exist.');
    expectJson(await raw('GET', '/config'), configMap(RING, []));
    expect(await revision(RING)).toBe(ringRev);
    expectJson(await raw('DELETE', `/c/${OTHER}/pods/other-0`), '{"other-0":false}');

    expectJson(await raw('PUT', `/c/${OTHER}/dcs/west`), '[{"other-2":true},{"other-3":true}]');
    expectJson(await raw('GET', `/c/${OTHER}/dcs/west`), '{"west":true}');
    expectText(await raw('GET', `/c/${OTHER}/dcs/dc1`), 404, 'No matches found for dc dc1.');
    expectJson(await raw('DELETE', `/c/${OTHER}/dcs/west`), '[{"other-2":false},{"other-3":false}]');
  });

  it('reads the default cluster from the environment on every request', async () => {
    process.env[ENV_VAR] = OTHER;
    expectJson(await raw('GET', '/config'), configMap(OTHER, []));
    expectJson(await raw('GET', '/pods/other-1'), '{"inMaintenance":false}');
    expectText(await raw('GET', '/pods/ring-dc1-0'), 404, 'Pod ring-dc1-0 does not exist.');
    process.env[ENV_VAR] = RING;
    expectJson(await raw('GET', '/pods/ring-dc1-0'), '{"inMaintenance":false}');
  });

  it('a token limited to one cluster may act there, and not on the default cluster', async () => {
    const scoped = await createToken(env.deps, 'operator', [OTHER], 'other-operator');
    expectJson(await raw('PUT', `/c/${OTHER}/pods/other-1`, { token: scoped }), '{"other-1":true}');
    expectJson(await raw('DELETE', `/c/${OTHER}/pods/other-1`, { token: scoped }), '{"other-1":false}');
    expectText(await raw('PUT', '/pods/ring-dc1-0', { token: scoped }), 403, /may not act on cluster ring/);
    expectText(await raw('GET', '/config', { token: scoped }), 403, /may not act on cluster ring/);
  });

  it('says what is missing when no default cluster is configured, or the cluster does not exist, rather than blaming the pod', async () => {
    delete process.env[ENV_VAR];
    const unconfigured = await raw('GET', '/pods/ring-dc1-0');
    expectText(unconfigured, 404, 'no default cluster is configured for cassandra: use /c/<cluster>/...');
    expectText(
      await raw('PUT', '/dcs/dc1'),
      404,
      'no default cluster is configured for cassandra: use /c/<cluster>/...',
    );
    expectText(
      await raw('GET', '/config'),
      404,
      'no default cluster is configured for cassandra: use /c/<cluster>/...',
    );
    process.env[ENV_VAR] = RING;
    expectText(await raw('PUT', '/c/no-such-cluster/pods/ring-dc1-0'), 404, 'cluster no-such-cluster not found');
    expectText(await raw('GET', '/c/no-such-cluster/dcs/dc1'), 404, 'cluster no-such-cluster not found');
  });
});

describe('a wrong method', () => {
  it('answers 405 in plain text with Allow, with or without the /c/{cluster} prefix, credentials or not, changing nothing', async () => {
    const [rev, otherRev] = [await revision(RING), await revision(OTHER)];
    for (const [method, path, allow] of [
      ['POST', '/pods/p1', 'GET, PUT, DELETE'],
      ['PATCH', '/pods/ring-dc1-0', 'GET, PUT, DELETE'],
      ['POST', '/dcs/dc1', 'GET, PUT, DELETE'],
      ['PATCH', '/config', 'GET, PUT'],
      ['DELETE', '/config', 'GET, PUT'],
      ['POST', `/c/${OTHER}/pods/other-0`, 'GET, PUT, DELETE'],
      ['DELETE', `/c/${OTHER}/config`, 'GET, PUT'],
    ] as const) {
      for (const token of [undefined, null]) {
        const res = await raw(method, path, { token });
        expectText(res, 405, `${method} is not allowed here`);
        expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
      }
    }
    expect(await revision(RING)).toBe(rev);
    expect(await revision(OTHER)).toBe(otherRev);
  });
});

describe('audit events', () => {
  it('carry source compat:cassandra, the token user, and the pod or dc target', async () => {
    expectJson(await raw('PUT', '/pods/ring-dc1-1'), '{"ring-dc1-1":true}');
    expectJson(await raw('DELETE', '/pods/ring-dc1-1'), '{"ring-dc1-1":false}');
    expectJson(await raw('PUT', '/dcs/dc10'), '[{"ring-dc10-0":true},{"ring-dc10-1":true},{"ring-dc10-2":true}]');
    expectJson(await raw('DELETE', '/dcs/dc10'), '[{"ring-dc10-0":false},{"ring-dc10-1":false},{"ring-dc10-2":false}]');
    const { events } = (await env.call('GET', `/v1/clusters/${RING}/events?limit=4`)).body;
    expect(events.map((e: { action: string; target: string }) => [e.action, e.target])).toEqual([
      ['clear-maintenance', 'dc:dc10'],
      ['set-maintenance', 'dc:dc10'],
      ['clear-maintenance', 'server:ring-dc1-1'],
      ['set-maintenance', 'server:ring-dc1-1'],
    ]);
    for (const e of events) expect(e).toMatchObject({ source: 'compat:cassandra', actor: 'cass-operator' });
    // every change this file made through the family was recorded as compat:cassandra
    const all = (await env.call('GET', `/v1/clusters/${RING}/events?limit=200`)).body.events as {
      source: string;
      actor: string;
    }[];
    for (const e of all.filter((x) => x.actor === 'cass-operator' || x.actor === 'other-operator'))
      expect(e.source).toBe('compat:cassandra');
  });
});
