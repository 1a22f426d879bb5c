// The 13 cases / 21 events that test/stats.test.ts and test/exports.test.ts
// hand-compute their expected figures from (tables in those files). The
// optional third element of an event is its recorded outcome (exports
// classify it; statistics ignore it).
export type CaseSpec = {
  name: string;
  host: string;
  citizenship: string[];
  charges: [string, string][];
  events: [string, string, string?][];
};
export const CIS = 'CIS_INTERSTATE_SEARCH';
export const ADJ = 'Hearing adjourned until the prosecutor';
export const CASES: CaseSpec[] = [
  {
    name: 'A1',
    host: 'AM',
    citizenship: ['RU'],
    charges: [['EXTREMISM', CIS]],
    events: [
      ['DETENTION', '2024-02-10'],
      ['COURT_HEARING', '2024-04-03', ADJ],
      ['THREAT', '2025-01-15'],
    ],
  },
  {
    name: 'A2',
    host: 'AM',
    citizenship: ['RU'],
    charges: [['EXTREMISM', CIS]],
    events: [
      ['DETENTION', '2024-02-10'],
      ['COURT_HEARING', '2024-05-03', ADJ],
      ['THREAT', '2025-05-15'],
    ],
  },
  {
    name: 'A3',
    host: 'AM',
    citizenship: ['RU'],
    charges: [['EXTREMISM', CIS]],
    events: [
      ['DETENTION', '2024-02-10'],
      ['COURT_HEARING', '2024-06-03', ADJ],
      ['THREAT', '2025-09-15'],
    ],
  },
  { name: 'A4', host: 'AM', citizenship: ['RU'], charges: [['EXTREMISM', CIS]], events: [['DETENTION', '2024-02-10']] },
  {
    name: 'A5',
    host: 'AM',
    citizenship: ['RU'],
    charges: [['FAKES', 'DOMESTIC']],
    events: [['DETENTION', '2024-02-10', 'Court refused bail']],
  },
  {
    name: 'A6',
    host: 'AM',
    citizenship: ['RU', 'BY'],
    charges: [
      ['EXTREMISM', 'INTERPOL_RED_NOTICE'],
      ['FAKES', 'DOMESTIC'],
    ],
    events: [['DETENTION', '2024-02-10']],
  },
  {
    name: 'G1',
    host: 'GE',
    citizenship: ['BY'],
    charges: [],
    events: [
      ['DETENTION', '2024-03-15'],
      ['DETENTION', '2024-03-20'],
      ['TRAVEL_BAN', '2025-01-20'],
    ],
  },
  { name: 'G2', host: 'GE', citizenship: ['BY'], charges: [], events: [['DETENTION', '2024-03-15']] },
  {
    name: 'G3',
    host: 'GE',
    citizenship: ['BY'],
    charges: [['DISCREDITING_ARMY', 'DOMESTIC']],
    events: [['DETENTION', '2024-03-15']],
  },
  {
    name: 'G4',
    host: 'GE',
    citizenship: ['RU'],
    charges: [['DISCREDITING_ARMY', 'DOMESTIC']],
    events: [['DETENTION', '2024-03-15']],
  },
  {
    name: 'G5',
    host: 'GE',
    citizenship: ['RU'],
    charges: [['DISCREDITING_ARMY', 'DOMESTIC']],
    events: [['DETENTION', '2024-03-15']],
  },
  { name: 'K1', host: 'KZ', citizenship: ['RU'], charges: [['TERRORISM', CIS]], events: [['DETENTION', '2024-02-01']] },
  { name: 'K2', host: 'KZ', citizenship: ['RU'], charges: [], events: [['ABDUCTION', '2025-07-01']] },
];

/** What seedEvents needs of a test client (test/helpers.ts Client). */
type Poster = {
  post: (url: string, payload?: unknown) => Promise<{ statusCode: number; body: string; json: () => { id: string } }>;
};

/**
 * The cases and events above (without charges or free text): enough for
 * tests that check conventions rather than figures (stats-conventions.test.ts).
 */
export async function seedEvents(cw: Poster, teamId: string, tag: string): Promise<void> {
  for (const spec of CASES) {
    const p = await cw.post('/v1/people', {
      pseudonym: `Pseudo-${spec.name}-${tag}`,
      legalName: `Legalname ${spec.name} ${tag}`,
      dateOfBirth: '1988-03-04',
      citizenship: spec.citizenship,
      travelDocumentStatus: 'INTERNATIONAL_VALID',
    });
    if (p.statusCode !== 201) throw new Error(p.body);
    const c = await cw.post('/v1/cases', { personId: p.json().id, teamId, hostCountry: spec.host });
    if (c.statusCode !== 201) throw new Error(c.body);
    for (const [type, date] of spec.events) {
      const ev = await cw.post(`/v1/cases/${c.json().id}/events`, {
        type,
        country: spec.host,
        occurredAt: `${date}T09:30:00+00:00`,
      });
      if (ev.statusCode !== 201) throw new Error(ev.body);
    }
  }
}
