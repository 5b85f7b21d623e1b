// The meta.k8s.io Table types and the shape of a per-resource printer.

import { doc } from './descriptions.js';

export interface TableColumnDefinition {
  name: string;
  /** OpenAPI type: string, integer, number, boolean, date. */
  type: string;
  /** OpenAPI format; "name" marks the column holding the object's name. */
  format: string;
  description: string;
  /** 0: shown by default; 1: shown only with `-o wide`. */
  priority: number;
}

export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export type TableCell = string | number | boolean | null;

export interface TableRow {
  cells: TableCell[];
  conditions?: TableRowCondition[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  /** null on watch events after the first (upstream sends the headers once). */
  columnDefinitions: TableColumnDefinition[] | null;
  rows: TableRow[];
}

export interface PrintContext {
  /** The time ages are measured against, in milliseconds since the epoch. */
  now: number;
}

/** One row's content: the cells (every column, wide ones included) and any row conditions. */
export interface PrintedRow {
  cells: TableCell[];
  conditions?: TableRowCondition[];
}

/** A resource's printer: its columns and how to compute one object's cells. */
export interface Printer {
  columns: TableColumnDefinition[];
  row(obj: any, ctx: PrintContext): PrintedRow;
}

interface ColumnOptions {
  priority?: number;
  format?: string;
}

/** A column definition; `description` is a documentation key ("Type.field") or, with a space in it, literal text. */
export function column(name: string, type: string, description: string, opts: ColumnOptions = {}): TableColumnDefinition {
  return {
    name,
    type,
    format: opts.format ?? '',
    description: description.includes(' ') ? description : doc(description),
    priority: opts.priority ?? 0,
  };
}

export const nameColumn = (): TableColumnDefinition => column('Name', 'string', 'ObjectMeta.name', { format: 'name' });
export const ageColumn = (): TableColumnDefinition => column('Age', 'string', 'ObjectMeta.creationTimestamp');
export const WIDE = { priority: 1 };

/** The Containers and Images columns of workload tables (wide only). */
export const containerColumns = (): TableColumnDefinition[] => [
  column('Containers', 'string', 'Names of each container in the template.', WIDE),
  column('Images', 'string', 'Images referenced by each container in the template.', WIDE),
];
