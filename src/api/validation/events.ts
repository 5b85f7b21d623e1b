// Events in both shapes: core/v1 (lenient, "legacy" rules only, as upstream
// keeps for old clients) and events.k8s.io/v1 (strict). Both share storage.

import { isDNS1123Subdomain, nameIsDNSSubdomain } from './formats.js';
import {
  type Errs,
  type Obj,
  invalid,
  isObj,
  required,
  semanticEqual,
  str,
  validateImmutable,
  validateQualifiedName,
} from './common.js';
import { type MetaRules, validateObjectMeta, validateObjectMetaUpdate } from './metadata.js';

const EVENT_META: MetaRules = { namespaced: true, nameFn: nameIsDNSSubdomain };
const REPORTING_INSTANCE_MAX = 128;
const ACTION_MAX = 128;
const REASON_MAX = 128;
const NOTE_MAX = 1024;

/** The fields the legacy rules read, named per API shape. */
interface EventView {
  namespace: string;
  eventTime: unknown;
  regardingNamespace: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  note: string;
  paths: { regarding: string; reportingController: string; note: string };
}

const coreView = (e: Obj): EventView => ({
  namespace: str(e?.metadata?.namespace),
  eventTime: e?.eventTime,
  regardingNamespace: str(e?.involvedObject?.namespace),
  reportingController: str(e?.reportingComponent),
  reportingInstance: str(e?.reportingInstance),
  action: str(e?.action),
  reason: str(e?.reason),
  note: str(e?.message),
  paths: { regarding: 'involvedObject', reportingController: 'reportingComponent', note: 'message' },
});

const eventsV1View = (e: Obj): EventView => ({
  namespace: str(e?.metadata?.namespace),
  eventTime: e?.eventTime,
  regardingNamespace: str(e?.regarding?.namespace),
  reportingController: str(e?.reportingController),
  reportingInstance: str(e?.reportingInstance),
  action: str(e?.action),
  reason: str(e?.reason),
  note: str(e?.note),
  paths: { regarding: 'regarding', reportingController: 'reportingController', note: 'note' },
});

/** The rules every event passes, whichever API it came through. */
function legacyValidateEvent(v: EventView): Errs {
  const errs: Errs = [];
  const nsPath = `${v.paths.regarding}.namespace`;
  if (!v.eventTime) {
    // An old-style event: its namespace follows the object's (or is "default" for cluster-scoped objects).
    if (!v.regardingNamespace) {
      if (v.namespace !== '' && v.namespace !== 'default') errs.push(invalid(nsPath, v.regardingNamespace, 'does not match event.namespace'));
    } else if (v.namespace !== v.regardingNamespace) {
      errs.push(invalid(nsPath, v.regardingNamespace, 'does not match event.namespace'));
    }
  } else {
    if (!v.regardingNamespace && v.namespace !== 'default' && v.namespace !== 'kube-system') {
      errs.push(invalid(nsPath, v.regardingNamespace, 'does not match event.namespace'));
    }
    if (!v.reportingController) errs.push(required(v.paths.reportingController, ''));
    errs.push(...validateQualifiedName(v.reportingController, v.paths.reportingController));
    if (!v.reportingInstance) errs.push(required('reportingInstance', ''));
    if (v.reportingInstance.length > REPORTING_INSTANCE_MAX) errs.push(invalid('reportingInstance', '', `can have at most ${REPORTING_INSTANCE_MAX} characters`));
    if (!v.action) errs.push(required('action', ''));
    if (v.action.length > ACTION_MAX) errs.push(invalid('action', '', `can have at most ${ACTION_MAX} characters`));
    if (!v.reason) errs.push(required('reason', ''));
    if (v.reason.length > REASON_MAX) errs.push(invalid('reason', '', `can have at most ${REASON_MAX} characters`));
    if (v.note.length > NOTE_MAX) errs.push(invalid(v.paths.note, '', `can have at most ${NOTE_MAX} characters`));
  }
  for (const m of isDNS1123Subdomain(v.namespace)) errs.push(invalid('namespace', v.namespace, m));
  return errs;
}

/** Core events are checked leniently; they still need a name to be stored under. */
function coreEventName(e: Obj): Errs {
  return str(e?.metadata?.name) || str(e?.metadata?.generateName) ? [] : [required('metadata.name', 'name or generateName is required')];
}

export const validateCoreEventCreate = (e: Obj): Errs => [...coreEventName(e), ...legacyValidateEvent(coreView(e))];
export const validateCoreEventUpdate = (e: Obj, _old: Obj): Errs => [...coreEventName(e), ...legacyValidateEvent(coreView(e))];

function validateSeries(e: Obj): Errs {
  const errs: Errs = [];
  const s = e?.series;
  if (isObj(s)) {
    if (typeof s.count !== 'number' || s.count < 2) errs.push(invalid('series.count', '', 'should be at least 2'));
    if (!s.lastObservedTime) errs.push(required('series.lastObservedTime', ''));
  }
  return errs;
}

export function validateEventsV1Create(e: Obj): Errs {
  const errs = legacyValidateEvent(eventsV1View(e));
  errs.push(...validateObjectMeta(e?.metadata, EVENT_META));
  errs.push(...validateSeries(e));
  if (!e?.eventTime) errs.push(required('eventTime', ''));
  if (e?.type !== 'Normal' && e?.type !== 'Warning') errs.push(invalid('type', '', `has invalid value: ${str(e?.type)}`));
  for (const f of ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount']) {
    if (e?.[f]) errs.push(invalid(f, '', 'needs to be unset'));
  }
  if (str(e?.deprecatedSource?.component) || str(e?.deprecatedSource?.host)) errs.push(invalid('deprecatedSource', '', 'needs to be unset'));
  return errs;
}

export function validateEventsV1Update(e: Obj, old: Obj): Errs {
  const errs = legacyValidateEvent(eventsV1View(e));
  errs.push(...validateObjectMetaUpdate(e?.metadata, old?.metadata));
  if (!semanticEqual(e?.series, old?.series)) errs.push(...validateSeries(e));
  for (const f of [
    'regarding',
    'reason',
    'note',
    'deprecatedSource',
    'deprecatedFirstTimestamp',
    'deprecatedLastTimestamp',
    'deprecatedCount',
    'type',
    'action',
    'related',
    'reportingController',
    'reportingInstance',
  ]) {
    errs.push(...validateImmutable(e?.[f], old?.[f], f));
  }
  // eventTime may not change beyond microsecond precision.
  const micros = (t: unknown): string => str(t).replace(/(\.\d{6})\d*/, '$1');
  if (micros(e?.eventTime) !== micros(old?.eventTime)) errs.push(...validateImmutable(e?.eventTime, old?.eventTime, 'eventTime'));
  return errs;
}
