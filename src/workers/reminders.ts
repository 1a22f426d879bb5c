// Moved to ./reminders/ (index.ts). Kept only for test/security-fixes.test.ts, which imports
// ReminderService from here; delete this file once that import reads '../src/workers/reminders/index.ts'.
export { ReminderService } from './reminders/index.ts';
