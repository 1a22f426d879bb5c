// `npm run seed:demo`: fills an EMPTY database with a fictional organisation so
// a newcomer can try every endpoint at once. Every name is invented; the case
// patterns follow the background paper (CIS interstate-search detentions in
// Kazakhstan and Armenia, silent entry refusals in Georgia, residence-permit
// cancellations in Serbia, a red-notice detention in Montenegro, …).
// Everything goes through the API itself (app.inject), so encryption, access
// rules and the audit log apply exactly as in real use. Passwords are random
// and printed once.
import { randomBytes } from 'node:crypto';
import { buildApp } from '../src/app.ts';
import { createDb } from '../src/db.ts';
import { migrate } from '../src/lib/migrator.ts';
import { MIGRATIONS_DIR } from '../src/lib/paths.ts';
import { UsersService } from '../src/modules/users/users.service.ts';
import { prepareRuntime } from '../src/runtime.ts';

const rt = await prepareRuntime();
await migrate(rt.config.db.url, MIGRATIONS_DIR);
const db = createDb(rt.config.db.url, 4);
// The seeding process itself acts as the demo admin without a second factor;
// the running server still applies MFA_REQUIRED_ROLES (the demo admin enrols
// at first sign-in).
const app = await buildApp(
  { ...rt.config, log: { level: 'warn' }, auth: { ...rt.config.auth, mfaRequiredRoles: [] } },
  { db },
);
await app.ready();

async function finish(code: number) {
  await app.close();
  await db.$disconnect();
  await rt.database.release();
  process.exit(code);
}

// A database that holds only admins (e.g. right after `cli create-admin`) is fine: the demo brings its own.
const [others, caseCount, teamCount] = await Promise.all([
  db.user.count({ where: { role: { not: 'ADMIN' } } }),
  db.case.count(),
  db.team.count(),
]);
if (others + caseCount + teamCount > 0 || (await db.user.count({ where: { email: 'admin@demo.example' } })) > 0) {
  console.error(
    'seed:demo only fills a database without teams, cases or non-admin users (admins are fine); nothing was ' +
      'changed. To start over: stop the server and run npm run db:reset (it empties the development database: ' +
      'every case in it is lost), then npm start, create an admin and seed again; or point DATABASE_URL at a new database.',
  );
  await finish(1);
}

const password = () => `pw-${randomBytes(12).toString('base64url')}`;
const credentials: { email: string; role: string; password: string }[] = [];

async function call<T = Record<string, unknown>>(
  token: string,
  method: 'POST' | 'PUT' | 'GET',
  url: string,
  payload?: unknown,
): Promise<T> {
  const res = await app.inject({
    method,
    url,
    payload: payload as object,
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${url} -> ${res.statusCode} ${res.body}`);
  return (res.body ? res.json() : {}) as T;
}

async function signIn(email: string, pw: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: pw } });
  if (res.statusCode !== 200) throw new Error(`login ${email}: ${res.statusCode}`);
  return res.json().accessToken as string;
}

// Admin through the service (there is nobody yet to call the API as).
const adminPw = password();
await new UsersService(app).create(
  { email: 'admin@demo.example', displayName: 'Demo Admin', role: 'ADMIN', password: adminPw },
  null,
  'seed-demo',
);
credentials.push({ email: 'admin@demo.example', role: 'ADMIN', password: adminPw });
const admin = await signIn('admin@demo.example', adminPw);

async function user(email: string, displayName: string, role: string) {
  const pw = password();
  const u = await call<{ id: string }>(admin, 'POST', '/v1/users', { email, displayName, role, password: pw });
  credentials.push({ email, role, password: pw });
  return { id: u.id, email, pw };
}

const teams = {
  caucasus: await call<{ id: string }>(admin, 'POST', '/v1/teams', {
    name: 'South Caucasus',
    countries: ['AM', 'GE', 'AZ'],
  }),
  centralAsia: await call<{ id: string }>(admin, 'POST', '/v1/teams', {
    name: 'Central Asia',
    countries: ['KZ', 'KG', 'UZ', 'TJ'],
  }),
  balkans: await call<{ id: string }>(admin, 'POST', '/v1/teams', {
    name: 'Western Balkans and Turkey',
    countries: ['RS', 'ME', 'TR'],
  }),
};

const cw = {
  caucasus: await user('nino.caseworker@demo.example', 'Nino (caseworker, South Caucasus)', 'CASEWORKER'),
  centralAsia: await user('aigerim.caseworker@demo.example', 'Aigerim (caseworker, Central Asia)', 'CASEWORKER'),
  balkans: await user('milica.caseworker@demo.example', 'Milica (caseworker, Balkans/Turkey)', 'CASEWORKER'),
};
const coordinator = await user('coordinator@demo.example', 'Olga (coordinator)', 'COORDINATOR');
const lawyers = {
  kz: await user('lawyer.almaty@demo.example', 'Daniyar (lawyer, Almaty)', 'LAWYER'),
  am: await user('lawyer.yerevan@demo.example', 'Armen (lawyer, Yerevan)', 'LAWYER'),
  rs: await user('lawyer.belgrade@demo.example', 'Jelena (lawyer, Belgrade)', 'LAWYER'),
};
for (const [team, member] of [
  [teams.caucasus, cw.caucasus],
  [teams.centralAsia, cw.centralAsia],
  [teams.balkans, cw.balkans],
  [teams.caucasus, coordinator],
] as const) {
  await call(admin, 'POST', `/v1/teams/${team.id}/members`, { userId: member.id });
}
await call(admin, 'PUT', `/v1/users/${lawyers.kz.id}/lawyer-profile`, {
  jurisdictions: ['KZ', 'KG'],
  languages: ['ru', 'kk', 'en'],
  organisation: 'Demo Legal Aid Almaty',
  phone: '+7 700 000 0001',
});
await call(admin, 'PUT', `/v1/users/${lawyers.am.id}/lawyer-profile`, {
  jurisdictions: ['AM', 'GE'],
  languages: ['hy', 'ru', 'en'],
  organisation: 'Demo Rights Clinic Yerevan',
  phone: '+374 00 000002',
});
await call(admin, 'PUT', `/v1/users/${lawyers.rs.id}/lawyer-profile`, {
  jurisdictions: ['RS', 'ME'],
  languages: ['sr', 'ru', 'en'],
  organisation: 'Demo Law Office Belgrade',
  phone: '+381 00 0000003',
});

type Scenario = {
  team: keyof typeof teams;
  host: string;
  city: string;
  citizenship: string;
  tags: string[];
  risk: 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
  summary: string;
  charge?: { code: string; article: string; category: string; mechanism: string; status: string };
  events: { type: string; daysAgo: number; termDays?: number; authority?: string; outcome?: string }[];
  lawyer?: keyof typeof lawyers;
};

const scenarios: Scenario[] = [
  {
    team: 'centralAsia',
    host: 'KZ',
    city: 'Astana',
    citizenship: 'RU',
    tags: ['DESERTER'],
    risk: 'CRITICAL',
    summary: 'Detained at the airport on a CIS interstate search; extradition requested.',
    charge: {
      code: 'RU-CC',
      article: '338',
      category: 'DESERTION',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
    },
    events: [
      { type: 'DETENTION', daysAgo: 2, termDays: 40, authority: 'Astana city court' },
      { type: 'EXTRADITION_REQUEST', daysAgo: 1 },
    ],
    lawyer: 'kz',
  },
  {
    team: 'centralAsia',
    host: 'KZ',
    city: 'Almaty',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'HIGH',
    summary: 'Regional activist charged with "discrediting the army"; detention extended pending extradition.',
    charge: {
      code: 'RU-CC',
      article: '280.3',
      category: 'DISCREDITING_ARMY',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
    },
    events: [
      { type: 'DETENTION', daysAgo: 60, termDays: 40 },
      { type: 'DETENTION_EXTENSION', daysAgo: 20, termDays: 60 },
      { type: 'ASYLUM_APPLICATION', daysAgo: 50 },
    ],
    lawyer: 'kz',
  },
  {
    team: 'centralAsia',
    host: 'KG',
    city: 'Bishkek',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'CRITICAL',
    summary: 'Left-wing activist held on an "extremist community" charge; detention repeatedly extended.',
    charge: {
      code: 'RU-CC',
      article: '282.1',
      category: 'EXTREMISM',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
    },
    events: [
      { type: 'DETENTION', daysAgo: 120, termDays: 60 },
      { type: 'DETENTION_EXTENSION', daysAgo: 60, termDays: 90 },
    ],
  },
  {
    team: 'centralAsia',
    host: 'KG',
    city: 'Bishkek',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'CRITICAL',
    summary: 'Abducted on the street and handed over without any court procedure.',
    events: [
      { type: 'ABDUCTION', daysAgo: 300 },
      { type: 'FORCED_RETURN', daysAgo: 299 },
    ],
  },
  {
    team: 'centralAsia',
    host: 'KZ',
    city: 'Oral',
    citizenship: 'RU',
    tags: ['DESERTER'],
    risk: 'CRITICAL',
    summary: 'Deserter seized with the involvement of local police and returned.',
    charge: { code: 'RU-CC', article: '337', category: 'DESERTION', mechanism: 'DOMESTIC', status: 'WANTED' },
    events: [
      { type: 'ABDUCTION', daysAgo: 400 },
      { type: 'FORCED_RETURN', daysAgo: 398 },
    ],
  },
  {
    team: 'centralAsia',
    host: 'UZ',
    city: 'Tashkent',
    citizenship: 'RU',
    tags: ['MOBILISATION_REFUSER'],
    risk: 'MEDIUM',
    summary: 'Mobilisation refuser; residence registration refused.',
    charge: {
      code: 'RU-CC',
      article: '328',
      category: 'MOBILISATION_EVASION',
      mechanism: 'DOMESTIC',
      status: 'INVESTIGATION',
    },
    events: [{ type: 'RESIDENCE_PERMIT_REFUSED', daysAgo: 30 }],
  },
  {
    team: 'centralAsia',
    host: 'KZ',
    city: 'Almaty',
    citizenship: 'BY',
    tags: ['JOURNALIST'],
    risk: 'HIGH',
    summary: 'Belarusian journalist on a CIS search list; travel ban imposed.',
    charge: {
      code: 'BY-CC',
      article: '361-1',
      category: 'EXTREMISM',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
    },
    events: [
      { type: 'DETENTION', daysAgo: 90, termDays: 3 },
      { type: 'RELEASE', daysAgo: 88 },
      { type: 'TRAVEL_BAN', daysAgo: 88 },
    ],
  },
  {
    team: 'caucasus',
    host: 'AM',
    city: 'Yerevan',
    citizenship: 'RU',
    tags: ['ACTIVIST', 'ARTIST'],
    risk: 'MEDIUM',
    summary:
      'Detained at Yerevan airport over anti-war graffiti; released within hours with a travel ban ("legal limbo").',
    charge: {
      code: 'RU-CC',
      article: '214',
      category: 'VANDALISM',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
    },
    events: [
      { type: 'DETENTION', daysAgo: 200, termDays: 1 },
      { type: 'RELEASE', daysAgo: 200 },
      { type: 'TRAVEL_BAN', daysAgo: 199 },
    ],
    lawyer: 'am',
  },
  {
    team: 'caucasus',
    host: 'AM',
    city: 'Yerevan',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'HIGH',
    summary: 'Charged with "fakes"; released under a pledge not to leave; humanitarian visa pending.',
    charge: {
      code: 'RU-CC',
      article: '207.3',
      category: 'FAKES',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
    },
    events: [
      { type: 'DETENTION', daysAgo: 45, termDays: 30 },
      { type: 'RELEASE', daysAgo: 40 },
      { type: 'TRAVEL_BAN', daysAgo: 40 },
      { type: 'HUMANITARIAN_VISA', daysAgo: 5 },
    ],
    lawyer: 'am',
  },
  {
    team: 'caucasus',
    host: 'AM',
    city: 'Gyumri',
    citizenship: 'RU',
    tags: ['DESERTER'],
    risk: 'CRITICAL',
    summary: 'Deserter abducted; reappeared in Russia.',
    charge: { code: 'RU-CC', article: '338', category: 'DESERTION', mechanism: 'DOMESTIC', status: 'WANTED' },
    events: [
      { type: 'ABDUCTION', daysAgo: 500 },
      { type: 'FORCED_RETURN', daysAgo: 497 },
    ],
  },
  {
    team: 'caucasus',
    host: 'AM',
    city: 'Yerevan',
    citizenship: 'RU',
    tags: ['MOBILISATION_REFUSER'],
    risk: 'HIGH',
    summary:
      'Detained on an interstate search for evading mobilisation; release due if no request arrives within a month.',
    charge: {
      code: 'RU-CC',
      article: '328',
      category: 'MOBILISATION_EVASION',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
    },
    events: [{ type: 'DETENTION', daysAgo: 3, termDays: 30 }],
    lawyer: 'am',
  },
  {
    team: 'caucasus',
    host: 'GE',
    city: 'Tbilisi',
    citizenship: 'RU',
    tags: ['JOURNALIST'],
    risk: 'MEDIUM',
    summary: 'Journalist refused entry at the border without a written decision ("silent refusal").',
    events: [{ type: 'ENTRY_REFUSAL', daysAgo: 70, authority: 'Border police', outcome: 'no written decision' }],
  },
  {
    team: 'caucasus',
    host: 'GE',
    city: 'Tbilisi',
    citizenship: 'RU',
    tags: ['POLITICIAN'],
    risk: 'MEDIUM',
    summary: 'Opposition politician denied re-entry after a short trip.',
    events: [{ type: 'ENTRY_REFUSAL', daysAgo: 150 }],
  },
  {
    team: 'caucasus',
    host: 'GE',
    city: 'Batumi',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'LOW',
    summary: 'Community-centre volunteer refused entry; lives in Armenia now.',
    events: [
      { type: 'ENTRY_REFUSAL', daysAgo: 240 },
      { type: 'LEFT_TO_SAFE_COUNTRY', daysAgo: 200 },
    ],
  },
  {
    team: 'caucasus',
    host: 'GE',
    city: 'Tbilisi',
    citizenship: 'BY',
    tags: ['HUMAN_RIGHTS_DEFENDER'],
    risk: 'MEDIUM',
    summary: 'Belarusian human-rights defender: residence permit refused; court appeal within a month.',
    events: [{ type: 'RESIDENCE_PERMIT_REFUSED', daysAgo: 8 }],
  },
  {
    team: 'caucasus',
    host: 'GE',
    city: 'Tbilisi',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'HIGH',
    summary: 'Protest participant expelled without a court ruling.',
    events: [{ type: 'DEPORTATION_ORDER', daysAgo: 4 }],
  },
  {
    team: 'caucasus',
    host: 'GE',
    city: 'Tbilisi',
    citizenship: 'RU',
    tags: ['LAWYER', 'HUMAN_RIGHTS_DEFENDER'],
    risk: 'MEDIUM',
    summary: 'Lawyer of a defence team: residence permit renewal refused.',
    events: [
      { type: 'RESIDENCE_PERMIT_REFUSED', daysAgo: 35 },
      { type: 'APPEAL_FILED', daysAgo: 20 },
    ],
  },
  {
    team: 'caucasus',
    host: 'AZ',
    city: 'Baku',
    citizenship: 'RU',
    tags: ['JOURNALIST'],
    risk: 'HIGH',
    summary: 'Journalist detained on an interstate search while in transit.',
    charge: {
      code: 'RU-CC',
      article: '205.2',
      category: 'TERRORISM',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
    },
    events: [{ type: 'DETENTION', daysAgo: 10, termDays: 30 }],
  },
  {
    team: 'balkans',
    host: 'RS',
    city: 'Belgrade',
    citizenship: 'RU',
    tags: ['POLITICIAN'],
    risk: 'MEDIUM',
    summary: 'Municipal deputy: residence permit cancelled on "national security" grounds.',
    events: [
      { type: 'RESIDENCE_PERMIT_CANCELLED', daysAgo: 100 },
      { type: 'LEFT_TO_SAFE_COUNTRY', daysAgo: 80 },
    ],
  },
  {
    team: 'balkans',
    host: 'RS',
    city: 'Belgrade',
    citizenship: 'RU',
    tags: ['ARTIST'],
    risk: 'MEDIUM',
    summary: 'Cultural organiser: residence permit cancelled and a one-year entry ban.',
    events: [
      { type: 'RESIDENCE_PERMIT_CANCELLED', daysAgo: 160 },
      { type: 'ENTRY_REFUSAL', daysAgo: 120 },
    ],
  },
  {
    team: 'balkans',
    host: 'RS',
    city: 'Novi Sad',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'MEDIUM',
    summary: 'Activist told his residence permit is cancelled; appeal prepared.',
    events: [{ type: 'RESIDENCE_PERMIT_CANCELLED', daysAgo: 6 }],
    lawyer: 'rs',
  },
  {
    team: 'balkans',
    host: 'RS',
    city: 'Belgrade',
    citizenship: 'BY',
    tags: ['ARTIST'],
    risk: 'HIGH',
    summary: 'Belarusian filmmaker detained on an Interpol red notice; house arrest; extradition refused.',
    charge: { code: 'BY-CC', article: '342', category: 'OTHER', mechanism: 'INTERPOL_RED_NOTICE', status: 'WANTED' },
    events: [
      { type: 'DETENTION', daysAgo: 400, termDays: 30 },
      { type: 'EXTRADITION_HEARING', daysAgo: 350 },
      { type: 'EXTRADITION_DECISION', daysAgo: 300, outcome: 'extradition refused' },
      { type: 'INTERPOL_CCF_REQUEST', daysAgo: 380 },
    ],
    lawyer: 'rs',
  },
  {
    team: 'balkans',
    host: 'RS',
    city: 'Belgrade',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'MEDIUM',
    summary: 'Activist attacked while painting over a Wagner symbol; no investigation.',
    events: [
      { type: 'ATTACK', daysAgo: 220 },
      { type: 'THREAT', daysAgo: 230 },
    ],
  },
  {
    team: 'balkans',
    host: 'ME',
    city: 'Podgorica',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'HIGH',
    summary: 'Detained in Podgorica on a red notice; released by the court; asylum sought elsewhere.',
    charge: { code: 'RU-CC', article: '207.3', category: 'FAKES', mechanism: 'INTERPOL_RED_NOTICE', status: 'WANTED' },
    events: [
      { type: 'DETENTION', daysAgo: 25, termDays: 20 },
      { type: 'RELEASE', daysAgo: 21 },
      { type: 'INTERPOL_CCF_REQUEST', daysAgo: 15 },
    ],
    lawyer: 'rs',
  },
  {
    team: 'balkans',
    host: 'ME',
    city: 'Podgorica',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'MEDIUM',
    summary: 'Petition organiser attacked after campaigning against the Z symbol.',
    events: [{ type: 'ATTACK', daysAgo: 330 }],
  },
  {
    team: 'balkans',
    host: 'TR',
    city: 'Istanbul',
    citizenship: 'RU',
    tags: ['JOURNALIST'],
    risk: 'HIGH',
    summary: 'Journalist refused entry with a five-year ban.',
    events: [{ type: 'ENTRY_REFUSAL', daysAgo: 260 }],
  },
  {
    team: 'balkans',
    host: 'TR',
    city: 'Antalya',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'CRITICAL',
    summary: 'Detained and ordered deported on information from the Russian Interpol bureau; 7 days to appeal.',
    charge: {
      code: 'RU-CC',
      article: '280.3',
      category: 'DISCREDITING_ARMY',
      mechanism: 'INTERPOL_DIFFUSION',
      status: 'WANTED',
    },
    events: [
      { type: 'DETENTION', daysAgo: 2, termDays: 10 },
      { type: 'DEPORTATION_ORDER', daysAgo: 1 },
    ],
  },
  {
    team: 'balkans',
    host: 'TR',
    city: 'Istanbul',
    citizenship: 'RU',
    tags: ['LGBTQ', 'ACTIVIST'],
    risk: 'MEDIUM',
    summary: 'LGBTQ+ activist under surveillance; residence renewal refused.',
    events: [
      { type: 'SURVEILLANCE', daysAgo: 40 },
      { type: 'RESIDENCE_PERMIT_REFUSED', daysAgo: 12 },
    ],
  },
  {
    team: 'balkans',
    host: 'RS',
    city: 'Belgrade',
    citizenship: 'RU',
    tags: ['ACTIVIST'],
    risk: 'LOW',
    summary: 'Denied entry at Belgrade airport; ban lifted after a public campaign.',
    events: [
      { type: 'ENTRY_REFUSAL', daysAgo: 600 },
      { type: 'TRAVEL_BAN_LIFTED', daysAgo: 560 },
    ],
  },
  {
    team: 'centralAsia',
    host: 'TJ',
    city: 'Dushanbe',
    citizenship: 'RU',
    tags: ['MOBILISATION_REFUSER'],
    risk: 'HIGH',
    summary: 'Detained on a CIS search; ECHR not available; UN communication considered.',
    charge: {
      code: 'RU-CC',
      article: '328',
      category: 'MOBILISATION_EVASION',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
    },
    events: [{ type: 'DETENTION', daysAgo: 15, termDays: 30 }],
  },
];

// Invented names only: combinations of common first names and surnames.
const first = [
  'Alexei',
  'Maria',
  'Dmitri',
  'Anna',
  'Pavel',
  'Yulia',
  'Sergei',
  'Olga',
  'Ilya',
  'Ksenia',
  'Artem',
  'Daria',
  'Nikolai',
  'Irina',
  'Roman',
];
const last = [
  'Demidov',
  'Lebedeva',
  'Sorokin',
  'Volkova',
  'Zaitsev',
  'Morozova',
  'Belov',
  'Orlova',
  'Gusev',
  'Kuznetsova',
  'Frolov',
  'Komarova',
];
const pseudoA = ['Heron', 'Lynx', 'Birch', 'Aster', 'Falcon', 'Willow', 'Otter', 'Cedar', 'Swift', 'Juniper'];

const tokens = {
  caucasus: await signIn(cw.caucasus.email, cw.caucasus.pw),
  centralAsia: await signIn(cw.centralAsia.email, cw.centralAsia.pw),
  balkans: await signIn(cw.balkans.email, cw.balkans.pw),
};
// The scenarios again and again, each round further back in time (2022-2026), so that statistics and the
// export have groups of at least k (default 5) to publish. DEMO_ROUNDS=1 gives the 30 scenarios once.
const ROUNDS = Math.max(1, Number(process.env.DEMO_ROUNDS ?? 10));
const rounds = Array.from({ length: ROUNDS }, (_, r) =>
  scenarios.map((s, i) => ({
    ...s,
    // Older rounds: no lawyer on every other case, events shifted back by about five months a round.
    lawyer: r > 0 && i % 2 ? undefined : s.lawyer,
    events: s.events.map((e) => ({ ...e, daysAgo: e.daysAgo + r * 146 + ((i * 13) % 40) * Math.min(r, 1) })),
  })),
).flat();
const now = Date.now();
let created = 0;
for (const [i, s] of rounds.entries()) {
  const token = tokens[s.team];
  const person = await call<{ id: string }>(token, 'POST', '/v1/people', {
    pseudonym: `${pseudoA[i % pseudoA.length]}-${String(i + 1).padStart(3, '0')}`,
    legalName: `${first[i % first.length]} ${last[(i * 7 + Math.floor(i / first.length)) % last.length]} (fictional)`,
    dateOfBirth: `19${70 + (i % 29)}-0${1 + (i % 9)}-1${i % 9}`,
    citizenship: s.citizenship,
    contacts: [{ kind: 'SIGNAL', value: `+000 demo ${1000 + i}` }],
    travelDocumentStatus: i % 4 === 0 ? 'INTERNAL_PASSPORT_ONLY' : 'INTERNATIONAL_VALID',
    tags: s.tags,
  });
  const c = await call<{ id: string }>(token, 'POST', '/v1/cases', {
    personId: person.id,
    teamId: teams[s.team].id,
    hostCountry: s.host,
    summary: s.summary,
    riskLevel: s.risk,
  });
  if (s.charge) {
    await call(token, 'POST', `/v1/cases/${c.id}/charges`, {
      issuingCountry: s.charge.code.startsWith('BY') ? 'BY' : 'RU',
      ...s.charge,
      politicalMotivation: 'LIKELY',
    });
  }
  for (const e of s.events) {
    await call(token, 'POST', `/v1/cases/${c.id}/events`, {
      type: e.type,
      country: s.host,
      city: s.city,
      occurredAt: new Date(now - e.daysAgo * 86_400_000).toISOString(),
      authority: e.authority,
      outcome: e.outcome,
      termDays: e.termDays,
      details: 'Fictional demo record.',
      verification: 'CORROBORATED',
    });
  }
  if (s.lawyer) {
    await call(token, 'POST', `/v1/cases/${c.id}/assignments`, { lawyerId: lawyers[s.lawyer].id, role: 'LEAD' });
  }
  created++;
}

console.log(`Demo organisation created: 3 teams, ${credentials.length} users, ${created} fictional people and cases.`);
console.log('Sign in with POST /v1/auth/login. These passwords are shown once:');
for (const c of credentials) console.log(`  ${c.role.padEnd(11)} ${c.email.padEnd(36)} ${c.password}`);
await finish(0);
