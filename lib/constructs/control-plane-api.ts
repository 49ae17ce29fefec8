import { CfnOutput } from 'aws-cdk-lib';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { DEFAULT_CLUSTER_ENV } from '../../functions/compat/common.js';
import { FAMILIES, isCompat, ROUTES, type CompatFamily, type Family } from '../../functions/http/routes.js';
import { FamilyFunction } from './family-function.js';

export interface ControlPlaneApiProps {
  readonly table: ITable;
  /**
   * The cluster each drop-in compatible family acts on without a `/c/{cluster}` prefix.
   * @default none: those clients must use the prefix
   */
  readonly defaultClusters?: Partial<Record<CompatFamily, string>>;
  /** More environment for some families (the rollouts family's state machine). */
  readonly familyEnvironment?: Partial<Record<Family, Record<string, string>>>;
}

/**
 * The HTTP API: one route per entry of the route table, each integrated with its family's function.
 * Authentication and roles stay in the handlers' shared middleware (each family answers in its own format).
 */
export class ControlPlaneApi extends Construct {
  public readonly api: HttpApi;
  public readonly functions: ReadonlyMap<Family, FamilyFunction>;

  constructor(scope: Construct, id: string, props: ControlPlaneApiProps) {
    super(scope, id);

    const functions = new Map<Family, FamilyFunction>();
    for (const family of Object.keys(FAMILIES) as Family[]) {
      const defaultCluster = isCompat(family) ? props.defaultClusters?.[family] : undefined;
      const environment = { TABLE_NAME: props.table.tableName, ...(defaultCluster && { [DEFAULT_CLUSTER_ENV[family as CompatFamily]]: defaultCluster }), ...props.familyEnvironment?.[family] };
      const fn = new FamilyFunction(this, `${family}Function`, { entry: FAMILIES[family], environment });
      if (family !== 'health') props.table.grantReadWriteData(fn);
      functions.set(family, fn);
    }
    const integrations = new Map([...functions].map(([family, fn]) => [family, new HttpLambdaIntegration(`${family}Integration`, fn)]));
    // API Gateway cannot route a path with a trailing slash (maxctrl's `GET /v1/`): its $default route takes
    // those to their family, whose handler matches them against the same route table.
    const [trailing, ...others] = new Set(ROUTES.filter((r) => r.path.endsWith('/')).map((r) => r.family));
    if (others.length > 0) throw new Error('trailing-slash routes must all belong to one family');
    this.api = new HttpApi(this, 'Api', { createDefaultStage: true, ...(trailing && { defaultIntegration: integrations.get(trailing)! }) });
    for (const route of ROUTES.filter((r) => !r.path.endsWith('/'))) {
      this.api.addRoutes({ path: route.path, methods: [route.method as HttpMethod], integration: integrations.get(route.family)! });
    }
    this.functions = functions;
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
  }
}
