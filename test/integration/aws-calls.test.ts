/**
 * aws-fetch.ts on the wire: the task function's Lambda Invoke and Secrets Manager GetSecretValue
 * (rollout/aws-calls.ts), the windows' Scheduler calls (windows/scheduler-api.ts) and the rollout engine's Step
 * Functions StartExecution and DescribeExecution (rollout/engine.ts), sent by aws4fetch, against
 * the same calls sent by the real SDK clients they replaced, to a local HTTP server standing in for the services:
 * the same requests, the same results, the same errors (name, message, fault, status) after the same number of
 * attempts, and a signature that the SDK's own SigV4 signer computes too.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toDomainError } from '../../functions/store/errors.js';
import { getSecretString, invokeAsync } from '../../functions/rollout/aws-calls.js';
import { StepFunctionsEngine } from '../../functions/rollout/engine.js';
import { SchedulerApi, type ScheduleInput } from '../../functions/windows/scheduler-api.js';
import { closeServer, listenLocal, recordingServer, type RecordingServer } from '../support/recording-server.js';

const REGION = 'eu-west-1';
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token',
};
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:db-upgrader';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:maintctl-webhook-AbCdEf';

interface Recorded {
  method: string;
  rawPath: string;
  headers: IncomingHttpHeaders;
  body: string;
}
interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

let server: RecordingServer;
let requests: Recorded[] = [];
let respond: (req: Recorded) => Reply;
let endpoint = '';
const saved = { ...process.env };

beforeAll(async () => {
  server = await recordingServer((req) => {
    const recorded: Recorded = { method: req.method, rawPath: req.url, headers: req.headers, body: req.body };
    requests.push(recorded);
    const reply = respond(recorded);
    return { ...reply, headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'req-1', ...reply.headers } };
  });
  endpoint = server.url;
  // What Lambda gives a function, and the SDK's own endpoint overrides.
  Object.assign(process.env, {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
    AWS_ENDPOINT_URL_LAMBDA: endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ENDPOINT_URL_SFN: endpoint,
  });
});

afterAll(async () => {
  process.env = saved;
  await server.close();
});

beforeEach(() => {
  requests = [];
});

const sdkConfig = () => ({ endpoint, region: REGION, credentials: CREDENTIALS });
const sdkInvoke = (payload: unknown) =>
  new LambdaClient(sdkConfig()).send(
    new InvokeCommand({
      FunctionName: FUNCTION_ARN,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(payload)),
    }),
  );
const sdkSecret = async () =>
  (await new SecretsManagerClient(sdkConfig()).send(new GetSecretValueCommand({ SecretId: SECRET_ARN }))).SecretString;

/** What each side sent: the parts a service reads (the SDK adds its user agent, invocation ids and retry info). */
const wire = (r: Recorded) => ({
  method: r.method,
  rawPath: r.rawPath,
  body: r.body,
  type: r.headers['content-type'],
  invocationType: r.headers['x-amz-invocation-type'],
  target: r.headers['x-amz-target'],
  token: r.headers['x-amz-security-token'],
});

/** Runs `call` and gives back its requests and its error as `toDomainError` and the ASL read it. */
async function outcome(call: () => Promise<unknown>) {
  requests = [];
  try {
    return { result: await call(), requests: requests.map(wire) };
  } catch (error) {
    const e = error as Error & { $fault?: string; $metadata?: { httpStatusCode?: number } };
    return {
      error: { name: e.name, message: e.message, fault: e.$fault, status: e.$metadata?.httpStatusCode },
      requests: requests.map(wire),
    };
  }
}

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Data) =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);

/** node:crypto in the shape the SDK signer takes. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: Data) {
    this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: Data) {
    this.hash.update(bytes(data));
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

/** The signature the SDK's SigV4 signer gives the received request, over the headers it says it signed. */
async function sdkSignature(r: Recorded, service: string): Promise<string> {
  const auth = String(r.headers.authorization);
  const signed = /SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';');
  const amzDate = String(r.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const headers = Object.fromEntries(signed.map((h) => [h, String(r.headers[h])]));
  const [path, query = ''] = r.rawPath.split('?') as [string, string?];
  const signer = new SignatureV4({ service, region: REGION, credentials: CREDENTIALS, sha256: NodeSha256 });
  // The path as sent (Lambda's has the function's ARN escaped), which the signer escapes again, as AWS expects.
  const request = {
    method: r.method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: Number(new URL(endpoint).port),
    path: path!,
    query: Object.fromEntries(new URLSearchParams(query)),
    headers,
    body: r.body,
  };
  // Nothing more than was signed: the SDK's signer would add its payload hash header.
  const unsignableHeaders = new Set([
    ...Object.keys(r.headers).filter((h) => !signed.includes(h)),
    'x-amz-content-sha256',
  ]);
  const out = await signer.sign(request, { signingDate, unsignableHeaders });
  return /Signature=([0-9a-f]+)/.exec(String(out.headers.authorization))![1]!;
}

describe('Lambda Invoke, InvocationType Event', () => {
  const request = { cluster: 'prod', rolloutId: 'r1', server: 'db1', targetVersion: '11.4.3', idempotencyKey: 'k/1' };

  it('sends what the SDK sends, and returns on 202', async () => {
    respond = () => ({ status: 202, body: '' });
    const ours = await outcome(() => invokeAsync(FUNCTION_ARN, request));
    const sdk = await outcome(() => sdkInvoke(request));
    expect(ours.requests).toEqual(sdk.requests);
    expect(ours.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        rawPath: `/2015-03-31/functions/${encodeURIComponent(FUNCTION_ARN)}/invocations`,
        invocationType: 'Event',
        body: JSON.stringify(request),
        token: 'session-token',
      }),
    ]);
    expect(ours.result).toBeUndefined();
  });

  it('is signed for lambda in the region, as the SDK signer signs it', async () => {
    respond = () => ({ status: 202, body: '' });
    await invokeAsync(FUNCTION_ARN, request);
    const [req] = requests as [Recorded];
    expect(String(req.headers.authorization)).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\\d{8}/${REGION}/lambda/aws4_request, SignedHeaders=[^,]*host[^,]*x-amz-date`,
      ),
    );
    expect(String(req.headers.authorization)).toContain(`Signature=${await sdkSignature(req, 'lambda')}`);
  });

  it.each([
    [
      'a missing function',
      {
        status: 404,
        headers: {
          'x-amzn-errortype': 'ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.awslambda/',
        },
        body: JSON.stringify({ Type: 'User', Message: 'Function not found: arn' }),
      },
    ],
    [
      'a refusal',
      {
        status: 403,
        headers: { 'x-amzn-errortype': 'AccessDeniedException' },
        body: JSON.stringify({ Message: 'not authorized to perform: lambda:InvokeFunction' }),
      },
    ],
    [
      'throttling, retried',
      {
        status: 429,
        headers: { 'x-amzn-errortype': 'TooManyRequestsException' },
        body: JSON.stringify({
          Type: 'User',
          message: 'Rate exceeded',
          Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
        }),
      },
    ],
    [
      'a service error, retried',
      {
        status: 500,
        headers: { 'x-amzn-errortype': 'ServiceException' },
        body: JSON.stringify({ Type: 'Service', Message: 'internal' }),
      },
    ],
    ['a bad gateway without a body', { status: 502, body: '' }],
    [
      'a code without a message',
      { status: 400, headers: { 'x-amzn-errortype': 'InvalidRequestContentException' }, body: '{}' },
    ],
  ] as [string, Reply][])('%s: the same error as the SDK, after as many attempts', async (_name, reply) => {
    respond = () => reply;
    const ours = await outcome(() => invokeAsync(FUNCTION_ARN, request));
    const sdk = await outcome(() => sdkInvoke(request));
    expect(ours.error).toBeDefined();
    expect(ours).toEqual(sdk);
  });
});

describe('Secrets Manager GetSecretValue', () => {
  it('sends what the SDK sends and reads SecretString', async () => {
    respond = () => ({
      status: 200,
      body: JSON.stringify({ ARN: SECRET_ARN, Name: 'maintctl-webhook', SecretString: 's3cr3t', VersionId: 'v1' }),
    });
    const ours = await outcome(() => getSecretString(SECRET_ARN));
    const sdk = await outcome(() => sdkSecret());
    expect(ours).toEqual(sdk);
    expect(ours.result).toBe('s3cr3t');
    expect(ours.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        rawPath: '/',
        target: 'secretsmanager.GetSecretValue',
        type: 'application/x-amz-json-1.1',
        body: JSON.stringify({ SecretId: SECRET_ARN }),
      }),
    ]);
  });

  it('a binary secret has no SecretString: undefined, as from the SDK', async () => {
    respond = () => ({ status: 200, body: JSON.stringify({ ARN: SECRET_ARN, SecretBinary: 'AAEC' }) });
    expect(await outcome(() => getSecretString(SECRET_ARN))).toEqual(await outcome(() => sdkSecret()));
    expect(await getSecretString(SECRET_ARN)).toBeUndefined();
  });

  it('is signed for secretsmanager in the region, as the SDK signer signs it', async () => {
    respond = () => ({ status: 200, body: JSON.stringify({ SecretString: 's' }) });
    await getSecretString(SECRET_ARN);
    const [req] = requests as [Recorded];
    expect(String(req.headers.authorization)).toMatch(
      new RegExp(`Credential=AKIDEXAMPLE/\\d{8}/${REGION}/secretsmanager/aws4_request`),
    );
    expect(String(req.headers.authorization)).toContain(`Signature=${await sdkSignature(req, 'secretsmanager')}`);
  });

  it.each([
    [
      'a missing secret',
      {
        status: 400,
        body: JSON.stringify({
          __type: 'ResourceNotFoundException',
          Message: "Secrets Manager can't find the specified secret.",
        }),
      },
    ],
    [
      'a namespaced code',
      {
        status: 400,
        body: JSON.stringify({ __type: 'com.amazonaws.secretsmanager#DecryptionFailure', message: 'KMS said no' }),
      },
    ],
    ['throttling', { status: 400, body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }) }],
    [
      'a service error, retried',
      { status: 500, body: JSON.stringify({ __type: 'InternalServiceError', Message: 'internal' }) },
    ],
  ] as [string, Reply][])('%s: the same error as the SDK, after as many attempts', async (_name, reply) => {
    respond = () => reply;
    const ours = await outcome(() => getSecretString(SECRET_ARN));
    const sdk = await outcome(() => sdkSecret());
    expect(ours.error).toBeDefined();
    expect(ours).toEqual(sdk);
  });
});

describe('a connection that fails', () => {
  it('throws the socket error with its code, as the SDK does (toDomainError reads it as unavailable)', async () => {
    const closed = createServer((req) => req.socket.destroy());
    process.env.AWS_ENDPOINT_URL_LAMBDA = `http://127.0.0.1:${await listenLocal(closed)}`;
    try {
      const error = (await invokeAsync(FUNCTION_ARN, {}).catch((e: unknown) => e)) as Error & { code?: string };
      expect(error.code).toBe('ECONNRESET');
    } finally {
      process.env.AWS_ENDPOINT_URL_LAMBDA = endpoint;
      await closeServer(closed);
    }
  });
});

describe('an endpoint that never answers', () => {
  it('each attempt is given up at its timeout (a TimeoutError, retried as the SDK retries it); the caller hears Unavailable', async () => {
    const silent = createServer(() => {
      // accepts, reads, never answers
    });
    const port = await listenLocal(silent);
    let attempts = 0;
    silent.on('request', () => attempts++);
    const api = new SchedulerApi({
      endpoint: `http://127.0.0.1:${port}`,
      region: REGION,
      credentials: CREDENTIALS,
      attemptTimeoutMs: 200,
    });
    try {
      const started = Date.now();
      const error = (await api.deleteSchedule({ Name: 'mw-x', GroupName: 'g' }).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('TimeoutError');
      expect(attempts).toBe(3);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(toDomainError(error)?.code).toBe('Unavailable');
    } finally {
      await closeServer(silent);
    }
  });
});

describe('Scheduler CreateSchedule, UpdateSchedule, DeleteSchedule, ListSchedules', () => {
  const input: ScheduleInput = {
    Name: 'mw-0123456789abcdef',
    GroupName: 'maintctl-windows',
    ScheduleExpression: 'rate(1 day)',
    ScheduleExpressionTimezone: 'Europe/Berlin',
    StartDate: new Date('2027-01-10T02:00:00.250Z'),
    FlexibleTimeWindow: { Mode: 'OFF' },
    State: 'ENABLED',
    Description: 'maintctl window prod/w1 (sunday patch)',
    ActionAfterCompletion: 'DELETE',
    Target: {
      Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:maintctl-window',
      RoleArn: 'arn:aws:iam::123456789012:role/s',
      Input: '{"phase":"start"}',
    },
  };
  const ours = () => new SchedulerApi({ endpoint, region: REGION, credentials: CREDENTIALS });
  const sdk = () => new SchedulerClient(sdkConfig());
  /** A request without its idempotency token (a fresh UUID per call on both sides). */
  const tokenless = (r: ReturnType<typeof wire>) => {
    const [path, query] = r.rawPath.split('?') as [string, string?];
    const q = new URLSearchParams(query);
    const token =
      q.get('clientToken') ?? (r.body ? (JSON.parse(r.body) as { ClientToken?: string }).ClientToken : undefined);
    q.delete('clientToken');
    const body = r.body ? (JSON.parse(r.body) as Record<string, unknown>) : undefined;
    delete body?.ClientToken;
    return { ...r, rawPath: `${path}?${q}`, body, token: /^[0-9a-f-]{36}$/.test(token ?? '') };
  };
  const calls = [
    ['create', () => ours().createSchedule(input), () => sdk().send(new CreateScheduleCommand(input))],
    ['update', () => ours().updateSchedule(input), () => sdk().send(new UpdateScheduleCommand(input))],
    [
      'delete',
      () => ours().deleteSchedule({ Name: input.Name, GroupName: input.GroupName }),
      () => sdk().send(new DeleteScheduleCommand({ Name: input.Name, GroupName: input.GroupName })),
    ],
  ] as const;

  it('ListSchedules: the request the SDK sends, page after page', async () => {
    respond = (r) => ({
      status: 200,
      body: JSON.stringify(
        r.rawPath.includes('NextToken')
          ? { Schedules: [{ Name: 'mw-b' }] }
          : { Schedules: [{ Name: 'mw-a' }], NextToken: 'page-2' },
      ),
    });
    const a = await outcome(() => ours().listScheduleNames({ GroupName: input.GroupName, NamePrefix: 'mw-' }));
    expect(a.result).toEqual(['mw-a', 'mw-b']);
    const sdkPages = async () => {
      for (const NextToken of [undefined, 'page-2'])
        await sdk().send(
          new ListSchedulesCommand({
            GroupName: input.GroupName,
            NamePrefix: 'mw-',
            MaxResults: 100,
            ...(NextToken && { NextToken }),
          }),
        );
    };
    const b = await outcome(sdkPages);
    const sortedQuery = (r: ReturnType<typeof wire>) => {
      const [path, query] = r.rawPath.split('?') as [string, string];
      return {
        ...r,
        rawPath: `${path}?${[...new URLSearchParams(query)]
          .sort()
          .map(([k, v]) => `${k}=${v}`)
          .join('&')}`,
      };
    };
    expect(a.requests.map(sortedQuery)).toEqual(b.requests.map(sortedQuery));
  });

  it.each(calls)('%s: the request the SDK sends, each with its own idempotency token', async (_name, mine, theirs) => {
    respond = (r) => ({
      status: 200,
      body:
        r.method === 'DELETE'
          ? '{}'
          : JSON.stringify({ ScheduleArn: 'arn:aws:scheduler:eu-west-1:123456789012:schedule/g/n' }),
    });
    const a = await outcome(mine);
    const b = await outcome(theirs);
    expect(a.error).toBeUndefined();
    expect(a.requests.map(tokenless)).toEqual(b.requests.map(tokenless));
    expect(a.requests.map(tokenless)[0]!.token).toBe(true);
  });

  it('is signed for scheduler in the region, its query too, as the SDK signer signs it', async () => {
    respond = () => ({ status: 200, body: '{}' });
    await ours().deleteSchedule({ Name: input.Name, GroupName: input.GroupName });
    const [req] = requests as [Recorded];
    expect(String(req.headers.authorization)).toMatch(
      new RegExp(`Credential=AKIDEXAMPLE/\\d{8}/${REGION}/scheduler/aws4_request`),
    );
    expect(String(req.headers.authorization)).toContain(`Signature=${await sdkSignature(req, 'scheduler')}`);
  });

  it.each([
    [
      'a conflict',
      {
        status: 409,
        headers: { 'x-amzn-errortype': 'ConflictException' },
        body: JSON.stringify({ Message: 'exists' }),
      },
    ],
    [
      'a missing schedule',
      {
        status: 404,
        headers: { 'x-amzn-errortype': 'ResourceNotFoundException' },
        body: JSON.stringify({ Message: 'Schedule not found' }),
      },
    ],
    [
      'a validation error',
      {
        status: 400,
        headers: { 'x-amzn-errortype': 'ValidationException' },
        body: JSON.stringify({ Message: 'Invalid Schedule Expression' }),
      },
    ],
    [
      'throttling, retried',
      {
        status: 429,
        headers: { 'x-amzn-errortype': 'ThrottlingException' },
        body: JSON.stringify({ Message: 'Rate exceeded' }),
      },
    ],
    [
      'a service error, retried',
      {
        status: 500,
        headers: { 'x-amzn-errortype': 'InternalServerException' },
        body: JSON.stringify({ Message: 'internal' }),
      },
    ],
  ] as [string, Reply][])('%s: the same error as the SDK, after as many attempts', async (_name, reply) => {
    respond = () => reply;
    for (const [, mine, theirs] of calls) {
      const a = await outcome(mine);
      const b = await outcome(theirs);
      expect(a.error).toBeDefined();
      expect({ ...a, requests: a.requests.map(tokenless) }).toEqual({ ...b, requests: b.requests.map(tokenless) });
    }
  });
});

describe('Step Functions StartExecution and DescribeExecution', () => {
  const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:maintctl-rollout';
  const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:maintctl-rollout:r1-abc-00ff';
  const ours = () => new StepFunctionsEngine(MACHINE);
  const sfn = () => new SFNClient(sdkConfig());
  const sdkStart = async () =>
    (
      await sfn().send(
        new StartExecutionCommand({
          stateMachineArn: MACHINE,
          name: 'r1-abc-00ff',
          input: JSON.stringify({ cluster: 'prod', rolloutId: 'r1' }),
        }),
      )
    ).executionArn;
  const sdkDescribe = async () => {
    try {
      const out = await sfn().send(new DescribeExecutionCommand({ executionArn: EXECUTION }));
      return { status: out.status, ...(out.stopDate && { stoppedAt: out.stopDate.getTime() }) };
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  };

  it('StartExecution: what the SDK sends, the execution ARN back', async () => {
    respond = () => ({ status: 200, body: JSON.stringify({ executionArn: EXECUTION, startDate: 1796371200.123 }) });
    const a = await outcome(() => ours().startRollout({ cluster: 'prod', rolloutId: 'r1' }, 'r1-abc-00ff'));
    const b = await outcome(sdkStart);
    expect(a).toEqual(b);
    expect(a.result).toBe(EXECUTION);
    expect(a.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        rawPath: '/',
        type: 'application/x-amz-json-1.0',
        target: 'AWSStepFunctions.StartExecution',
      }),
    ]);
  });

  it.each([
    ['running', { status: 'RUNNING', startDate: 1796371200.123 }],
    ['ended', { status: 'SUCCEEDED', startDate: 1796371200.123, stopDate: 1796371260.457 }],
  ])('DescribeExecution, %s: the status and end the SDK reads', async (_name, answer) => {
    respond = () => ({ status: 200, body: JSON.stringify({ executionArn: EXECUTION, ...answer }) });
    const a = await outcome(() => ours().describeExecution(EXECUTION));
    expect(a).toEqual(await outcome(sdkDescribe));
    expect(a.requests[0]).toMatchObject({
      target: 'AWSStepFunctions.DescribeExecution',
      body: JSON.stringify({ executionArn: EXECUTION }),
    });
  });

  it('is signed for states in the region, as the SDK signer signs it', async () => {
    respond = () => ({ status: 200, body: JSON.stringify({ status: 'RUNNING' }) });
    await ours().describeExecution(EXECUTION);
    const [req] = requests as [Recorded];
    expect(String(req.headers.authorization)).toMatch(
      new RegExp(`Credential=AKIDEXAMPLE/\\d{8}/${REGION}/states/aws4_request`),
    );
    expect(String(req.headers.authorization)).toContain(`Signature=${await sdkSignature(req, 'states')}`);
  });

  it.each([
    [
      'an unknown execution: undefined',
      {
        status: 400,
        body: JSON.stringify({
          __type: 'com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist',
          message: 'no such execution',
        }),
      },
    ],
    [
      'a refusal',
      {
        status: 400,
        body: JSON.stringify({
          __type: 'AccessDeniedException',
          message: 'not authorized to perform: states:DescribeExecution',
        }),
      },
    ],
    [
      'throttling, retried',
      { status: 400, body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }) },
    ],
    [
      'a service error, retried',
      { status: 500, body: JSON.stringify({ __type: 'InternalServerError', message: 'internal' }) },
    ],
  ] as [string, Reply][])('%s: as from the SDK, after as many attempts', async (_name, reply) => {
    respond = () => reply;
    expect(await outcome(() => ours().describeExecution(EXECUTION))).toEqual(await outcome(sdkDescribe));
    expect(await outcome(() => ours().startRollout({ cluster: 'prod', rolloutId: 'r1' }, 'n'))).toEqual(
      await outcome(
        async () =>
          (
            await sfn().send(
              new StartExecutionCommand({
                stateMachineArn: MACHINE,
                name: 'n',
                input: JSON.stringify({ cluster: 'prod', rolloutId: 'r1' }),
              }),
            )
          ).executionArn,
      ),
    );
  });
});
