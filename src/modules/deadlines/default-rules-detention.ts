// Shipped rules about custody: terms the court set, hearings, custody pending
// an extradition request (Kazakhstan's CPC, the European Convention on
// Extradition, the Minsk Convention), surrender, and Turkish removal detention.
import type { DefaultRule } from './default-rules.ts';

const COE_TREATY = (n: string) =>
  `https://www.coe.int/en/web/conventions/full-list?module=treaty-detail&treatynum=${n}`;
/** Parties to the European Convention on Extradition among the host countries. */
const ECE_HOSTS = ['AM', 'AZ', 'GE', 'ME', 'RS', 'TR'];
const NO_HOLIDAYS = 'no holiday calendar for TJ: only weekends are skipped there (KG: shipped data)';

export const DETENTION_RULES: DefaultRule[] = [
  // ---- any host country: terms and dates the court itself set ----
  ...(['DETENTION', 'DETENTION_EXTENSION'] as const).map((t): DefaultRule => ({
    key: `any-${t.toLowerCase().replace(/_/g, '-')}-term-expiry`,
    jurisdiction: '*',
    hostCountries: [],
    triggerEventType: t,
    kind: 'DETENTION_EXPIRY',
    title: 'Detention term set by the court expires (challenge or prepare release before)',
    offsetValue: 0,
    offsetUnit: 'HOURS',
    anchor: 'TERM_END',
    rollPolicy: 'NONE',
    citation: 'The term in the detention order (event termDays)',
    confidence: 'HIGH',
    verifyWithCounsel: true,
  })),
  ...(['EXTRADITION_HEARING', 'COURT_HEARING'] as const).map((t): DefaultRule => ({
    key: `any-${t.toLowerCase().replace(/_/g, '-')}`,
    jurisdiction: '*',
    hostCountries: [],
    triggerEventType: t,
    kind: 'HEARING',
    title: t === 'EXTRADITION_HEARING' ? 'Extradition hearing' : 'Court hearing',
    offsetValue: 0,
    offsetUnit: 'HOURS',
    rollPolicy: 'NONE',
    citation: 'Date set by the court',
    confidence: 'HIGH',
    verifyWithCounsel: true,
  })),

  // ---- Kazakhstan: Criminal Procedure Code, chapter on extradition ----
  {
    key: 'kz-foreign-request-72h-prosecutor',
    jurisdiction: 'KZ',
    hostCountries: ['KZ'],
    triggerEventType: 'DETENTION',
    kind: 'PROSECUTOR_APPLICATION',
    title:
      "Prosecutor's application for extradition arrest due (12 h before the 72-hour detention ends): be at the hearing",
    offsetValue: 60,
    offsetUnit: 'HOURS',
    rollPolicy: 'NONE',
    citation:
      'KZ CPC Arts. 587-588: detention on a foreign request up to 72 hours; the prosecutor applies to court no later than 12 hours before it ends',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },
  {
    key: 'kz-temporary-custody-40d-warning',
    jurisdiction: 'KZ',
    hostCountries: ['KZ'],
    triggerEventType: 'DETENTION',
    kind: 'CUSTODY_WARNING',
    title:
      'Temporary custody ends in 10 days unless an extradition request arrives (then extradition arrest replaces it): check and prepare',
    offsetValue: 30,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'BACKWARD',
    citation:
      'KZ CPC Art. 588(1) and 588(7): a person held before the request arrives is released if no extradition request is received within 40 days',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },
  {
    key: 'kz-temporary-custody-40d-release',
    jurisdiction: 'KZ',
    hostCountries: ['KZ'],
    triggerEventType: 'DETENTION',
    kind: 'RELEASE_DUE',
    title: 'Day 40: release due if no extradition request has been received',
    offsetValue: 40,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'NONE',
    citation: 'KZ CPC Art. 588(7): release when no extradition request arrives within 40 days of detention',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },

  // ---- Surrender (Minsk 1993 / Chisinau 2002) ----
  {
    key: 'cis-surrender-takeover-15d',
    jurisdiction: 'CIS',
    hostCountries: ['AM', 'AZ', 'KZ', 'KG', 'TJ', 'UZ'],
    triggerEventType: 'SURRENDER_SCHEDULED',
    kind: 'RELEASE_DUE',
    title:
      'Release due if the requesting state has not taken the person over within 15 days of the surrender date (at most 15 more on request)',
    offsetValue: 15,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'NONE',
    citation:
      'Minsk Convention 1993 (extradition chapter) and Chisinau Convention 2002: release if not taken over within 15 days of the agreed surrender date; date the SURRENDER_SCHEDULED event by that date',
    confidence: 'LOW',
    verifyWithCounsel: true,
    holidayNote: NO_HOLIDAYS,
  },

  // ---- European Convention on Extradition (ETS 24) ----
  {
    key: 'am-no-request-release-1m',
    jurisdiction: 'AM',
    hostCountries: ['AM'],
    triggerEventType: 'DETENTION',
    kind: 'RELEASE_DUE',
    title: 'Release due if no extradition request (European Convention basis) has arrived within 1 month',
    offsetValue: 1,
    offsetUnit: 'MONTHS',
    rollPolicy: 'NONE',
    citation:
      "European Convention on Extradition Art. 16(4) with Armenia's declaration: provisional arrest ends if the request does not arrive within one month",
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
    treaties: ['ECE_1957'],
    sourceUrl: COE_TREATY('024'),
  },
  {
    key: 'ece-provisional-arrest-18d',
    jurisdiction: 'ECE',
    hostCountries: ECE_HOSTS,
    triggerEventType: 'DETENTION',
    kind: 'CUSTODY_WARNING',
    title: 'Day 18 of provisional arrest: it may end if no extradition request has arrived (ask for release)',
    offsetValue: 18,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'NONE',
    citation:
      'European Convention on Extradition Art. 16(4): provisional arrest may be terminated if the request has not been received within 18 days',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
    treaties: ['ECE_1957'],
    sourceUrl: COE_TREATY('024'),
  },
  {
    key: 'ece-provisional-arrest-40d',
    jurisdiction: 'ECE',
    hostCountries: ECE_HOSTS.filter((c) => c !== 'AM'),
    triggerEventType: 'DETENTION',
    kind: 'RELEASE_DUE',
    title: 'Day 40: provisional arrest must end if no extradition request has arrived',
    offsetValue: 40,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'NONE',
    citation:
      'European Convention on Extradition Art. 16(4): provisional arrest shall not in any event exceed 40 days from arrest without the request (Armenia: one month, see am-no-request-release-1m)',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
    treaties: ['ECE_1957'],
    sourceUrl: COE_TREATY('024'),
  },
  {
    key: 'ece-3ap-consent-notice-10d',
    jurisdiction: 'ECE',
    hostCountries: ECE_HOSTS,
    triggerEventType: 'DETENTION',
    kind: 'FOLLOW_UP',
    title:
      'If the person consented to simplified extradition: the consent must be notified within 10 days of provisional arrest (only where both states are parties to the Third Additional Protocol)',
    offsetValue: 10,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'NONE',
    citation: 'Third Additional Protocol to the European Convention on Extradition (CETS 209) Art. 6: 10 days',
    confidence: 'LOW',
    verifyWithCounsel: true,
    treaties: ['ECE_1957'],
    sourceUrl: COE_TREATY('209'),
  },

  // ---- Minsk Convention 1993 (as amended by the 1997 Protocol) ----
  {
    key: 'minsk-no-request-release-40d',
    jurisdiction: 'CIS',
    // KZ: its CPC's own 40 days (kz-temporary-custody-40d-release) already apply whatever the basis.
    hostCountries: ['AM', 'KG', 'TJ', 'UZ'],
    triggerEventType: 'DETENTION',
    kind: 'RELEASE_DUE',
    title: 'Day 40: release due if no extradition request (Minsk Convention basis) has arrived',
    offsetValue: 40,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'NONE',
    citation:
      'Minsk Convention 1993 Art. 62(1) as amended by the 1997 Protocol: a person detained before the request is released if it does not arrive within 40 days',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
    holidayNote: NO_HOLIDAYS,
    treaties: ['MINSK_1993'],
  },

  // ---- Turkey: removal detention, LFIP Art. 57 ----
  ...[1, 2, 3, 4, 5].map((m): DefaultRule => ({
    key: `tr-removal-detention-review-${m}m`,
    jurisdiction: 'TR',
    hostCountries: ['TR'],
    triggerEventType: 'DETENTION',
    kind: 'FOLLOW_UP',
    title: `If this is removal detention: monthly review no. ${m} by the governorate is due; ask for it and challenge the detention before the criminal judgeship of peace`,
    offsetValue: m,
    offsetUnit: 'MONTHS',
    rollPolicy: 'NONE',
    citation: 'Law No. 6458 (LFIP) Art. 57(4) and 57(6): the need to continue removal detention is reviewed monthly',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  })),
  {
    key: 'tr-removal-detention-6m',
    jurisdiction: 'TR',
    hostCountries: ['TR'],
    triggerEventType: 'DETENTION',
    kind: 'CUSTODY_WARNING',
    title:
      'If this is removal detention: 6 months reached; it may be extended by at most 6 more months only for non-cooperation',
    offsetValue: 6,
    offsetUnit: 'MONTHS',
    rollPolicy: 'NONE',
    citation: 'Law No. 6458 (LFIP) Art. 57(3): removal detention up to 6 months, extendable by at most 6 months',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },
  {
    key: 'tr-removal-detention-12m',
    jurisdiction: 'TR',
    hostCountries: ['TR'],
    triggerEventType: 'DETENTION',
    kind: 'RELEASE_DUE',
    title: 'If this is removal detention: the absolute 12-month maximum is reached, release due',
    offsetValue: 12,
    offsetUnit: 'MONTHS',
    rollPolicy: 'NONE',
    citation: 'Law No. 6458 (LFIP) Art. 57(3): 6 months plus at most 6 more',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },
];
