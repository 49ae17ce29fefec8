import { CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  HttpApi,
  type HttpMethod,
  type HttpRoute,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { vendedLogGroup } from './vended-log-group.js';
import { Construct } from 'constructs';
import { DEFAULT_CLUSTER_ENV } from '../../functions/compat/common.js';
import { FAMILIES, isCompat, ROUTES, routeKey, type CompatFamily, type Family } from '../../functions/http/routes.js';
import { FUNCTION_ENTRIES } from '../lambda-bundling.js';
import { FamilyFunction } from './family-function.js';
import { grantTableActions, TABLE_MUTATE, TABLE_READ, TABLE_WRITE, type TableAction } from './table-access.js';

/** Requests per second (steady, burst). */
export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface ControlPlaneApiProps {
  readonly table: ITable;
  /**
   * The cluster each drop-in compatible family acts on without a `/c/{cluster}` prefix.
   * @default none: those clients must use the prefix
   */
  readonly defaultClusters?: Partial<Record<CompatFamily, string>>;
  /** More environment for some families (the rollouts family's state machine). @default none */
  readonly familyEnvironment?: Partial<Record<Family, Record<string, string>>>;
  /** The whole stage. @default 200 requests/s, bursts of 400 */
  readonly throttle?: Throttle;
  /**
   * Agents' status reports (the route table's `throttled: 'status'` routes), on their own: a fleet reporting too
   * often is held back there before it can starve operators' calls. @default 100 requests/s, bursts of 200
   */
  readonly statusThrottle?: Throttle;
}

/**
 * The DynamoDB actions each family's handlers reach (`functions/store/dynamo.ts` per store method; checked against
 * every route's calls in test/integration/table-grants.test.ts): every authenticated family reads its token
 * (GetItem); `health` touches nothing; `events` only reads; every change comes with its audit event, but status
 * reports, rollouts and windows also change what has none (a ConditionCheck keeps those on the revision read);
 * GreptimeDB's maintenance is the cluster's alone (no server item is updated); removing servers and clusters deletes
 * (a cluster's items in BatchWriteItem), and so does removing a window; tokens are put and deleted, never updated.
 */
export const FAMILY_TABLE_ACTIONS: Record<Family, readonly TableAction[]> = {
  health: [],
  clusters: [...TABLE_WRITE, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
  maintenance: TABLE_MUTATE,
  events: TABLE_READ,
  rollouts: TABLE_MUTATE,
  windows: [...TABLE_MUTATE, 'dynamodb:DeleteItem'],
  tokens: [...TABLE_READ, 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  maxscale: TABLE_WRITE,
  cassandra: TABLE_WRITE,
  greptimedb: [...TABLE_READ, 'dynamodb:PutItem'],
};

/**
 * The HTTP API: one route per entry of the route table, each integrated with its family's function; its
 * `$default` stage with access logs and throttling (the status route throttled on its own).
 * Authentication and roles stay in the handlers' shared middleware (each family answers in its own format).
 */
export class ControlPlaneApi extends Construct {
  public readonly api: HttpApi;
  public readonly stage: HttpStage;
  public readonly functions: ReadonlyMap<Family, FamilyFunction>;
  public readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: ControlPlaneApiProps) {
    super(scope, id);

    const functions = new Map<Family, FamilyFunction>();
    for (const family of Object.keys(FAMILIES) as Family[]) {
      const defaultCluster = isCompat(family) ? props.defaultClusters?.[family] : undefined;
      const environment = {
        TABLE_NAME: props.table.tableName,
        ...(defaultCluster && { [DEFAULT_CLUSTER_ENV[family as CompatFamily]]: defaultCluster }),
        ...props.familyEnvironment?.[family],
      };
      const fn = new FamilyFunction(this, `${family}Function`, { ...FUNCTION_ENTRIES[family], environment });
      grantTableActions(props.table, fn, FAMILY_TABLE_ACTIONS[family]);
      functions.set(family, fn);
    }
    // One invoke permission per function for this API, not one per route: a function's resource policy is limited to
    // 20 KB, and a family of many routes (GreptimeDB's, MaxScale's) would come near it.
    const integrations = new Map(
      [...functions].map(([family, fn]) => [
        family,
        new HttpLambdaIntegration(`${family}Integration`, fn, { scopePermissionToRoute: false }),
      ]),
    );
    // API Gateway cannot route a path with a trailing slash (maxctrl's `GET /v1/`): its $default route takes
    // those to their family, whose handler matches them against the same route table.
    const [trailing, ...others] = new Set(ROUTES.filter((r) => r.path.endsWith('/')).map((r) => r.family));
    if (others.length > 0) throw new Error('trailing-slash routes must all belong to one family');
    this.api = new HttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-api`,
      createDefaultStage: false,
      ...(trailing && { defaultIntegration: integrations.get(trailing)! }),
    });
    const throttledRoutes: HttpRoute[] = [];
    for (const route of ROUTES.filter((r) => !r.path.endsWith('/'))) {
      const added = this.api.addRoutes({
        path: route.path,
        methods: [route.method as HttpMethod],
        integration: integrations.get(route.family)!,
      });
      if (route.throttled) throttledRoutes.push(...added);
    }
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        "Authentication and roles are checked by every family's handler middleware (functions/http/auth.ts, S1 tests), which must answer in that family's own format (native JSON, MaxScale's, the Cassandra operator's, GreptimeDB metasrv's); an API Gateway authorizer can only answer in its own.",
    });

    this.accessLogs = vendedLogGroup(
      this,
      'AccessLogs',
      `apigateway/${Stack.of(this).stackName}-access`,
      RetentionDays.THREE_MONTHS,
    );
    const throttle = props.throttle ?? { rateLimit: 200, burstLimit: 400 };
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        // No header is logged: credentials never reach the access log.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTimeEpoch',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
            userAgent: '$context.identity.userAgent',
          }),
        ),
      },
    });
    const statusThrottle = props.statusThrottle ?? { rateLimit: 100, burstLimit: 200 };
    (this.stage.node.defaultChild as CfnStage).routeSettings = Object.fromEntries(
      ROUTES.filter((r) => r.throttled === 'status').map((r) => [
        routeKey(r),
        { ThrottlingRateLimit: statusThrottle.rateLimit, ThrottlingBurstLimit: statusThrottle.burstLimit },
      ]),
    );
    // The stage's route settings name those routes: CloudFormation must create them first.
    for (const route of throttledRoutes) this.stage.node.addDependency(route);
    this.functions = functions;
    new CfnOutput(scope, 'ApiUrl', {
      value: this.api.apiEndpoint,
      description: 'The control plane API (native, maxctrl, Cassandra operator and GreptimeDB metasrv clients)',
    });
  }
}
