import { z } from 'zod';
import { CountryCode, PageQuery, Timestamp, Uuid } from '../../lib/http-schemas.ts';
import { PASSWORD_MIN_LENGTH } from '../../lib/passwords.ts';

export const RoleEnum = z.enum(['ADMIN', 'COORDINATOR', 'CASEWORKER', 'LAWYER']);

export const UserSchema = z.object({
  id: Uuid,
  email: z.string(),
  displayName: z.string(),
  role: RoleEnum,
  active: z.boolean(),
  teamIds: z.array(Uuid),
  lockedUntil: Timestamp.nullable(),
  createdAt: Timestamp,
});
export type UserDto = z.infer<typeof UserSchema>;

export const Password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(200);

export const CreateUserBody = z.strictObject({
  email: z.email().max(254),
  displayName: z.string().trim().min(1).max(120),
  role: RoleEnum,
  password: Password,
});

export const UpdateUserBody = z
  .strictObject({
    displayName: z.string().trim().min(1).max(120).optional(),
    role: RoleEnum.optional(),
    active: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'at least one field is required');

export const ListUsersQuery = z.strictObject({
  ...PageQuery,
  role: RoleEnum.optional(),
  active: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});

export const LawyerProfileBody = z.strictObject({
  jurisdictions: z.array(CountryCode).max(50),
  languages: z.array(z.string().regex(/^[a-z]{2,3}$/, 'must be an ISO 639 language code, e.g. ru')).max(30),
  organisation: z.string().trim().max(200).nullable().optional(),
  phone: z.string().trim().max(40).nullable().optional(),
});

export const LawyerProfileSchema = z.object({
  userId: Uuid,
  jurisdictions: z.array(z.string()),
  languages: z.array(z.string()),
  organisation: z.string().nullable(),
  phone: z.string().nullable(),
  updatedAt: Timestamp,
});
