/** Where the integrations function's metrics go: the CDK alarms (lib/) name them without loading Powertools. */
export const METRICS_NAMESPACE = 'maintctl';
export const METRICS_SERVICE = 'integrations';
