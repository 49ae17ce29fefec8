/**
 * The task function's two rare AWS calls, Lambda Invoke (`upgrade.kind: "lambda"`) and Secrets Manager
 * GetSecretValue (the webhook secret), without their SDK clients (≈ 110 KB of the bundle): `aws-fetch.ts`.
 */
import { awsFetch } from '../aws-fetch.js';

/** Lambda Invoke with InvocationType Event: queued for the function, answered 202. */
export async function invokeAsync(functionName: string, payload: unknown): Promise<void> {
  const res = await awsFetch(
    { signingName: 'lambda', endpointEnv: 'LAMBDA' },
    {},
    {
      method: 'POST',
      path: `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`,
      headers: { 'content-type': 'application/octet-stream', 'x-amz-invocation-type': 'Event' },
      body: JSON.stringify(payload),
    },
  );
  await res.body?.cancel();
}

/** Secrets Manager GetSecretValue: the current version's SecretString (undefined for a binary secret). */
export async function getSecretString(secretId: string): Promise<string | undefined> {
  const res = await awsFetch(
    { signingName: 'secretsmanager', endpointEnv: 'SECRETS_MANAGER' },
    {},
    {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
      body: JSON.stringify({ SecretId: secretId }),
    },
  );
  return ((await res.json()) as { SecretString?: string }).SecretString;
}
