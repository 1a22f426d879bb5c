// Warnings shown beside a deadline, never applied to its date.
//
// Turkey's judicial recess runs from 20 July to 31 August; İYUK (Law No. 2577)
// art. 8(3): terms "set by this Law" whose end falls in it are extended to seven
// days after it ends. Whether that reaches a given term (LFIP sets its own terms;
// its appeals are urgent matters) is not verified, so the date is never moved
// later: a rule-made Turkish appeal window to the administrative courts that
// ends in the recess carries this warning.
// Constitutional Court terms (decision rules with finalOnly) are not flagged.

export type DeadlineWarning = { code: 'TR_JUDICIAL_RECESS'; message: string };

export const TR_RECESS_WARNING =
  'Ends in the Turkish judicial recess (20 July-31 August): İYUK art. 8(3) extends terms set by İYUK itself (e.g. its 60 days) ' +
  'that end in the recess to 7 days after it; terms set by other laws (LFIP: 7 and 15 days) and urgent matters may not be extended. ' +
  'The date shown does not apply any extension; rely on one only after counsel confirms it applies to this term.';

type WarnedDeadline = {
  kind: string;
  dueDate: string | null;
  rule?: { jurisdiction: string; finalOnly: boolean } | null;
};

/** Whether a local date YYYY-MM-DD falls within 20 July-31 August. */
export function inTurkishJudicialRecess(day: string): boolean {
  const md = day.slice(5);
  return md >= '07-20' && md <= '08-31';
}

export function deadlineWarnings(d: WarnedDeadline): DeadlineWarning[] {
  const r = d.rule;
  const trAdministrative = r?.jurisdiction === 'TR' && !r.finalOnly && d.kind === 'APPEAL_WINDOW';
  if (trAdministrative && d.dueDate && inTurkishJudicialRecess(d.dueDate)) {
    return [{ code: 'TR_JUDICIAL_RECESS', message: TR_RECESS_WARNING }];
  }
  return [];
}
