// The k8ts release, and the Kubernetes API level it implements.
export const K8TS_VERSION = '0.1.0';
export const KUBERNETES_VERSION = { major: '1', minor: '33', gitVersion: 'v1.33.0' };
