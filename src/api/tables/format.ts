// Cell formatting shared by the printers: ages (upstream's
// k8s.io/apimachinery/pkg/util/duration.HumanDuration), label maps and label
// selectors as upstream's labels package prints them, container columns, and
// the "a,b,c + N more..." lists.

/** The time in milliseconds since the epoch, or undefined for a missing/zero/unparseable timestamp. */
export function parseTime(ts: unknown): number | undefined {
  if (typeof ts !== 'string' || ts === '') return undefined;
  const t = Date.parse(ts);
  // Go's zero time (0001-01-01T00:00:00Z) counts as unset, as metav1.Time.IsZero does.
  if (Number.isNaN(t) || t <= GO_ZERO_TIME) return undefined;
  return t;
}
const GO_ZERO_TIME = Date.parse('0001-01-01T00:00:00Z');

/**
 * A succinct duration with about two significant figures, exactly as upstream's
 * duration.HumanDuration: "59s", "119s", "2m5s", "10m", "179m", "3h5m", "8h",
 * "47h", "2d3h", "8d", "729d", "2y3d", "8y". A duration more than a second in
 * the future (clock skew allowance) is "<invalid>".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const dy = days % 365;
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${years}y`;
}

/** Upstream's translateTimestampSince: "<unknown>" for an unset timestamp, else its age. */
export function since(ts: unknown, now: number): string {
  const t = parseTime(ts);
  return t === undefined ? '<unknown>' : humanDuration(now - t);
}

/** labels.Set.String(): "k1=v1,k2=v2" sorted by key; "" when empty. */
export function labelsString(m: Record<string, string> | undefined | null): string {
  return Object.keys(m ?? {})
    .sort(byteOrder)
    .map((k) => `${k}=${m![k]}`)
    .join(',');
}

/** labels.FormatLabels: as labelsString, "<none>" when empty. */
export function formatLabels(m: Record<string, string> | undefined | null): string {
  return labelsString(m) || '<none>';
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/**
 * metav1.LabelSelectorAsSelector(sel).String(): requirements sorted by key,
 * joined by ","; "" for a nil or empty selector; undefined when the selector
 * cannot be converted (unknown operator, wrong number of values).
 */
export function labelSelectorString(sel: LabelSelector | undefined | null): string | undefined {
  if (!sel) return '';
  const reqs: Array<{ key: string; text: string }> = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key, text: `${key}=${value}` });
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])];
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return undefined;
        reqs.push({ key: e.key, text: `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${values.sort(byteOrder).join(',')})` });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length !== 0) return undefined;
        reqs.push({ key: e.key, text: e.operator === 'Exists' ? e.key : `!${e.key}` });
        break;
      default:
        return undefined;
    }
  }
  // Array.prototype.sort is stable, so requirements with one key keep their order.
  return reqs
    .sort((a, b) => byteOrder(a.key, b.key))
    .map((r) => r.text)
    .join(',');
}

/** metav1.FormatLabelSelector: "<none>" for a selector that selects everything or nothing, "<error>" if invalid. */
export function formatLabelSelector(sel: LabelSelector | undefined | null): string {
  const s = labelSelectorString(sel);
  if (s === undefined) return '<error>';
  return s || '<none>';
}

/** Go's sort.Strings order (bytewise; equal to UTF-16 order for the ASCII that keys are made of). */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** layoutContainerCells: container names and images, each joined by ",". */
export function containerCells(containers: Array<{ name?: string; image?: string }> | undefined): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name ?? '').join(','), list.map((c) => c.image ?? '').join(',')];
}

/** The containers of a workload's pod template (spec.template.spec.containers). */
export function templateContainers(obj: any): Array<{ name?: string; image?: string }> {
  return obj?.spec?.template?.spec?.containers ?? [];
}

/** listWithMoreString: the first `max` items joined by ",", then " + N more..."; "<unset>" when empty. */
export function listWithMore(all: string[], max = 3): string {
  const shown = all.slice(0, max).join(',');
  if (all.length > max) return `${shown} + ${all.length - max} more...`;
  return shown === '' ? '<unset>' : shown;
}

/** net.JoinHostPort: IPv6 hosts (anything with a colon) are bracketed. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Sorted, de-duplicated IPs (or hostnames when there is no IP) of a load balancer status, joined by ",". */
export function loadBalancerIngress(ingress: Array<{ ip?: string; hostname?: string }> | undefined): string {
  const set = new Set<string>();
  for (const i of ingress ?? []) {
    if (i.ip) set.add(i.ip);
    else if (i.hostname) set.add(i.hostname);
  }
  return [...set].sort(byteOrder).join(',');
}

/** The object's controller (the owner reference with controller: true), if any. */
export function controllerOf(obj: any): { apiVersion?: string; kind?: string; name?: string } | undefined {
  return (obj?.metadata?.ownerReferences ?? []).find((r: any) => r?.controller === true);
}
