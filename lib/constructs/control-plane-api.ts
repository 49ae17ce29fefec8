import { CfnOutput } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { FAMILIES, ROUTES, type Family } from '../../functions/http/routes.js';
import { FamilyFunction } from './family-function.js';

export interface ControlPlaneApiProps {
  readonly table: ITable;
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
    this.api = new HttpApi(this, 'Api', { createDefaultStage: true });
    const functions = new Map<Family, FamilyFunction>();
    for (const family of Object.keys(FAMILIES) as Family[]) {
      const fn = new FamilyFunction(this, `${family}Function`, { entry: FAMILIES[family], environment: { TABLE_NAME: props.table.tableName } });
      if (family !== 'health') props.table.grantReadWriteData(fn);
      functions.set(family, fn);
    }
    const integrations = new Map([...functions].map(([family, fn]) => [family, new HttpLambdaIntegration(`${family}Integration`, fn)]));
    for (const route of ROUTES) {
      this.api.addRoutes({ path: route.path, methods: [route.method as HttpMethod], integration: integrations.get(route.family)!, authorizer: undefined as IHttpRouteAuthorizer | undefined });
    }
    this.functions = functions;
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
  }
}
