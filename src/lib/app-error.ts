// One error type for the whole service: services throw AppError(code) and the
// error plugin maps the code to an HTTP status and an RFC 9457 problem.

const CODES = {
  VALIDATION: { status: 400, title: 'Invalid request' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  INVALID_CREDENTIALS: { status: 401, title: 'Invalid credentials' },
  INVALID_TOKEN: { status: 401, title: 'Invalid or expired token' },
  TOKEN_EXPIRED: { status: 401, title: 'Access token expired' },
  REAUTHENTICATION_REQUIRED: { status: 401, title: 'Recent authentication required' },
  MFA_ENROLMENT_REQUIRED: { status: 403, title: 'Second factor enrolment required' },
  PASSWORD_CHANGE_REQUIRED: { status: 403, title: 'Password change required' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  CONFLICT: { status: 409, title: 'Conflict' },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  RANGE_NOT_SATISFIABLE: { status: 416, title: 'Range not satisfiable' },
  IDEMPOTENCY_MISMATCH: { status: 422, title: 'Idempotency-Key reused with a different request' },
  UNPROCESSABLE: { status: 422, title: 'Unprocessable request' },
  PRECONDITION_REQUIRED: { status: 428, title: 'Precondition required' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  UNAVAILABLE: { status: 503, title: 'Service unavailable' },
} as const;

export type AppErrorCode = keyof typeof CODES;
export type FieldError = { path: string; message: string };

export class AppError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(
    readonly code: AppErrorCode,
    readonly detail?: string,
    readonly extra: { errors?: FieldError[]; retryAfterSeconds?: number; wwwAuthenticate?: string } = {},
  ) {
    super(detail ?? CODES[code].title);
    this.status = CODES[code].status;
    this.title = CODES[code].title;
  }
}

export function problemType(code: string): string {
  return `https://errors.exile-case.example/${code.toLowerCase().replace(/_/g, '-')}`;
}

export const fieldError = (path: string, message: string) =>
  new AppError('VALIDATION', `${path}: ${message}`, { errors: [{ path, message }] });
