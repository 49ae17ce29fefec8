import { CfnOutput, Fn, Stack, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as CloudFrontFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';

export interface ConsoleSiteProps {
  /** The API the distribution fronts: every path but `/console/*` goes to it. */
  readonly api: HttpApi;
  /** The built console (its `index.html` and assets), published under `console/`. */
  readonly siteDirectory: string;
}

/** The console's paths that are not files (the single-page app's own routes) get its `index.html`. */
const CONSOLE_INDEX = `function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (request.uri === '/console' || request.uri.endsWith('/') || last.indexOf('.') === -1) request.uri = '/console/index.html';
  return request;
}`;

/**
 * A browser's way in, `/` or `/console` without its slash: neither is an API route nor matches `/console/*`, so they
 * are sent to the console (the API behind them answered a MaxScale 404). Any other request passes untouched.
 */
export const CONSOLE_REDIRECT = `function handler(event) {
  var request = event.request;
  if ((request.uri === '/' || request.uri === '/console') && (request.method === 'GET' || request.method === 'HEAD')) {
    return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: '/console/' } } };
  }
  return request;
}`;

/**
 * The web console and the API behind one CloudFront distribution (one origin for the browser: no CORS): a private
 * bucket read through origin access control for `/console/*`, and the HTTP API for everything else, uncached, with
 * every viewer header but Host (the API's own host name must reach it) — `Authorization` included.
 */
export class ConsoleSite extends Construct {
  public readonly bucket: Bucket;
  public readonly distribution: Distribution;
  public readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds only the built console, written by the deployment and read by CloudFront through origin access control; no one else can reach it.',
    });

    const apiHost = Fn.select(2, Fn.split('/', props.api.apiEndpoint));
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'maintctl: the console and its API on one origin',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: new HttpOrigin(apiHost, { protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY }),
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        // API clients (maxctrl, agents) do not follow a redirect of a PUT: plain HTTP is refused.
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        functionAssociations: [
          {
            eventType: FunctionEventType.VIEWER_REQUEST,
            function: new CloudFrontFunction(this, 'ConsoleRedirect', {
              code: FunctionCode.fromInline(CONSOLE_REDIRECT),
              runtime: FunctionRuntime.JS_2_0,
            }),
          },
        ],
      },
      additionalBehaviors: {
        '/console/*': {
          origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
          allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: CachePolicy.CACHING_OPTIMIZED,
          viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          functionAssociations: [
            {
              eventType: FunctionEventType.VIEWER_REQUEST,
              function: new CloudFrontFunction(this, 'ConsoleIndex', {
                code: FunctionCode.fromInline(CONSOLE_INDEX),
                runtime: FunctionRuntime.JS_2_0,
              }),
            },
          ],
        },
      },
    });
    for (const [id, reason] of [
      [
        'AwsSolutions-CFR1',
        'Operators and agents may be anywhere; access is controlled by tokens in the handlers, not by geography.',
      ],
      [
        'AwsSolutions-CFR2',
        'No WAF: the API authenticates every call and is throttled per stage and on the status route; a WAF web ACL can be attached by the operator where policy asks for one.',
      ],
      [
        'AwsSolutions-CFR3',
        "The API's access log (API Gateway, every request) covers the API paths; the console is static files.",
      ],
      [
        'AwsSolutions-CFR4',
        'The distribution uses its cloudfront.net name and certificate, whose minimum protocol CloudFront fixes; a custom domain with TLS 1.2_2021 is a deployment choice.',
      ],
    ] as const) {
      Validations.of(this.distribution).acknowledge({ id, reason });
    }

    const deployment = new BucketDeployment(this, 'Deployment', {
      sources: [Source.asset(props.siteDirectory)],
      destinationBucket: this.bucket,
      destinationKeyPrefix: 'console/',
      distribution: this.distribution,
      distributionPaths: ['/console/*'],
      logGroup: new LogGroup(this, 'DeploymentLogs', { retention: RetentionDays.ONE_MONTH }),
    });
    // CDK's own deployment function (a singleton per stack): it copies the asset into the bucket at deploy time.
    const handler = Stack.of(this).node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    const copy = "CDK's BucketDeployment function (aws-cdk-lib builds its role):";
    for (const [id, reason] of [
      ['AwsSolutions-L1', `${copy} its runtime is chosen by aws-cdk-lib, not by this project.`],
      [
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        `${copy} it logs through the AWS managed basic execution policy.`,
      ],
      ...[
        'Action::s3:GetObject*',
        'Action::s3:GetBucket*',
        'Action::s3:List*',
        'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
      ].map(
        (finding) =>
          [
            `AwsSolutions-IAM5[${finding}]`,
            `${copy} it reads the built console from the CDK asset bucket's objects, and nothing else.`,
          ] as const,
      ),
      ...[
        'Action::s3:DeleteObject*',
        'Action::s3:Abort*',
        `Resource::<${Stack.of(this).resolve(Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket))}.Arn>/*`,
      ].map(
        (finding) =>
          [
            `AwsSolutions-IAM5[${finding}]`,
            `${copy} it replaces the objects of this site bucket only (their keys are the console's file names).`,
          ] as const,
      ),
      [
        'AwsSolutions-IAM5[Resource::*]',
        `${copy} cloudfront:CreateInvalidation and GetInvalidation, which support no resource-level permission, to refresh /console/* after a deploy.`,
      ],
    ] as const) {
      Validations.of(handler ?? deployment).acknowledge({ id, reason });
    }
    this.url = `https://${this.distribution.distributionDomainName}/console/`;
    new CfnOutput(scope, 'ConsoleUrl', {
      value: this.url,
      description: 'The web console (its API at the same origin)',
    });
  }
}
