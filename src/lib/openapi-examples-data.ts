// Hand-written parts of the OpenAPI examples, by operationId: laid over the
// examples generated from each schema (src/lib/openapi-examples.ts), so they
// only say what a reader should see, and a field added later still gets a
// generated value. Every person, place and reference here is invented.

type Curated = { request?: unknown; response?: Record<string, unknown> };

const PERSON_ID = '6f1c2a4e-3b7d-4c1a-9e2f-0a1b2c3d4e5f';
const TEAM_ID = '1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5';
const CASE_ID = '9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';

const caseBody = {
  id: CASE_ID,
  reference: 'ARK-2026-000123',
  personId: PERSON_ID,
  teamId: TEAM_ID,
  hostCountry: 'DE',
  status: 'OPEN',
  riskLevel: 'HIGH',
  summary: 'Fictional example: journalist detained in Leipzig on a foreign extradition request',
};

export const CURATED: Record<string, Curated> = {
  postAuthLogin: {
    request: { email: 'mira.casewell@example.org', password: 'correct-horse-battery-staple' },
  },
  postAuthRefresh: { request: { refreshToken: 'rt_fictional_0123456789abcdef' } },
  postUsers: {
    request: { email: 'jonas.advokat@example.org', displayName: 'Jonas Advokat', role: 'LAWYER' },
  },
  postTeams: { request: { name: 'Central Asia desk', countries: ['DE', 'PL'] } },
  postPeople: {
    request: {
      pseudonym: 'P-7KQ2',
      legalName: 'Aruzhan Fictiva',
      dateOfBirth: '1988-05-17',
      citizenship: 'KZ',
      travelDocumentStatus: 'INTERNATIONAL_VALID',
      contacts: [{ kind: 'SIGNAL', value: '+49 30 0000000', note: 'evenings only' }],
    },
    response: { 201: { pseudonym: 'P-7KQ2', legalName: 'Aruzhan Fictiva', citizenship: ['KZ'] } },
  },
  postCases: {
    request: {
      personId: PERSON_ID,
      teamId: TEAM_ID,
      hostCountry: 'DE',
      riskLevel: 'HIGH',
      summary: caseBody.summary,
    },
    response: { 201: caseBody },
  },
  getCasesById: { response: { 200: caseBody } },
  getCases: {
    response: { 200: { items: [{ ...caseBody, pseudonym: 'P-7KQ2' }], nextCursor: 'eyJrIjoiZmljdGlvbmFsIn0' } },
  },
  patchCasesById: { request: { status: 'MONITORING', riskLevel: 'MEDIUM' } },
  postCasesByIdEvents: {
    request: {
      type: 'DETENTION',
      country: 'DE',
      occurredAt: '2026-03-14T07:45:00+01:00',
      city: 'Leipzig',
      authority: 'Federal police (fictional unit)',
      legalBasis: 'Provisional arrest on a foreign extradition request',
      termDays: 40,
      verification: 'CORROBORATED',
    },
  },
  getCasesByIdTimeline: { response: { 200: { items: [{ kind: 'event' }] } } },
};

/** Examples of the answers that are not JSON, by media type. */
export const TEXT_EXAMPLES: Record<string, string> = {
  'image/svg+xml': '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360"><!-- chart --></svg>',
  'text/calendar':
    'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Deadlines//EN\r\nBEGIN:VEVENT\r\nUID:example@example.org\r\n' +
    'DTSTART:20260320T090000Z\r\nSUMMARY:Appeal deadline (P-7KQ2)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
  'text/plain':
    'exile-case-audit/v1\n1024\nq5Zr0m9k0JcHfictionalRootHash0000000000000=\n\n— exile-case-audit AbCdEf==\n',
  'text/csv': 'year,hostCountry,type,events\n2026,DE,DETENTION,14\n',
  'text/html': '<!doctype html><title>Report</title>',
  'application/octet-stream': '(file content)',
};
