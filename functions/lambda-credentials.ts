/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles only (an esbuild alias, see
 * `lib/lambda-bundling.ts`): Lambda puts the role's credentials in the environment, which is the first place the
 * default chain looks, so the rest of the chain (SSO, STS, profiles, IMDS: most of a bundle) never runs there.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (_init?: unknown) => fromEnv();
