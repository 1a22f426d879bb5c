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
