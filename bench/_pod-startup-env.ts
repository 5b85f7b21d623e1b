// What the pod-startup bench (bench/pod-startup.ts) reads from the node
// agent's log. The host plumbing (namespaces, cgroups, the agent's pods) is in
// test/helpers/host.ts, shared with the test harness.

/** Per-pod sandbox set-up times (ms) from the agent's "pod sandbox ready" log lines, for pods whose key starts with `podPrefix`. */
export function sandboxTimes(logText: string, podPrefix: string): number[] {
  const out: number[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes('msg="pod sandbox ready"')) continue;
    const pod = / pod=(\S+)/.exec(line)?.[1];
    const ms = / ms=([\d.]+)/.exec(line)?.[1];
    if (pod?.startsWith(podPrefix) && ms) out.push(Number(ms));
  }
  return out;
}
