/** The integrations function's metrics' dimensions: the CDK alarms (lib/) name them too. */
export const INTEGRATIONS_DIMENSIONS = { function: 'integrations' };
