// The default deadline rules shipped with the service. They are DATA: on start
// each rule is inserted once by its key (admins' later edits are never
// overwritten) and admins change them through /v1/deadline-rules.
//
// Every figure is a reading of the law by non-lawyers and ships with a
// citation, a confidence and, unless the term is set by the court itself,
// the "verify with counsel" flag. Where a figure is uncertain, confidence is
// LOW. Holiday calendars come from date-holidays; it has none for KG and TJ,
// so there only weekends are skipped (said in holidayNote).

import type { DeadlineKind, EventType } from '../../generated/prisma/enums.ts';

export type DefaultRule = {
  key: string;
  jurisdiction: string;
  hostCountries: string[];
  triggerEventType: EventType;
  kind: DeadlineKind;
  title: string;
  offsetValue: number;
  offsetUnit: 'HOURS' | 'CALENDAR_DAYS' | 'WORKING_DAYS' | 'MONTHS';
  anchor?: 'EVENT' | 'TERM_END';
  rollPolicy: 'FORWARD' | 'BACKWARD' | 'NONE';
  timeZone?: string;
  cutoffTime?: string;
  citation: string;
  confidence: 'HIGH' | 'MEDIUM' | 'LOW';
  verifyWithCounsel: boolean;
  holidayNote?: string;
};

const ECHR_STATES = ['AM', 'AZ', 'GE', 'ME', 'RS', 'TR'];
const CIS_HOSTS = ['AM', 'AZ', 'KZ', 'KG', 'TJ', 'UZ'];
const NO_HOLIDAYS = 'date-holidays has no calendar for KG or TJ: only weekends are skipped there';

// `as const` on the trigger lists below (not casts) keeps each element a literal EventType.
export const DEFAULT_RULES: DefaultRule[] = [
  // ---- any host country: terms the court itself set ----
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
    verifyWithCounsel: false,
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
    verifyWithCounsel: false,
  })),

  // ---- Kazakhstan: Criminal Procedure Code, chapter on extradition (Arts. 587-592) ----
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
    title: '40-day temporary custody ends in 10 days: challenge the extension',
    offsetValue: 30,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'BACKWARD',
    citation: 'KZ CPC Art. 589: temporary (extradition) custody of up to 40 days pending the request',
    confidence: 'LOW',
    verifyWithCounsel: true,
  },
  {
    key: 'kz-extradition-decision-appeal-10d',
    jurisdiction: 'KZ',
    hostCountries: ['KZ'],
    triggerEventType: 'EXTRADITION_DECISION',
    kind: 'APPEAL_WINDOW',
    title: 'Last day to appeal the extradition decision (10 days from receipt)',
    offsetValue: 10,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'FORWARD',
    citation:
      'KZ CPC Art. 592: appeal against the extradition decision within 10 days of receiving it (date the event by receipt)',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },

  // ---- CIS conventions: Minsk 1993 / Chisinau 2002 ----
  {
    key: 'cis-surrender-takeover-15d',
    jurisdiction: 'CIS',
    hostCountries: CIS_HOSTS,
    triggerEventType: 'EXTRADITION_DECISION',
    kind: 'RELEASE_DUE',
    title:
      'Release due if the requesting state has not taken the person over within 15 days of the surrender date (at most 15 more on request)',
    offsetValue: 15,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'NONE',
    citation:
      'Minsk Convention 1993 (extradition chapter) and Chisinau Convention 2002: release if not taken over within 15 days of the agreed surrender date; date the event by the surrender date',
    confidence: 'LOW',
    verifyWithCounsel: true,
    holidayNote: NO_HOLIDAYS,
  },

  // ---- Armenia ----
  {
    key: 'am-no-request-release-1m',
    jurisdiction: 'AM',
    hostCountries: ['AM'],
    triggerEventType: 'DETENTION',
    kind: 'RELEASE_DUE',
    title: 'Release due if no extradition request has arrived within 1 month of detention',
    offsetValue: 1,
    offsetUnit: 'MONTHS',
    rollPolicy: 'NONE',
    citation:
      'Minsk Convention 1993 as applied by Armenia: a person detained before a request is received is released if it does not arrive within one month',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },

  // ---- Georgia ----
  {
    key: 'ge-expulsion-appeal-10d',
    jurisdiction: 'GE',
    hostCountries: ['GE'],
    triggerEventType: 'DEPORTATION_ORDER',
    kind: 'APPEAL_WINDOW',
    title: 'Last day to appeal the expulsion decision to court (10 days)',
    offsetValue: 10,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'FORWARD',
    citation:
      'Law of Georgia on the Legal Status of Aliens and Stateless Persons: expulsion decisions may be appealed to court within 10 days',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },
  {
    key: 'ge-residence-refusal-1m',
    jurisdiction: 'GE',
    hostCountries: ['GE'],
    triggerEventType: 'RESIDENCE_PERMIT_REFUSED',
    kind: 'APPEAL_WINDOW',
    title: 'Last day to challenge the residence-permit refusal in court (1 month)',
    offsetValue: 1,
    offsetUnit: 'MONTHS',
    rollPolicy: 'FORWARD',
    citation: 'Administrative Procedure Code of Georgia: one month to bring an administrative act before the court',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },

  // ---- Turkey: Law No. 6458 on Foreigners and International Protection (LFIP) ----
  {
    key: 'tr-deportation-appeal-7d',
    jurisdiction: 'TR',
    hostCountries: ['TR'],
    triggerEventType: 'DEPORTATION_ORDER',
    kind: 'APPEAL_WINDOW',
    title: 'Last day to appeal the deportation order to the administrative court (7 days from notification)',
    offsetValue: 7,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'FORWARD',
    citation:
      'LFIP Art. 53(3): appeal to the administrative court within 7 days of notification of the deportation decision',
    confidence: 'HIGH',
    verifyWithCounsel: true,
  },
  ...(['RESIDENCE_PERMIT_CANCELLED', 'RESIDENCE_PERMIT_REFUSED', 'ENTRY_REFUSAL'] as const).map((t): DefaultRule => ({
    key: `tr-${t.toLowerCase().replace(/_/g, '-')}-60d`,
    jurisdiction: 'TR',
    hostCountries: ['TR'],
    triggerEventType: t,
    kind: 'APPEAL_WINDOW',
    title: 'Last day to bring the administrative act before the administrative court (60 days)',
    offsetValue: 60,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'FORWARD',
    citation: 'Administrative Procedure Law No. 2577 Art. 7: 60 days from notification for administrative acts',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  })),

  // ---- European Court of Human Rights (AM, AZ, GE, ME, RS, TR) ----
  {
    key: 'echr-application-4m',
    jurisdiction: 'ECHR',
    hostCountries: ECHR_STATES,
    triggerEventType: 'APPEAL_DECISION',
    kind: 'ECHR_APPLICATION',
    title: 'Last day to lodge an ECHR application (4 months from the final domestic decision; never extended)',
    offsetValue: 4,
    offsetUnit: 'MONTHS',
    // The Court counts calendar months and does not extend a limit ending on
    // a weekend or holiday: the rule must not roll.
    rollPolicy: 'NONE',
    citation:
      'ECHR Art. 35(1) as amended by Protocol No. 15: four months from the final decision; date the event by the final decision',
    confidence: 'HIGH',
    verifyWithCounsel: true,
  },
  {
    key: 'echr-rule39-before-removal',
    jurisdiction: 'ECHR',
    hostCountries: ECHR_STATES,
    triggerEventType: 'DEPORTATION_EXECUTED',
    kind: 'RULE39_REQUEST',
    title:
      'File the Rule 39 interim-measures request by 16:00 Strasbourg time one working day before the scheduled removal',
    offsetValue: -1,
    offsetUnit: 'WORKING_DAYS',
    rollPolicy: 'BACKWARD',
    timeZone: 'Europe/Paris',
    cutoffTime: '16:00',
    citation:
      'Rules of Court, Rule 39; Practice Direction on interim measures: requests are handled Mon-Fri 08:00-16:00 Strasbourg time. Record the scheduled removal as a future-dated DEPORTATION_EXECUTED event',
    holidayNote:
      "Working days follow Strasbourg's public holidays: France's plus Good Friday and 26 December (date-holidays FR-67). The Court's own closing days (e.g. 24 and 31 December) are not in that calendar",
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },

  // ---- Interpol: Commission for the Control of INTERPOL's Files (CCF) ----
  {
    key: 'interpol-ccf-access-4m',
    jurisdiction: 'INTERPOL',
    hostCountries: [],
    triggerEventType: 'INTERPOL_CCF_REQUEST',
    kind: 'CCF_DECISION',
    title: 'CCF decision on the access request due (4 months from admissibility)',
    offsetValue: 4,
    offsetUnit: 'MONTHS',
    rollPolicy: 'NONE',
    citation: 'Statute of the CCF Art. 40(1): decision on access requests within four months of admissibility',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },
  {
    key: 'interpol-ccf-deletion-9m',
    jurisdiction: 'INTERPOL',
    hostCountries: [],
    triggerEventType: 'INTERPOL_CCF_REQUEST',
    kind: 'CCF_DECISION',
    title: 'CCF decision on the deletion request due (9 months from admissibility)',
    offsetValue: 9,
    offsetUnit: 'MONTHS',
    rollPolicy: 'NONE',
    citation:
      'Statute of the CCF Art. 40(2): decision on correction/deletion requests within nine months of admissibility',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },
];

/** Kinds whose deadline only makes sense ahead of time: a past hearing is history, not a missed deadline. */
export const FUTURE_ONLY_KINDS = new Set(['HEARING', 'RULE39_REQUEST']);
