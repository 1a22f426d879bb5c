// Shipped rules about remedies: appeals against expulsion and refusals,
// constitutional complaints, the European Court (Art. 35(1), Rule 39), the UN
// treaty bodies' interim measures and Interpol's CCF (decisions and revision).
import type { DefaultRule } from './default-rules.ts';

const ECHR_STATES = ['AM', 'AZ', 'GE', 'ME', 'RS', 'TR'];
const ECHR_CONVENTION = 'https://www.coe.int/en/web/conventions/full-list?module=treaty-detail&treatynum=005';

export const REMEDY_RULES: DefaultRule[] = [
  // ---- Kazakhstan ----
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

  // ---- Turkey ----
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
  {
    key: 'tr-asylum-accelerated-15d',
    jurisdiction: 'TR',
    hostCountries: ['TR'],
    triggerEventType: 'ASYLUM_DECISION',
    kind: 'APPEAL_WINDOW',
    title:
      'If the application was refused in the accelerated procedure: last day to appeal to the administrative court (15 days from notification)',
    offsetValue: 15,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'FORWARD',
    citation: 'LFIP Art. 80(1)(e): 15 days for decisions taken in the accelerated procedure',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },
  {
    key: 'tr-constitutional-court-30d',
    jurisdiction: 'TR',
    hostCountries: ['TR'],
    triggerEventType: 'APPEAL_DECISION',
    kind: 'APPEAL_WINDOW',
    title:
      'Last day for an individual application to the Constitutional Court (30 days; usually needed before the ECHR)',
    offsetValue: 30,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'FORWARD',
    citation:
      'Law No. 6216 Art. 47(5): 30 days from exhaustion of remedies (service of the final decision) or from learning of the violation',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
    finalOnly: true,
  },

  // ---- Serbia and Montenegro: constitutional appeals ----
  {
    key: 'rs-constitutional-appeal-30d',
    jurisdiction: 'RS',
    hostCountries: ['RS'],
    triggerEventType: 'APPEAL_DECISION',
    kind: 'APPEAL_WINDOW',
    title: 'Last day for a constitutional appeal (30 days from delivery of the final decision)',
    offsetValue: 30,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'FORWARD',
    citation: 'Law on the Constitutional Court of Serbia Art. 84(1): 30 days from delivery of the individual act',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
    finalOnly: true,
  },
  {
    key: 'me-constitutional-appeal',
    jurisdiction: 'ME',
    hostCountries: ['ME'],
    triggerEventType: 'APPEAL_DECISION',
    kind: 'APPEAL_WINDOW',
    title:
      'Constitutional appeal: UNVERIFIED term, the earliest plausible date is shown (30 days from delivery); confirm the term with counsel',
    offsetValue: 30,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'NONE',
    citation:
      'Law on the Constitutional Court of Montenegro (constitutional appeal against individual acts): term not verified; 30 days shown as the earliest reading',
    confidence: 'LOW',
    verifyWithCounsel: true,
    finalOnly: true,
  },

  // ---- European Court of Human Rights ----
  ...(['APPEAL_DECISION', 'EXTRADITION_DECISION', 'ASYLUM_DECISION'] as const).map((t): DefaultRule => ({
    key: t === 'APPEAL_DECISION' ? 'echr-application-4m' : `echr-application-4m-${t.toLowerCase().replace(/_/g, '-')}`,
    jurisdiction: 'ECHR',
    hostCountries: ECHR_STATES,
    triggerEventType: t,
    kind: 'ECHR_APPLICATION',
    title: 'Last day to lodge an ECHR application (4 months from the final domestic decision; never extended)',
    offsetValue: 4,
    offsetUnit: 'MONTHS',
    // The Court counts calendar months and does not extend a limit ending on
    // a weekend or holiday (Sabri Güneş v. Turkey [GC], no. 27396/06, 2012).
    rollPolicy: 'NONE',
    citation:
      'ECHR Art. 35(1) as amended by Protocol No. 15: four months from service or knowledge of the final decision; no roll (Sabri Güneş v. Turkey [GC]). Only decisions marked isFinal; counted from servedOn when given',
    confidence: 'HIGH',
    verifyWithCounsel: true,
    finalOnly: true,
    sourceUrl: ECHR_CONVENTION,
  })),
  {
    key: 'echr-rule39-before-removal',
    jurisdiction: 'ECHR',
    hostCountries: ECHR_STATES,
    triggerEventType: 'DEPORTATION_EXECUTED',
    kind: 'RULE39_REQUEST',
    title:
      'File the Rule 39 request by 16:00 Strasbourg time, a whole working day of the Court before the scheduled removal',
    offsetValue: -1,
    offsetUnit: 'WORKING_DAYS',
    rollPolicy: 'BACKWARD',
    timeZone: 'Europe/Paris',
    cutoffTime: '16:00',
    citation:
      'Rules of Court, Rule 39; Practice Direction on interim measures: requests received less than a working day before removal may not be dealt with; Registry Mon-Fri 08:00-16:00 Strasbourg. Removal before 16:00 (or on a closing day): due 16:00 two working days before. Record the removal as a future-dated DEPORTATION_EXECUTED event with its time',
    holidayNote:
      "The Court's calendar: Strasbourg's public holidays (France's plus Good Friday and 26 December), 24-31 December, and the Court's published closing days entered as data (/v1/holiday-calendars/ECHR/days)",
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },

  // ---- UN treaty bodies (KZ and KG are not ECHR states) ----
  ...(['DEPORTATION_ORDER', 'EXTRADITION_DECISION'] as const).map((t): DefaultRule => ({
    key: `un-interim-measures-${t.toLowerCase().replace(/_/g, '-')}`,
    jurisdiction: 'UN',
    hostCountries: ['KZ', 'KG'],
    triggerEventType: t,
    kind: 'UN_INTERIM_MEASURES',
    title:
      'Ask the UN Human Rights Committee or the Committee against Torture for interim measures before removal (working target: 2 days)',
    offsetValue: 2,
    offsetUnit: 'CALENDAR_DAYS',
    rollPolicy: 'NONE',
    citation:
      'Human Rights Committee Rules of Procedure rule 94; Committee against Torture Rules of Procedure rule 114: no time limit, act before removal; 2 days is a working target',
    confidence: 'LOW',
    verifyWithCounsel: true,
  })),

  // ---- Interpol: Commission for the Control of INTERPOL's Files (CCF) ----
  {
    key: 'interpol-ccf-access-4m',
    jurisdiction: 'INTERPOL',
    hostCountries: [],
    triggerEventType: 'CCF_ADMISSIBILITY',
    kind: 'FOLLOW_UP',
    title: "Expected CCF decision on the access request (the Commission's target: 4 months from admissibility)",
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
    triggerEventType: 'CCF_ADMISSIBILITY',
    kind: 'FOLLOW_UP',
    title:
      "Expected CCF decision on the correction/deletion request (the Commission's target: 9 months from admissibility)",
    offsetValue: 9,
    offsetUnit: 'MONTHS',
    rollPolicy: 'NONE',
    citation:
      'Statute of the CCF Art. 40(2): decision on correction/deletion requests within nine months of admissibility',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },
  {
    key: 'interpol-ccf-revision-6m',
    jurisdiction: 'INTERPOL',
    hostCountries: [],
    triggerEventType: 'NEW_FACT_DISCOVERED',
    kind: 'CCF_REQUEST',
    title:
      'If the CCF has decided on a request: last day to ask it to revise the decision on this new fact (6 months from discovery)',
    offsetValue: 6,
    offsetUnit: 'MONTHS',
    // No roll: the Statute provides none, and an unrolled date is never later than the true one.
    rollPolicy: 'NONE',
    citation:
      'Statute of the CCF Art. 42(2): a request for revision must be made within six months of the discovery of a fact that might have led to a different decision (Art. 42(1)); date the NEW_FACT_DISCOVERED event by the day of discovery',
    confidence: 'MEDIUM',
    verifyWithCounsel: true,
  },
];
