/** `token …` (create, list, revoke through the API) and `bootstrap` (a fresh deployment's first admin token). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { hashToken, newTokenId, newTokenSecret } from '../../functions/http/auth.js';
import { DynamoStore } from '../../functions/store/dynamo.js';
import { CliError } from '../api.js';
import { type CliContext, enc, example, list, oneOf } from '../context.js';
import { print, type Row } from '../output.js';

export function tokenCommands(program: Command, { format, client, done }: CliContext): void {
  const token = program.command('token').description('API tokens (admin): create, list, revoke');

  token
    .command('create')
    .description('create a token; its secret is printed once')
    .requiredOption('--user <user>', 'who it is for')
    .requiredOption(
      '--role <role>',
      'viewer, agent, operator or admin',
      oneOf(['viewer', 'agent', 'operator', 'admin']),
    )
    .option('--clusters <list>', 'limit it to these clusters', list)
    .addHelpText('after', example('maintctl token create --user alice --role operator --clusters shop'))
    .action(async (o: { user: string; role: string; clusters?: string[] }) => {
      const res = await client()<Row & { id: string; token: string }>('POST', '/v1/tokens', {
        user: o.user,
        role: o.role,
        ...(o.clusters && { clusters: o.clusters }),
      });
      if (format() !== 'table') return print(format(), res, [res], ['id', 'user', 'role', 'token']);
      done(`token ${res.id} for ${o.user} (${o.role}): ${res.token}\nthe secret is shown once: keep it now`);
    });

  token
    .command('list')
    .description('list tokens (no secrets)')
    .addHelpText('after', example('maintctl token list'))
    .action(async () => {
      const res = await client()<{ tokens: Row[] }>('GET', '/v1/tokens');
      print(format(), res, res.tokens, ['id', 'user', 'role', 'clusters', 'createdAt']);
    });

  token
    .command('revoke')
    .description('revoke a token')
    .argument('<id>', 'the token id')
    .addHelpText('after', example('maintctl token revoke 3f9a0c1b2d4e5f60'))
    .action(async (id: string) => {
      await client()('DELETE', `/v1/tokens/${enc(id)}`);
      done('OK');
    });

  program
    .command('bootstrap')
    .description("a fresh AWS deployment's first admin token, written with your IAM credentials (printed once)")
    .requiredOption('--table <table>', "the stack's DynamoDB table")
    .option('--region <region>', 'AWS region (default: your AWS configuration)')
    .option('--user <user>', "the token's user", 'admin')
    .addHelpText('after', example('maintctl bootstrap --table MaintctlStateful-Table1234 --region eu-west-1'))
    .action(async (o: { table: string; region?: string; user: string }) => {
      const store = new DynamoStore(
        new DynamoDBClient({
          ...(o.region && { region: o.region }),
          ...(process.env.DYNAMODB_ENDPOINT && { endpoint: process.env.DYNAMODB_ENDPOINT }),
        }),
        o.table,
      );
      const secret = newTokenSecret();
      const id = newTokenId();
      try {
        await store.putToken({ id, user: o.user, role: 'admin', createdAt: Date.now(), hash: hashToken(secret) });
      } catch (error) {
        throw new CliError(`could not write to table ${o.table}: ${(error as Error).message}`);
      }
      process.stdout.write(
        format() === 'json'
          ? `${JSON.stringify({ id, user: o.user, role: 'admin', token: secret })}\n`
          : `admin token ${id} (user ${o.user}): ${secret}\nthe secret is shown once: keep it now\n`,
      );
    });
}
