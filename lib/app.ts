/** The CDK app: a stateful stack (the table) and a service stack that receives it by props (and the context's choices). */
import { App } from 'aws-cdk-lib';
import { deployProps } from './deploy-context.js';
import { ServiceStack } from './service-stack.js';
import { StatefulStack } from './stateful-stack.js';

const app = new App();
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
const stateful = new StatefulStack(app, 'MaintctlState', { env });
const props = deployProps(stateful, (key) => app.node.tryGetContext(key));
// The table travels by SSM parameters, not exports: the order of the two deploys is said here.
new ServiceStack(app, 'MaintctlService', { env, table: stateful.tableReference, ...props }).addStackDependency(
  stateful,
);
app.synth();
