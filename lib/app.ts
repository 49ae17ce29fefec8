/** The CDK app: a stateful stack (the table) and a service stack that receives it by props. */
import { App } from 'aws-cdk-lib';
import { ServiceStack } from './service-stack.js';
import { StatefulStack } from './stateful-stack.js';

const app = new App();
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
const stateful = new StatefulStack(app, 'MaintctlState', { env });
new ServiceStack(app, 'MaintctlService', { env, table: stateful.table });
app.synth();
