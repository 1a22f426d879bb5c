// Named schemas in the OpenAPI document (components.schemas), so that a
// generated client gets named types (Case, Person, CasePage…) instead of
// anonymous inline ones. Done here, not in the modules, in two ways:
// 1. the exported zod schemas of the main resources are registered in zod's
//    global registry with an id: fastify-type-provider-zod then writes them
//    once under components.schemas and puts a $ref wherever the same zod
//    schema is used (a request body version gets the suffix "Input");
// 2. after the document is built, schemas that live inside route files
//    (not exported) are hoisted by operation (HOIST below), list envelopes
//    `{ items: [X], nextCursor }` become `XPage`, and unused components are
//    dropped.
import { globalRegistry, type $ZodType } from 'zod/v4/core';
import { TokenPairSchema } from '../modules/auth/auth.routes.ts';
import {
  AssignmentSchema,
  CaseSchema,
  ChargeSchema,
  CreatedEventSchema,
  EventSchema,
  TimelineItemSchema,
} from '../modules/cases/cases.schemas.ts';
import { DeadlineSchema, RuleImpactSchema, RuleSchema } from '../modules/deadlines/deadlines.schemas.ts';
import { DocumentSchema, UploadResponse } from '../modules/documents/documents.schemas.ts';
import { ExportSchema } from '../modules/exports/exports.schemas.ts';
import { IntakeSubmissionSchema } from '../modules/intake/intake.schemas.ts';
import { Contact, DuplicateSchema, PersonSchema } from '../modules/people/people.schemas.ts';
import { CaseLinkSchema, RelationSchema } from '../modules/relations/relations.schemas.ts';
import { NotificationSettingsSchema } from '../modules/reminders/reminders.schemas.ts';
import { StatsEventsResponse, StatsOverviewResponse } from '../modules/stats/stats.schemas.ts';
import { LawyerProfileSchema, UserSchema } from '../modules/users/users.schemas.ts';

const NAMED: [string, $ZodType][] = [
  ['Case', CaseSchema],
  ['Charge', ChargeSchema],
  ['Event', EventSchema],
  ['CreatedEvent', CreatedEventSchema],
  ['Assignment', AssignmentSchema],
  ['TimelineItem', TimelineItemSchema],
  ['Deadline', DeadlineSchema],
  ['DeadlineRule', RuleSchema],
  ['DeadlineRuleImpact', RuleImpactSchema],
  ['Document', DocumentSchema],
  ['UploadedDocument', UploadResponse],
  ['Export', ExportSchema],
  ['IntakeSubmission', IntakeSubmissionSchema],
  ['Person', PersonSchema],
  ['Contact', Contact],
  ['DuplicateCandidate', DuplicateSchema],
  ['Relation', RelationSchema],
  ['CaseLink', CaseLinkSchema],
  ['NotificationSettings', NotificationSettingsSchema],
  ['StatsEvents', StatsEventsResponse],
  ['StatsOverview', StatsOverviewResponse],
  ['User', UserSchema],
  ['LawyerProfile', LawyerProfileSchema],
  ['TokenPair', TokenPairSchema],
];

/** Gives each main resource schema its component name (keeps its other metadata). Idempotent. */
export function registerNamedSchemas(): void {
  for (const [id, schema] of NAMED) {
    if (globalRegistry.get(schema)?.id === id) continue;
    globalRegistry.add(schema, { ...globalRegistry.get(schema), id });
  }
}

// Schemas defined inside route files, named by where they appear:
// operationId, status, and '' for the body itself or 'items' for the
// elements of its `items` array.
const HOIST: { op: string; status: string; at: '' | 'items'; name: string }[] = [
  { op: 'getCases', status: '200', at: 'items', name: 'CaseListItem' },
  { op: 'postTeams', status: '201', at: '', name: 'Team' },
  { op: 'getTeams', status: '200', at: 'items', name: 'Team' },
  { op: 'getAudit', status: '200', at: 'items', name: 'AuditEntry' },
  { op: 'getMeSessions', status: '200', at: 'items', name: 'Session' },
  { op: 'getMe', status: '200', at: '', name: 'Me' },
  { op: 'getCasesByIdCustody', status: '200', at: '', name: 'CustodyBundle' },
  { op: 'getAuditProofInclusion', status: '200', at: '', name: 'InclusionProof' },
  { op: 'getAuditProofConsistency', status: '200', at: '', name: 'ConsistencyProof' },
  { op: 'getMetaEnums', status: '200', at: '', name: 'Enums' },
];

type Json = Record<string, unknown>;
type Op = { operationId?: string; responses?: Record<string, { content?: Record<string, { schema?: Json }> }> };
type Doc = { paths?: Record<string, Record<string, Op>>; components?: { schemas?: Record<string, Json> } };

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const refName = (s: unknown) =>
  typeof (s as Json | undefined)?.$ref === 'string'
    ? String((s as Json).$ref)
        .split('/')
        .pop()
    : undefined;

/** Puts `schema` under `name` unless another schema holds the name; answers the $ref or the schema unchanged. */
function name(schemas: Record<string, Json>, nameWanted: string, schema: Json): Json {
  if (refName(schema) || (schemas[nameWanted] && !same(schemas[nameWanted], schema))) return schema;
  schemas[nameWanted] = schema;
  return ref(nameWanted);
}

function jsonBodies(doc: Doc): { op: Op; status: string; media: { schema?: Json } }[] {
  const out = [];
  for (const methods of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(methods)) {
      for (const [status, res] of Object.entries(op.responses ?? {})) {
        const media = res.content?.['application/json'];
        if (media?.schema) out.push({ op, status, media });
      }
    }
  }
  return out;
}

function isPage(s: Json | undefined): s is { properties: { items: { items: Json } } } & Json {
  const props = s?.properties as Record<string, Json> | undefined;
  return (
    s?.type === 'object' &&
    !!props &&
    Object.keys(props).sort().join() === 'items,nextCursor' &&
    !!refName((props.items as Json | undefined)?.items)
  );
}

/** Hoists the schemas named above and the page envelopes; drops unused components. */
export function nameComponents(document: object): void {
  const doc = document as Doc;
  doc.components ??= {};
  const schemas = (doc.components.schemas ??= {});
  const bodies = jsonBodies(doc);
  for (const h of HOIST) {
    for (const b of bodies.filter((x) => x.op.operationId === h.op && x.status === h.status)) {
      const body = b.media.schema as Json;
      if (h.at === '') b.media.schema = name(schemas, h.name, body);
      const items = (body.properties as Record<string, Json> | undefined)?.items;
      if (h.at === 'items' && items?.type === 'array') items.items = name(schemas, h.name, items.items as Json);
    }
  }
  for (const b of bodies) {
    if (isPage(b.media.schema)) {
      const item = refName(b.media.schema.properties.items.items) as string;
      b.media.schema = name(schemas, `${item}Page`, b.media.schema);
    }
  }
  pruneUnused(doc as Json, schemas);
  dropAnyOfAny(doc);
}

/** `anyOf: [{}, X]` (zod's unknown().nullable()) matches anything: said as `{}` (keeps the description). */
function dropAnyOfAny(v: unknown): void {
  if (Array.isArray(v)) return v.forEach(dropAnyOfAny);
  if (!v || typeof v !== 'object') return;
  const o = v as Json;
  if (Array.isArray(o.anyOf) && o.anyOf.some((b) => b && typeof b === 'object' && !Object.keys(b).length)) {
    delete o.anyOf;
  }
  Object.values(o).forEach(dropAnyOfAny);
}

function pruneUnused(doc: Json, schemas: Record<string, Json>): void {
  const used = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const n = refName(v);
      if (n && !used.has(n)) {
        used.add(n);
        walk(schemas[n]);
      }
      for (const [k, child] of Object.entries(v)) if (k !== 'components') walk(child);
    }
  };
  walk(doc);
  for (const n of Object.keys(schemas)) if (!used.has(n)) delete schemas[n];
}
